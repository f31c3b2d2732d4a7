#include "natter/bench/nick.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace natter::bench
{
namespace
{

std::string letters(const nick_tag& t)
{
  return {t[0], t[1]};
}

TEST(BenchNick, RunTagIsTheLastTwoBase26DigitsOfThePid)
{
  EXPECT_EQ(letters(run_tag(0)), "aa");
  EXPECT_EQ(letters(run_tag(1)), "ba");
  EXPECT_EQ(letters(run_tag(25)), "za");
  EXPECT_EQ(letters(run_tag(26)), "ab");
  EXPECT_EQ(letters(run_tag(675)), "zz");
  EXPECT_EQ(letters(run_tag(676)), "aa");
}

TEST(BenchNick, NearbyPidsGetDifferentTags)
{
  // bench/compare starts runs one after the other: their PIDs are close.
  for (unsigned pid = 1000; pid < 5000; ++pid)
    for (unsigned later = pid + 1; later < pid + 26; ++later)
      ASSERT_NE(run_tag(pid), run_tag(later)) << pid << " and " << later;
}

TEST(BenchNick, MakeNick)
{
  const nick_tag tag{'k', 'q'};
  EXPECT_EQ(make_nick(true, tag, 0), "skq0");
  EXPECT_EQ(make_nick(true, tag, 12), "skq12");
  EXPECT_EQ(make_nick(false, tag, 999999), "rkq999999");
}

TEST(BenchNick, ReadsASenderNumberBack)
{
  const nick_tag tag{'k', 'q'};
  for (const std::uint32_t i : {0u, 7u, 12u, 999u, 999999u})
  {
    std::uint64_t index = 4242;
    ASSERT_TRUE(parse_sender_nick(make_nick(true, tag, i), tag, index)) << i;
    EXPECT_EQ(index, i);
  }
}

TEST(BenchNick, RefusesWhatIsNotASenderOfThisRun)
{
  const nick_tag tag{'k', 'q'};
  std::uint64_t index = 4242;
  EXPECT_FALSE(parse_sender_nick("rkq1", tag, index)); // a receiver
  EXPECT_FALSE(parse_sender_nick("skr1", tag, index)); // another run
  EXPECT_FALSE(parse_sender_nick("sqk1", tag, index));
  EXPECT_FALSE(parse_sender_nick("skq", tag, index)); // no number
  EXPECT_FALSE(parse_sender_nick("skqx", tag, index));
  EXPECT_FALSE(parse_sender_nick("", tag, index));
  EXPECT_EQ(index, 4242u);
}

} // namespace
} // namespace natter::bench
