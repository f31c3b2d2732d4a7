// The greeting parser (spec/natter.md section 9.1): adverts, the free text
// after them, and what a client assumes when an advert is missing.
#include "natter/proto/greeting.hpp"

#include <gtest/gtest.h>

#include <string>

namespace
{

using natter::proto::greeting;
using natter::proto::parse_greeting;
using status = greeting::status;

TEST(Greeting, ReadsEveryAdvertAndTheText)
{
  const greeting g = parse_greeting(
      "220 natter/1 line=1024 nick=16 rate=20 burst=100 sendq=1048576 reg=60 idle=0 ready");
  ASSERT_EQ(g.what, status::ok);
  EXPECT_EQ(g.version, 1u);
  ASSERT_EQ(g.adverts.size(), 7u);
  for (std::size_t k = 0; k < g.adverts.size(); ++k)
    EXPECT_EQ(g.adverts[k].key, natter::proto::required_adverts[k]);
  EXPECT_EQ(g.find("sendq"), "1048576");
  EXPECT_EQ(g.find("idle"), "0");
  EXPECT_EQ(g.find("motd"), std::nullopt);
  EXPECT_EQ(g.text, "ready");
}

// N-CONN-13: "A client MUST take the version from the version token alone,
// MUST ignore an advert whose key it does not know, and MUST NOT require
// any advert".
TEST(Greeting, NeedsNoAdvertAndKeepsUnknownKeys)
{
  const greeting bare = parse_greeting("220 natter/1 ready");
  ASSERT_EQ(bare.what, status::ok);
  EXPECT_EQ(bare.version, 1u);
  EXPECT_TRUE(bare.adverts.empty());
  EXPECT_EQ(bare.text, "ready");

  const greeting none = parse_greeting("220 natter/1");
  ASSERT_EQ(none.what, status::ok);
  EXPECT_TRUE(none.text.empty());

  const greeting later =
      parse_greeting("220 natter/1 tls-port=7778 line=2048 x-y2=a,b:c/d.e_F hello, world");
  ASSERT_EQ(later.what, status::ok);
  ASSERT_EQ(later.adverts.size(), 3u);
  EXPECT_EQ(later.find("tls-port"), "7778");
  EXPECT_EQ(later.find("x-y2"), "a,b:c/d.e_F");
  EXPECT_EQ(later.text, "hello, world");
  EXPECT_EQ(natter::proto::line_limit(later), 2048u);
}

TEST(Greeting, TakesTheVersionFromTheTokenAlone)
{
  EXPECT_EQ(parse_greeting("220 natter/2 line=1024 ready").version, 2u);
  EXPECT_EQ(parse_greeting("220 natter/12").version, 12u);
  // The text cannot change the version.
  EXPECT_EQ(parse_greeting("220 natter/1 natter/2").version, 1u);
  EXPECT_EQ(parse_greeting("220 natter/99999999999999999999999 ready").version, ~0UL);
  for (const char* line : {"220 natter/0 ready", "220 natter/ ready", "220 natter/1x ready",
                           "220 natter/01 ready", "220 natter 1", "220-natter/1 ready",
                           "221 natter/1 ready", "220 Natter/1 ready", "", "220"})
    EXPECT_EQ(parse_greeting(line).what, status::not_greeting) << line;
}

// N-CONN-12: "its first word MUST NOT contain =, so that the adverts end
// where the first word without = begins".
TEST(Greeting, TheAdvertsEndAtTheFirstWordWithoutEquals)
{
  const greeting g = parse_greeting("220 natter/1 line=512 ready x=1 and more");
  ASSERT_EQ(g.what, status::ok);
  ASSERT_EQ(g.adverts.size(), 1u);
  EXPECT_EQ(g.text, "ready x=1 and more");

  for (const char* bad : {"Ready=yes", "=ready", "line=", "2+2=4", "line=1=2", "a b=c"})
  {
    // parse_greeting returns views into the line: it must outlive them.
    const std::string line = std::string("220 natter/1 line=512 ") + bad + " ready";
    const greeting b = parse_greeting(line);
    if (std::string(bad) == "a b=c")
    {
      EXPECT_EQ(b.what, status::ok) << bad; // "a" starts the text
      continue;
    }
    EXPECT_EQ(b.what, status::bad_advert) << bad;
    EXPECT_EQ(b.bad, bad);
  }
  EXPECT_EQ(parse_greeting("220 natter/1 line=512  ready").what, status::bad_text);
  EXPECT_EQ(parse_greeting("220 natter/1 ").what, status::bad_text);
  EXPECT_EQ(parse_greeting("220 natter/1 ready\x01").what, status::not_greeting);
}

TEST(Greeting, NumbersAreDecimals)
{
  using natter::proto::advert_number;
  EXPECT_EQ(advert_number("1024"), 1024.0);
  EXPECT_EQ(advert_number("0"), 0.0);
  EXPECT_EQ(advert_number("0.5"), 0.5);
  EXPECT_EQ(advert_number("60.250"), 60.25);
  for (const char* bad : {"", ".5", "5.", "1e3", "-1", "+1", "0x10", "1,5", "1.2.3", "inf", " 1"})
    EXPECT_EQ(advert_number(bad), std::nullopt) << bad;
}

// N-CONN-13: "a client that finds no line advert [...] assumes the smallest
// line limit, 32 octets".
TEST(Greeting, WithoutAUsableLineAdvertTheLimitIs32)
{
  using natter::proto::line_limit;
  EXPECT_EQ(line_limit(parse_greeting("220 natter/1 line=1024 ready")), 1024u);
  EXPECT_EQ(line_limit(parse_greeting("220 natter/1 line=32")), 32u);
  for (const char* line : {"220 natter/1 ready", "220 natter/1 line=abc", "220 natter/1 line=1.5",
                           "220 natter/1 line=16 ready", "220 natter/1 LINE=1024"})
    EXPECT_EQ(line_limit(parse_greeting(line)), 32u) << line;
}

} // namespace
