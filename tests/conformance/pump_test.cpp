// Framing of what a chat connection receives (conformance/runner/pump.hpp):
// lines and telnet answers come off the buffer whole, or not at all.
#include "pump.hpp"

#include <gtest/gtest.h>

#include <string>

namespace
{

using natter::conform::frame;
using natter::conform::take_frame;

TEST(ConformPump, TakesLinesWithTheirTerminator)
{
  std::string buffer = "PONG x\r\nJOIN bob\nrest";
  auto f = take_frame(buffer);
  ASSERT_TRUE(f);
  EXPECT_FALSE(f->telnet);
  EXPECT_EQ(f->bytes, "PONG x");
  EXPECT_TRUE(f->crlf);
  f = take_frame(buffer);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->bytes, "JOIN bob");
  EXPECT_FALSE(f->crlf); // a bare LF, for the checks to refuse
  EXPECT_FALSE(take_frame(buffer));
  EXPECT_EQ(buffer, "rest");
  buffer = "\r\n";
  f = take_frame(buffer);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->bytes, "");
  EXPECT_TRUE(f->crlf);
  EXPECT_TRUE(buffer.empty());
  EXPECT_FALSE(take_frame(buffer));
}

TEST(ConformPump, TakesTelnetAnswersBetweenLines)
{
  std::string buffer = "\xFF\xFC";
  EXPECT_FALSE(take_frame(buffer));
  EXPECT_EQ(buffer, "\xFF\xFC");
  buffer += "\x01OK\r\n";
  auto f = take_frame(buffer);
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->telnet);
  EXPECT_EQ(f->bytes, "\xFF\xFC\x01");
  f = take_frame(buffer);
  ASSERT_TRUE(f);
  EXPECT_FALSE(f->telnet);
  EXPECT_EQ(f->bytes, "OK");
  EXPECT_TRUE(buffer.empty());
}

} // namespace
