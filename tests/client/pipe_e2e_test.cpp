// natter in pipe mode against natterd (issue 4, "Non-interactive").
#include "support/process.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>

namespace natter::test
{
namespace
{

class PipeMode : public ::testing::Test
{
protected:
  void SetUp() override
  {
    if (natterd_path().empty())
      GTEST_SKIP() << "natterd is not built";
    ASSERT_TRUE(server_.start()) << server_.error();
  }

  /// natter reading `input` from a pipe, with `args` before the address.
  child run(const std::vector<std::string>& args, std::string_view input, bool close = true)
  {
    std::vector<std::string> argv = {natter_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(server_.address());
    child c = child::spawn_piped(argv, {"HOME=" + home_.path()});
    EXPECT_TRUE(c.write(input));
    if (close)
      c.close_stdin();
    return c;
  }

  /// Waits for `c` to exit 0, then returns what the peer `watcher` saw up
  /// to (not including) the QUIT of `nick`.
  static std::vector<std::string> seen_until_quit(child& c, peer& watcher, const std::string& nick,
                                                  ms timeout = 10s)
  {
    EXPECT_EQ(c.wait(timeout), 0);
    std::vector<std::string> seen;
    EXPECT_TRUE(watcher.expect("QUIT " + nick, timeout, &seen));
    return seen;
  }

  /// `count` numbered lines "<word> 1" ... "<word> count", each ended by LF
  /// but the last when `last_lf` is false.
  static std::string numbered(const std::string& word, int count, bool last_lf)
  {
    std::string input;
    for (int i = 1; i <= count; ++i)
      input += word + " " + std::to_string(i) + (i < count || last_lf ? "\n" : "");
    return input;
  }

  server server_;
  temp_dir home_;
};

using lines = std::vector<std::string>;

// "Each input line is sent as MSG [...] At end of input the client waits
// until the server has processed everything it sent (a PING barrier),
// sends QUIT, and exits 0." Leading spaces are the separator's (spec 7.1:
// "a run of spaces after the verb counts as one separator").
TEST_F(PipeMode, SendsEveryLineExactlyAndQuits)
{
  peer bob;
  ASSERT_TRUE(bob.join(server_.port(), "bob"));
  child c = run({"--nick", "bot"}, "hello room\n  spaced  out\ncaf\xC3\xA9 \xE2\x82\xAC\n");
  EXPECT_EQ(seen_until_quit(c, bob, "bot"),
            (lines{"JOIN bot", "MSG bot hello room", "MSG bot spaced  out",
                   "MSG bot caf\xC3\xA9 \xE2\x82\xAC"}));
}

// "nothing lost when the input ends right after the last line": many lines,
// the last without a newline, and the input closed at once.
TEST_F(PipeMode, NothingLostAtEndOfInput)
{
  server_.stop();
  ASSERT_TRUE(server_.start(0, {"--rate", "0"})) << server_.error();
  peer bob;
  ASSERT_TRUE(bob.join(server_.port(), "bob"));
  constexpr int count = 3000;
  child c = run({"--nick", "bulk"}, numbered("line", count, false));
  const lines seen = seen_until_quit(c, bob, "bulk", 20s);
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(count) + 1);
  for (int i = 1; i <= count; ++i)
    EXPECT_EQ(seen[static_cast<std::size_t>(i)], "MSG bulk line " + std::to_string(i));
}

// The same with natterd's flood control on (spec 11: 100 lines at once, then
// 20 a second): the server reads the rest slowly, and the barrier waits.
TEST_F(PipeMode, NothingLostUnderFloodControl)
{
  peer bob;
  ASSERT_TRUE(bob.join(server_.port(), "bob"));
  constexpr int count = 140;
  child c = run({"--nick", "paced"}, numbered("paced", count, true));
  const lines seen = seen_until_quit(c, bob, "paced", 20s);
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(count) + 1);
  EXPECT_EQ(seen.back(), "MSG paced paced " + std::to_string(count));
}

TEST_F(PipeMode, CrLfInputAndBlankLines)
{
  peer bob;
  ASSERT_TRUE(bob.join(server_.port(), "bob"));
  child c = run({"--nick", "crlf"}, "one\r\n\r\n   \ntwo\r\n");
  EXPECT_EQ(seen_until_quit(c, bob, "crlf"), (lines{"JOIN crlf", "MSG crlf one", "MSG crlf two"}));
}

// "lines received are printed to stdout in the same plain format without
// colour".
TEST_F(PipeMode, PrintsWhatItReceivesPlain)
{
  peer bob;
  ASSERT_TRUE(bob.join(server_.port(), "bob"));
  child c = run({"--nick", "listener"}, "", false);
  ASSERT_TRUE(bob.expect("JOIN listener", 5s));
  ASSERT_TRUE(bob.send("MSG hi \xE2\x98\x83 listener"));
  ASSERT_TRUE(c.wait_for("listener\n", 5s));
  c.close_stdin();
  EXPECT_EQ(c.wait(10s), 0);
  c.drain(2s);
  EXPECT_TRUE(std::regex_search(
      c.out(), std::regex("(^|\n)\\[[0-9]{2}:[0-9]{2}\\] <bob> hi \xE2\x98\x83 listener\n")))
      << c.out();
  EXPECT_EQ(c.out().find('\x1b'), std::string::npos) << "no colour in a pipe";
}

TEST_F(PipeMode, ReadsARegularFile)
{
  peer bob;
  ASSERT_TRUE(bob.join(server_.port(), "bob"));
  const std::string file = home_.path() + "/input.txt";
  std::ofstream(file) << "from a file\nsecond\n";
  child c = child::spawn_piped({"/bin/sh", "-c", "exec \"$0\" --nick filer \"$1\" < \"$2\"",
                                natter_path(), server_.address(), file});
  EXPECT_EQ(seen_until_quit(c, bob, "filer"),
            (lines{"JOIN filer", "MSG filer from a file", "MSG filer second"}));
}

// "On 433 at registration the client tries NAME_, NAME2, ..." -- in a
// script too, and nothing is sent before the nick is accepted.
TEST_F(PipeMode, TakenNickFallsBack)
{
  peer bob;
  ASSERT_TRUE(bob.join(server_.port(), "bot"));
  child c = run({"--nick", "bot"}, "still delivered\n");
  EXPECT_EQ(seen_until_quit(c, bob, "bot_"), (lines{"JOIN bot_", "MSG bot_ still delivered"}));
}

// "Exit status 1 for connection failure, 2 for usage errors, with a
// one-line message on stderr."
TEST_F(PipeMode, ExitStatusOneWhenTheServerIsUnreachable)
{
  // A port that was just free: natterd listens elsewhere.
  server_.stop();
  child c = child::spawn_piped({natter_path(), "--nick", "x", server_.address()});
  c.close_stdin();
  EXPECT_EQ(c.wait(10s), 1);
  c.drain(2s);
  EXPECT_NE(c.err().find("cannot connect"), std::string::npos) << c.err();
  EXPECT_EQ(std::count(c.err().begin(), c.err().end(), '\n'), 1) << c.err();
}

TEST_F(PipeMode, ExitStatusTwoForUsageErrors)
{
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--nick", "9lives"}, {"--bogus"}, {"host:notaport"}, {"a", "b"}})
  {
    std::vector<std::string> argv = {natter_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    child c = child::spawn_piped(argv);
    c.close_stdin();
    EXPECT_EQ(c.wait(10s), 2) << args[0];
    c.drain(2s);
    EXPECT_EQ(std::count(c.err().begin(), c.err().end(), '\n'), 1) << c.err();
    EXPECT_TRUE(c.out().empty());
  }
}

TEST(Usage, HelpAndVersionExitZero)
{
  child help = child::spawn_piped({natter_path(), "--help"});
  EXPECT_EQ(help.wait(10s), 0);
  help.drain(2s);
  for (const char* flag : {"--no-reconnect", "--timeout", "--reconnects"})
    EXPECT_NE(help.out().find(flag), std::string::npos) << flag;
  child version = child::spawn_piped({natter_path(), "--version"});
  EXPECT_EQ(version.wait(10s), 0);
  version.drain(2s);
  EXPECT_EQ(version.out().rfind("natter ", 0), 0u) << version.out();
}

TEST(Usage, ConnectionRefusedWithoutAServer)
{
  // Port 1 on loopback: nothing listens there in a test sandbox.
  child c = child::spawn_piped({natter_path(), "--nick", "x", "127.0.0.1:1"});
  c.close_stdin();
  EXPECT_EQ(c.wait(10s), 1);
}

} // namespace
} // namespace natter::test
