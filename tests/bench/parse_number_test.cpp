#include "natter/bench/parse_number.hpp"

#include <gtest/gtest.h>

#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <system_error>

namespace natter::bench
{
namespace
{

constexpr std::uint64_t max_u64 = std::numeric_limits<std::uint64_t>::max();

/// What parse_u64 made of a text: the value and what it left.
struct parsed
{
  std::uint64_t value;
  std::string rest;
  bool operator==(const parsed&) const = default;
};

std::ostream& operator<<(std::ostream& os, const parsed& p)
{
  return os << p.value << " rest \"" << p.rest << '"';
}

/// parse_u64 on `text`; nullopt when it fails, after checking that a
/// failure leaves both the text and the output alone.
std::optional<parsed> parse(std::string_view text)
{
  std::string_view s = text;
  std::uint64_t out = 4242;
  if (!parse_u64(s, out))
  {
    EXPECT_EQ(s, text) << "a failed parse must not advance";
    EXPECT_EQ(out, 4242u) << "a failed parse must not store";
    return std::nullopt;
  }
  EXPECT_EQ(s.data(), text.data() + (text.size() - s.size())) << "the rest is a suffix";
  return parsed{out, std::string(s)};
}

/// The reference: std::from_chars, which reads the same leading digits and
/// fails the same way on overflow.
std::optional<parsed> reference(std::string_view text)
{
  std::uint64_t v = 0;
  const char* const end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc{})
    return std::nullopt;
  return parsed{v, std::string(ptr, end)};
}

TEST(ParseU64, ReadsTheLeadingDigitsAndAdvancesPastThem)
{
  EXPECT_EQ(parse("123abc"), (parsed{123, "abc"}));
  EXPECT_EQ(parse("7 8"), (parsed{7, " 8"}));
  EXPECT_EQ(parse("0"), (parsed{0, ""}));
  EXPECT_EQ(parse("42\r\n"), (parsed{42, "\r\n"}));
}

TEST(ParseU64, FailsWithoutADigit)
{
  for (const std::string_view text : {"", "abc", " 1", "-1", "+1", "/", ":", "\xb1", "x12"})
    EXPECT_EQ(parse(text), std::nullopt) << '"' << text << '"';
}

TEST(ParseU64, ReadsEightDigitsAtATime)
{
  EXPECT_EQ(parse("12345678"), (parsed{12345678, ""}));
  EXPECT_EQ(parse("87654321 x"), (parsed{87654321, " x"}));
  EXPECT_EQ(parse("123456789"), (parsed{123456789, ""}));
  EXPECT_EQ(parse("1234567812345678"), (parsed{1234567812345678, ""}));
  EXPECT_EQ(parse("12345678123456789"), (parsed{12345678123456789, ""}));
  // A nanosecond timestamp, as fanout sends it.
  EXPECT_EQ(parse("1733087461123456789 "), (parsed{1733087461123456789u, " "}));
}

TEST(ParseU64, StopsAtANonDigitInsideAnEightDigitBlock)
{
  EXPECT_EQ(parse("1234:678"), (parsed{1234, ":678"}));   // ':' is '9' + 1
  EXPECT_EQ(parse("1234/678"), (parsed{1234, "/678"}));   // '/' is '0' - 1
  EXPECT_EQ(parse("1234567?9"), (parsed{1234567, "?9"})); // high nibble 3, not a digit
  EXPECT_EQ(parse("12345678123:5678"), (parsed{12345678123, ":5678"}));
}

TEST(ParseU64, NineteenDigitsAlwaysFit)
{
  EXPECT_EQ(parse("9999999999999999999"), (parsed{9999999999999999999u, ""}));
  EXPECT_EQ(parse("1000000000000000000"), (parsed{1000000000000000000u, ""}));
}

TEST(ParseU64, ReadsTheLargestValue)
{
  EXPECT_EQ(parse("18446744073709551615"), (parsed{max_u64, ""}));
  EXPECT_EQ(parse("18446744073709551615;"), (parsed{max_u64, ";"}));
  EXPECT_EQ(parse("18446744073709551614"), (parsed{max_u64 - 1, ""}));
}

TEST(ParseU64, FailsOnOverflow)
{
  EXPECT_EQ(parse("18446744073709551616"), std::nullopt); // the last digit's addition
  EXPECT_EQ(parse("18446744073709551620"), std::nullopt); // the last digit's multiplication
  EXPECT_EQ(parse("99999999999999999999"), std::nullopt);
  EXPECT_EQ(parse("184467440737095516150"), std::nullopt); // 21 digits
  EXPECT_EQ(parse("18446744073709551616 rest"), std::nullopt);
  EXPECT_EQ(parse(std::string(40, '9')), std::nullopt);
}

TEST(ParseU64, LeadingZerosDoNotCountTowardsOverflow)
{
  EXPECT_EQ(parse(std::string(30, '0') + "42"), (parsed{42, ""}));
  EXPECT_EQ(parse(std::string(40, '0')), (parsed{0, ""}));
  EXPECT_EQ(parse("000" + std::string("18446744073709551615")), (parsed{max_u64, ""}));
}

TEST(ParseU64, ReadsNoFurtherThanTheView)
{
  const std::string buf = "123456789012345678901234";
  for (std::size_t n = 1; n <= buf.size(); ++n)
    EXPECT_EQ(parse(std::string_view(buf.data(), n)), reference(std::string_view(buf.data(), n)))
        << n << " octets";
}

TEST(ParseU64, StopsAtEveryKindOfNonDigitAtEveryPosition)
{
  // Just outside '0'..'9', the same low nibbles with other high nibbles,
  // NUL, space, a letter, a high-bit octet.
  const std::string_view stops("/:;?\0 a\xb5\x35\x70\x13\xff", 12);
  const std::string digits = "9876543210987654321098765";
  for (std::size_t len = 1; len <= digits.size(); ++len)
    for (std::size_t at = 0; at < len; ++at)
      for (const char stop : stops)
      {
        if (stop >= '0' && stop <= '9')
          continue;
        std::string text = digits.substr(0, len);
        text[at] = stop;
        EXPECT_EQ(parse(text), reference(text)) << "length " << len << ", non-digit at " << at;
      }
}

TEST(ParseU64, AgreesWithFromCharsOnRandomText)
{
  std::mt19937_64 rng(20241201);
  for (int i = 0; i < 20000; ++i)
  {
    std::string text(rng() % 26, '0');
    for (char& c : text)
      c = rng() % 16 == 0 ? static_cast<char>(rng() % 256) : static_cast<char>('0' + rng() % 10);
    EXPECT_EQ(parse(text), reference(text)) << '"' << text << '"';
  }
}

TEST(Parse8Digits, ReadsEightDigits)
{
  std::uint64_t out = 0;
  ASSERT_TRUE(parse_8_digits("00000000", out));
  EXPECT_EQ(out, 0u);
  ASSERT_TRUE(parse_8_digits("99999999", out));
  EXPECT_EQ(out, 99999999u);
  ASSERT_TRUE(parse_8_digits("12345678", out));
  EXPECT_EQ(out, 12345678u);
  ASSERT_TRUE(parse_8_digits("90817263", out));
  EXPECT_EQ(out, 90817263u);
  ASSERT_TRUE(parse_8_digits("00000001", out));
  EXPECT_EQ(out, 1u);
  ASSERT_TRUE(parse_8_digits("10000000", out));
  EXPECT_EQ(out, 10000000u);
}

TEST(Parse8Digits, RefusesAnyOtherOctetAtAnyPosition)
{
  for (std::size_t at = 0; at < 8; ++at)
    for (int b = 0; b < 256; ++b)
    {
      char text[8] = {'1', '2', '3', '4', '5', '6', '7', '8'};
      text[at] = static_cast<char>(b);
      std::uint64_t out = 4242;
      const bool digit = b >= '0' && b <= '9';
      EXPECT_EQ(parse_8_digits(text, out), digit) << "octet " << b << " at " << at;
      if (!digit)
      {
        EXPECT_EQ(out, 4242u);
      }
    }
}

} // namespace
} // namespace natter::bench
