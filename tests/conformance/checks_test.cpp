// The checks every received line is held to (conformance/runner/checks.hpp):
// each requirement, once kept and once broken.
#include "checks.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>

namespace
{

using natter::conform::line_checks;
using natter::conform::violation;

/// The requirement `feed` breaks on a fresh connection (L = 1024), or "".
std::string broken(const std::function<void(line_checks&)>& feed)
{
  line_checks checks("c1", 1024);
  try
  {
    feed(checks);
  }
  catch (const violation& v)
  {
    return v.id;
  }
  return "";
}

/// Greeted and registered, as most lines find a client.
void registered(line_checks& c)
{
  c.line("220 natter/1 ready", true);
  c.line("200 alice nick accepted", true);
}

TEST(ConformChecks, AConformingSessionPasses)
{
  EXPECT_EQ(broken(
                [](line_checks& c)
                {
                  c.line("220 natter/1 ready", true);
                  c.line("PONG before-nick", true); // PONG and ECHO need no registration
                  c.line("ECHO x", true);
                  c.line("200 alice nick accepted", true);
                  c.line("JOIN bob", true);
                  c.line("211-alice", true);
                  c.line("211-Bob", true); // sorted ignoring case [N-WHO-3]
                  c.line("211 2 users in the room", true);
                  c.line("214-NICK <nick>", true);
                  c.line("214 end of help", true);
                  c.line("299 a code this version does not know", true);
                  c.line("MSG bob " + std::string(1024 + 64 - 2 - 8, 'x'), true); // at L + 64
                  c.unterminated(1024 + 64);
                  c.ended("");
                }),
            "");
}

TEST(ConformChecks, FramingAndLength)
{
  EXPECT_EQ(broken([](line_checks& c) { c.line("220 natter/1 ready", false); }), "N-FRAME-5");
  EXPECT_EQ(broken([](line_checks& c) { c.ended("220 natter/1"); }), "N-FRAME-5");
  EXPECT_EQ(broken(
                [](line_checks& c)
                {
                  registered(c);
                  c.line("MSG bob " + std::string(1024 + 64 - 2 - 7, 'x'), true); // one over
                }),
            "N-REPLY-1");
  EXPECT_EQ(broken([](line_checks& c) { c.unterminated(1024 + 64 + 1); }), "N-REPLY-1");
}

TEST(ConformChecks, TextAndGrammar)
{
  EXPECT_EQ(broken([](line_checks& c) { c.line("220 natter/1 \x01", true); }), "N-ENC-6");
  EXPECT_EQ(broken([](line_checks& c) { c.line("22 natter/1", true); }), "N-REPLY-2");
  EXPECT_EQ(broken([](line_checks& c) { c.line("hello there", true); }), "N-EVENT-1");
  EXPECT_EQ(broken([](line_checks& c) { c.line("220 natter/1 \xFF", true); }), "N-TELNET-13");
}

TEST(ConformChecks, RepliesAndTheirOrder)
{
  EXPECT_EQ(broken(
                [](line_checks& c)
                {
                  registered(c);
                  c.line("211-alice", true);
                  c.line("214 end of help", true);
                }),
            "N-REPLY-3");
  EXPECT_EQ(broken(
                [](line_checks& c)
                {
                  registered(c);
                  c.line("211-alice", true);
                  c.line("JOIN bob", true);
                }),
            "N-REPLY-4");
  EXPECT_EQ(broken(
                [](line_checks& c)
                {
                  c.line("220 natter/1 ready", true);
                  c.line("220 natter/1 ready", true);
                }),
            "N-CONN-1");
  EXPECT_EQ(broken([](line_checks& c) { c.line("JOIN bob", true); }), "N-EVENT-2");
}

TEST(ConformChecks, NothingAfterAClosingReply)
{
  EXPECT_EQ(broken(
                [](line_checks& c)
                {
                  c.line("503 server full", true);
                  c.line("ECHO x", true);
                }),
            "N-REPLY-6");
  // A 5xx this version does not know closes the connection all the same.
  line_checks checks("c1", 1024);
  checks.line("599 something new", true);
  EXPECT_TRUE(checks.got_closing_reply());
  line_checks open("c1", 1024);
  open.line("433 bob nick already in use", true);
  EXPECT_FALSE(open.got_closing_reply());
}

TEST(ConformChecks, WhoLists)
{
  EXPECT_EQ(broken(
                [](line_checks& c)
                {
                  registered(c);
                  c.line("211-bob", true);
                  c.line("211-alice", true);
                }),
            "N-WHO-3");
  EXPECT_EQ(broken(
                [](line_checks& c)
                {
                  registered(c);
                  c.line("211-alice", true);
                  c.line("211 2 users in the room", true);
                }),
            "N-WHO-2");
  EXPECT_EQ(broken(
                [](line_checks& c)
                {
                  registered(c);
                  c.line("211-not a nick", true);
                }),
            "N-WHO-2");
}

TEST(ConformChecks, TelnetAnswersOnlyWhenAskedFor)
{
  EXPECT_EQ(broken([](line_checks& c) { c.telnet("\xFF\xFC\x01"); }), "N-TELNET-12");
  for (const char* answer : {"\xFF\xFB\x01", "\xFF\xFC\x01", "\xFF\xFE\x01"})
    EXPECT_EQ(broken(
                  [&](line_checks& c)
                  {
                    c.sent("\xFF\xFD\x01");
                    c.telnet(answer);
                  }),
              "");
  EXPECT_EQ(broken(
                [](line_checks& c)
                {
                  c.sent("\xFF\xFB\x01");
                  c.telnet("\xFF\xFD\x01"); // DO is negotiation, not an answer
                }),
            "N-TELNET-12");
  EXPECT_EQ(broken(
                [](line_checks& c)
                {
                  registered(c);
                  c.sent("\xFF\xFD\x01");
                  c.line("211-alice", true);
                  c.telnet("\xFF\xFC\x01");
                }),
            "N-TELNET-13");
}

} // namespace
