// natter-bench: decimal numbers read back from the lines a server relays
// (fanout's sequence numbers, timestamps and sender numbers), fast enough to
// run several times per delivery.
#ifndef NATTER_BENCH_PARSE_NUMBER_HPP
#define NATTER_BENCH_PARSE_NUMBER_HPP

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace natter::bench
{

/// If the 8 octets at `p` are all decimal digits, stores their value in
/// `out` (eight digits at once, with three multiplications) and returns
/// true. Little-endian loads, as on every machine natter-bench runs on.
inline bool parse_8_digits(const char* p, std::uint64_t& out) noexcept
{
  std::uint64_t w;
  std::memcpy(&w, p, sizeof w);
  // Each octet is 0x30..0x39: high nibble 3, and adding 6 does not carry.
  if ((w & 0xF0F0F0F0F0F0F0F0u) != 0x3030303030303030u ||
      ((w + 0x0606060606060606u) & 0xF0F0F0F0F0F0F0F0u) != 0x3030303030303030u)
    return false;
  w -= 0x3030303030303030u;
  w = w * 10 + (w >> 8); // pairs of digits in every other octet
  w = (((w & 0x000000FF000000FFu) * (100 + (1000000ull << 32))) +
       (((w >> 16) & 0x000000FF000000FFu) * (1 + (10000ull << 32)))) >>
      32;
  out = w;
  return true;
}

/// Parses a decimal prefix of `s`; advances `s` past it. Returns false when
/// there is no digit or the number does not fit. Inline, eight digits at a
/// time, and with no overflow check for the first 19 digits (they always
/// fit): it runs three times per delivery (a nanosecond timestamp has 14 or
/// more digits), and std::from_chars took a fifth of the generator's time
/// at fan-out 100.
inline bool parse_u64(std::string_view& s, std::uint64_t& out) noexcept
{
  constexpr std::size_t always_fits = 19;
  const std::size_t n = s.size() < always_fits ? s.size() : always_fits;
  std::uint64_t v = 0;
  std::size_t i = 0;
  for (std::uint64_t eight; i + 8 <= n && parse_8_digits(s.data() + i, eight); i += 8)
    v = v * 100000000u + eight;
  for (; i < n; ++i)
  {
    const auto d = static_cast<unsigned>(static_cast<unsigned char>(s[i])) - '0';
    if (d > 9)
      break;
    v = v * 10 + d;
  }
  if (i == 0)
    return false;
  for (; i < s.size(); ++i) // a 20th digit and on: checked
  {
    const auto d = static_cast<unsigned>(static_cast<unsigned char>(s[i])) - '0';
    if (d > 9)
      break;
    if (__builtin_mul_overflow(v, 10u, &v) || __builtin_add_overflow(v, d, &v))
      return false;
  }
  out = v;
  s.remove_prefix(i);
  return true;
}

} // namespace natter::bench

#endif // NATTER_BENCH_PARSE_NUMBER_HPP
