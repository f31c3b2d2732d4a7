#include "natter/proto/telnet.hpp"

#include <gtest/gtest.h>

#include <string>

namespace natter::proto
{
namespace
{

std::string answer(telnet_answerer& t, telnet_verb verb, std::uint8_t option)
{
  std::array<char, 3> buf{};
  return std::string(t.answer(verb, option, buf));
}

// Section 6: DO TIMING-MARK is answered WILL TIMING-MARK every time (RFC 860).
TEST(Telnet, TimingMarkAnsweredEveryTime)
{
  telnet_answerer t;
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(answer(t, telnet_verb::do_, 6), "\xFF\xFB\x06");
}

// Other requests are refused once per option; refusals are never answered.
TEST(Telnet, RefusesEachOptionOnce)
{
  telnet_answerer t;
  EXPECT_EQ(answer(t, telnet_verb::will_, 24), "\xFF\xFE\x18");
  EXPECT_EQ(answer(t, telnet_verb::will_, 24), "");
  EXPECT_EQ(answer(t, telnet_verb::do_, 1), "\xFF\xFC\x01");
  EXPECT_EQ(answer(t, telnet_verb::do_, 1), "");
  EXPECT_EQ(answer(t, telnet_verb::do_, 24), std::string("\xFF\xFC\x18"));
  EXPECT_EQ(answer(t, telnet_verb::will_, 255), "\xFF\xFE\xFF");
  EXPECT_EQ(answer(t, telnet_verb::wont_, 3), "");
  EXPECT_EQ(answer(t, telnet_verb::dont_, 3), "");
}

} // namespace
} // namespace natter::proto
