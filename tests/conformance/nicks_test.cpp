// The nicks of a case run (conformance/runner/nicks.hpp): fresh, of the
// length asked for, unique, and lines about other nicks told apart.
#include "nicks.hpp"

#include "matcher.hpp"

#include <gtest/gtest.h>

#include <string>

namespace
{

using natter::conform::case_error;
using natter::conform::case_nicks;
using natter::conform::run_id;

TEST(ConformNicks, CarryTheRunId)
{
  EXPECT_EQ(run_id("zz", 0), "zz0");
  EXPECT_EQ(run_id("zz", 37), "zz11");
  case_nicks nicks(run_id("zz", 37));
  EXPECT_EQ(nicks.nick("alice", 0), "alice_zz11");
  EXPECT_EQ(nicks.nick("alice", 0), "alice_zz11");                       // the same every time
  EXPECT_EQ(nicks.nick("averyveryverylongname", 0), "averyveryve_zz11"); // at most 16
  EXPECT_EQ(nicks.nick("long", 16), "longxxxxxxx_zz11");
  const std::string tiny = nicks.nick("b", 3); // no room for the run id
  EXPECT_EQ(tiny.size(), 3u);
  EXPECT_EQ(tiny[0], 'b');
}

TEST(ConformNicks, RefuseConflicts)
{
  case_nicks nicks("zz1");
  nicks.nick("alice", 0);
  EXPECT_THROW(nicks.nick("alice", 5), case_error); // already 9 octets long
  EXPECT_THROW(nicks.nick("Alice", 0), case_error); // the same nick, ignoring case
}

TEST(ConformNicks, TellLinesAboutOthersApart)
{
  case_nicks nicks("zz1");
  nicks.nick("alice", 0);
  EXPECT_TRUE(nicks.is_ours("ALICE_ZZ1"));
  EXPECT_FALSE(nicks.is_ours("bob"));
  for (const char* line :
       {"JOIN bob", "MSG bob hi", "QUIT bob", "QUIT bob gone", "NICK bob carol", "211-bob"})
    EXPECT_TRUE(nicks.about_others(line)) << line;
  for (const char* line : {"JOIN alice_zz1", "MSG ALICE_ZZ1 hi", "NICK bob alice_zz1",
                           "NICK alice_zz1 bob", "211-alice_zz1", "211 3 users in the room",
                           "200 bob nick accepted", "PONG bob", "ECHO bob", "not a line"})
    EXPECT_FALSE(nicks.about_others(line)) << line;
}

} // namespace
