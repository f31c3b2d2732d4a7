#include "natter/client/input.hpp"

#include <gtest/gtest.h>

namespace natter::client
{
namespace
{

using k = user_input::kind;

// Issue 4: "Plain lines are sent as MSG. Slash commands: /nick NAME, /who,
// /echo TEXT, /ping, /raw LINE, /help, /quit [REASON]. [...] Unknown slash
// commands get a local error, nothing is sent."

TEST(UserInput, PlainLineIsAMessage)
{
  const user_input in = parse_user_input("hello there");
  EXPECT_EQ(in.what, k::message);
  EXPECT_EQ(in.text, "hello there");
}

TEST(UserInput, MessageKeepsItsSpaces)
{
  EXPECT_EQ(parse_user_input("  indented ").text, "  indented ");
}

TEST(UserInput, BlankIsNothing)
{
  EXPECT_EQ(parse_user_input("").what, k::nothing);
  EXPECT_EQ(parse_user_input("   ").what, k::nothing);
}

TEST(UserInput, DoubleSlashSendsASlash)
{
  const user_input in = parse_user_input("//etc/passwd is a path");
  EXPECT_EQ(in.what, k::message);
  EXPECT_EQ(in.text, "/etc/passwd is a path");
}

TEST(UserInput, Commands)
{
  EXPECT_EQ(parse_user_input("/who").what, k::who);
  EXPECT_EQ(parse_user_input("/ping").what, k::ping);
  EXPECT_EQ(parse_user_input("/help").what, k::help);
  EXPECT_EQ(parse_user_input("/WHO").what, k::who);
  EXPECT_EQ(parse_user_input("/Nick bob").what, k::nick);
  EXPECT_EQ(parse_user_input("/nick bob").text, "bob");
  EXPECT_EQ(parse_user_input("/nick   bob  ").text, "bob");
  EXPECT_EQ(parse_user_input("/echo a  b").text, "a  b");
  EXPECT_EQ(parse_user_input("/echo").what, k::echo);
  EXPECT_EQ(parse_user_input("/raw WHO").what, k::raw);
  EXPECT_EQ(parse_user_input("/raw PING x").text, "PING x");
  EXPECT_EQ(parse_user_input("/quit").what, k::quit);
  EXPECT_EQ(parse_user_input("/quit").text, "");
  EXPECT_EQ(parse_user_input("/quit see you").text, "see you");
}

TEST(UserInput, UsageErrors)
{
  EXPECT_EQ(parse_user_input("/nick").what, k::error);
  EXPECT_EQ(parse_user_input("/nick 9lives").what, k::error);
  EXPECT_EQ(parse_user_input("/nick has space").what, k::error);
  EXPECT_EQ(parse_user_input("/raw").what, k::error);
  EXPECT_EQ(parse_user_input("/who everyone").what, k::error);
}

// "/tell NICK TEXT (and /msg NICK TEXT as an alias, as IRC users type)".
TEST(UserInput, TellAndItsAlias)
{
  for (const char* line :
       {"/tell bob  hi  there ", "/msg bob hi  there ", "/TELL   bob hi  there "})
  {
    const user_input in = parse_user_input(line);
    EXPECT_EQ(in.what, k::tell) << line;
    EXPECT_EQ(in.target, "bob") << line;
    EXPECT_EQ(in.text, "hi  there ") << line;
  }
  EXPECT_EQ(parse_user_input("/tell").text, "usage: /tell NICK TEXT");
  EXPECT_EQ(parse_user_input("/msg bob").text, "usage: /msg NICK TEXT");
  EXPECT_EQ(parse_user_input("/tell bob   ").what, k::error);
  EXPECT_EQ(parse_user_input("/tell 9lives hi").text, "invalid nick \"9lives\"");
}

TEST(UserInput, History)
{
  EXPECT_EQ(parse_user_input("/history").what, k::history);
  EXPECT_EQ(parse_user_input("/history").text, "");
  EXPECT_EQ(parse_user_input("/history 20").text, "20");
  EXPECT_EQ(parse_user_input("/history 999999999").what, k::history);
  for (const char* bad :
       {"/history 0", "/history 1000000000", "/history -1", "/history 05", "/history ten"})
    EXPECT_EQ(parse_user_input(bad).what, k::error) << bad;
}

TEST(UserInput, UnknownCommandIsALocalError)
{
  const user_input in = parse_user_input("/join #room");
  EXPECT_EQ(in.what, k::error);
  EXPECT_NE(in.text.find("/join"), std::string::npos);
  EXPECT_EQ(parse_user_input("/").what, k::error);
}

TEST(UserInput, HelpListsEveryCommand)
{
  for (const char* cmd :
       {"/nick", "/who", "/tell", "/msg", "/history", "/echo", "/ping", "/raw", "/help", "/quit"})
    EXPECT_NE(user_help().find(cmd), std::string_view::npos) << cmd;
}

} // namespace
} // namespace natter::client
