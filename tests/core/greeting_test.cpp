// natterd's greeting (spec/natter.md section 9.1): every advert of
// N-CONN-11 with the value a connection of the room gets.
#include "natter/core/greeting.hpp"

#include "natter/core/limits.hpp"
#include "natter/core/room.hpp"
#include "natter/proto/greeting.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <limits>
#include <sstream>

namespace
{

using natter::core::config;
using natter::core::greeting_line;
using namespace std::chrono_literals;

// N-CONN-11 and N-CONN-17, with the line the spec shows for natterd with
// its defaults.
TEST(GreetingLine, DefaultsAreTheSpecsExample)
{
  const std::string spec_example = "220 natter/1 line=1024 nick=16 rate=20 burst=100 "
                                   "sendq=1048576 reg=60 idle=0 history=100 tell=1 ready";
  EXPECT_EQ(greeting_line(config{}), spec_example + "\r\n");
  std::ifstream in(NATTER_SOURCE_DIR "/spec/natter.md");
  std::stringstream spec;
  spec << in.rdbuf();
  EXPECT_NE(spec.str().find("\n" + spec_example + "\n"), std::string::npos)
      << "spec section 9.1 no longer shows natterd's greeting with its defaults";
}

TEST(GreetingLine, AdvertisesTheConfiguredValues)
{
  config c;
  c.max_line = 512;
  c.rate = 0.5;
  c.max_sendq = 65536;
  c.registration_timeout = 1500ms;
  c.idle_timeout = 2s;
  EXPECT_EQ(greeting_line(c), "220 natter/1 line=512 nick=16 rate=0.5 burst=100 sendq=65536 "
                              "reg=1.5 idle=2 history=100 tell=1 ready\r\n");
  c.rate = 0;
  c.burst = 7;
  c.registration_timeout = 0ms;
  c.idle_timeout = 1ms;
  c.history = 0; // HISTORY and IDS still answer: history=0 says nothing is kept
  EXPECT_EQ(greeting_line(c), "220 natter/1 line=512 nick=16 rate=0 burst=7 sendq=65536 "
                              "reg=0 idle=0.001 history=0 tell=1 ready\r\n");
}

TEST(GreetingLine, NumbersHaveAFractionOnlyWhenConfiguredSo)
{
  using natter::core::advert_decimal;
  using natter::core::advert_seconds;
  EXPECT_EQ(advert_seconds(0ms), "0");
  EXPECT_EQ(advert_seconds(60s), "60");
  EXPECT_EQ(advert_seconds(1500ms), "1.5");
  EXPECT_EQ(advert_seconds(2250ms), "2.25");
  EXPECT_EQ(advert_seconds(10010ms), "10.01");
  EXPECT_EQ(advert_seconds(31536000999ms), "31536000.999");
  EXPECT_EQ(advert_decimal(20), "20");
  EXPECT_EQ(advert_decimal(0.5), "0.5");
  EXPECT_EQ(advert_decimal(0.001), "0.001");
  EXPECT_EQ(advert_decimal(2.75), "2.75");
  EXPECT_EQ(advert_decimal(1e9), "1000000000");
}

// What a client reads back is what the room applies.
TEST(GreetingLine, ReadsBackAsTheRoomsSettings)
{
  config c;
  c.max_line = 4096;
  c.rate = 12.5;
  c.idle_timeout = 300s;
  natter::core::room r(c);
  const std::string& line = *r.greeting();
  ASSERT_TRUE(line.ends_with("\r\n"));
  const auto g = natter::proto::parse_greeting(std::string_view(line).substr(0, line.size() - 2));
  ASSERT_EQ(g.what, natter::proto::greeting::status::ok);
  EXPECT_EQ(g.version, 1u);
  EXPECT_EQ(g.text, "ready");
  EXPECT_EQ(natter::proto::line_limit(g), 4096u);
  namespace key = natter::proto::advert_key;
  EXPECT_EQ(natter::proto::advert_number(*g.find(key::rate)), 12.5);
  EXPECT_EQ(natter::proto::advert_number(*g.find(key::idle)), 300.0);
  EXPECT_EQ(natter::proto::advert_number(*g.find(key::reg)), 60.0);
  for (const std::string_view k : natter::proto::required_adverts)
    EXPECT_TRUE(g.find(k).has_value()) << k;
  EXPECT_EQ(natter::proto::advert_number(*g.find(key::history)), 100.0);
  EXPECT_EQ(*g.find(key::tell), "1");
}

// N-REPLY-1: "nor a greeting longer than 256 octets, CRLF included", for the
// longest values natterd's flags accept.
TEST(GreetingLine, LongestConfigurationFitsIn256Octets)
{
  config c;
  c.max_line = std::size_t{1} << 24;
  c.max_sendq = std::numeric_limits<std::size_t>::max();
  c.rate = 0.0012345678901234567; // a shortest form of 21 characters
  c.registration_timeout = 31536000999ms;
  c.idle_timeout = 31536000999ms;
  c.history = natter::core::limits::max_history(1, c.max_sendq); // more than natterd accepts
  EXPECT_LE(greeting_line(c).size(), 256u) << greeting_line(c);
  c.rate = 123456789.12345679;
  EXPECT_LE(greeting_line(c).size(), 256u) << greeting_line(c);
}

} // namespace
