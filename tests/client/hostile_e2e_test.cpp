// natter against hostile servers (issue 19): each test speaks for a server
// itself, octet by octet, through a loopback listener, and drives the real
// natter binary in a pseudo-terminal where the terminal matters, or through
// pipes. Every wait has a deadline; every loop is bounded.
#include "support/process.hpp"

#include <gtest/gtest.h>

#include <regex>

#include <poll.h>

namespace natter::test
{
namespace
{

class Hostile : public ::testing::Test
{
protected:
  void SetUp() override { ASSERT_NE(server_.port(), 0) << "cannot listen on loopback"; }

  /// natter on a terminal of `cols` columns, connected to the listener.
  child start_pty(std::vector<std::string> args = {"--no-color"}, unsigned short cols = 80,
                  unsigned short rows = 24)
  {
    std::vector<std::string> argv = {natter_path(), "--nick", "alice"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(server_.address());
    return child::spawn_pty(argv, {"HOME=" + home_.path()}, rows, cols);
  }

  /// Accepts natter's connection, greets it and accepts its nick: what a
  /// conforming server would do before it turns hostile.
  void register_alice(peer& conn)
  {
    ASSERT_TRUE(server_.accept(conn, 10s)) << "natter did not connect";
    ASSERT_TRUE(conn.send("220 natter/1 ready"));
    ASSERT_TRUE(conn.expect("NICK alice", 10s));
    ASSERT_TRUE(conn.send("200 alice nick accepted"));
  }

  listener server_;
  temp_dir home_;
};

// Issue 19, 1: "Output to the terminal must never be lost [...] when the
// terminal cannot keep up, stop reading the socket (TCP backpressure), never
// drop." The server sends as fast as the socket takes it; the terminal's
// reader takes 128 octets at a time with a pause after each, far slower
// than natter writes. Every line must still reach the terminal, once and in
// order.
TEST_F(Hostile, SlowTerminalReceivesEveryLine)
{
  child c = start_pty();
  peer conn;
  register_alice(conn);
  ASSERT_TRUE(c.wait_for("you are alice", 10s)) << c.out();

  constexpr int count = 3000;
  std::string flood;
  for (int i = 1; i <= count; ++i)
    flood += "MSG eve n" + std::to_string(i) + "\r\n";
  flood += "MSG eve done\r\n";
  std::string_view unsent = flood;
  const std::size_t from = c.out().size();
  bool done = false;
  // About 2 s of reading in a release build; the deadline is for sanitizers.
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!done && std::chrono::steady_clock::now() < deadline)
  {
    unsent.remove_prefix(conn.send_some(unsent));
    const std::size_t before = c.out().size();
    if (!c.read_out(5s, 128) || (unsent.empty() && c.out().size() == before))
      break; // natter exited, or has nothing more to show
    done = c.out().find("<eve> done", from) != std::string::npos;
    ::poll(nullptr, 0, 1); // the pause that makes this terminal slow
  }
  ASSERT_TRUE(done) << "the last line never arrived";
  const std::string shown = c.out().substr(from);
  const std::regex line("<eve> n([0-9]+)\r?\n");
  int expected = 1;
  for (auto it = std::sregex_iterator(shown.begin(), shown.end(), line);
       it != std::sregex_iterator(); ++it)
  {
    ASSERT_EQ(std::stoi((*it)[1]), expected) << "line " << expected << " lost or out of order";
    ++expected;
  }
  EXPECT_EQ(expected - 1, count);
}

// Issue 19, 6: unknown events "must be ignored [...] not shown as `!
// unexpected line from server` (N-EVENT-3); unknown codes handled by their
// class (`250 ...` is a success, not a red error) (N-REPLY-9)".
TEST_F(Hostile, UnknownEventsAndCodesFromALaterVersion)
{
  child c = start_pty({}); // in colour: red is what an error looks like
  peer conn;
  register_alice(conn);
  const auto registered = c.wait_for("you are alice", 10s);
  ASSERT_TRUE(registered) << c.out();
  ASSERT_TRUE(conn.send("TOPIC the new topic"));
  ASSERT_TRUE(conn.send("AWAY bob"));
  ASSERT_TRUE(conn.send("250 future success code"));
  ASSERT_TRUE(conn.send("MSG eve marker"));
  ASSERT_TRUE(c.wait_for("marker", 10s, *registered)) << c.out();
  const std::string shown = c.out().substr(*registered);
  EXPECT_EQ(shown.find("unexpected"), std::string::npos) << shown;
  EXPECT_EQ(shown.find("TOPIC"), std::string::npos) << shown;
  EXPECT_EQ(shown.find("AWAY"), std::string::npos) << shown;
  const std::size_t success = shown.find("250 future success code");
  ASSERT_NE(success, std::string::npos) << shown;
  // The line it is on is dimmed, as news is, and carries no red.
  const std::size_t row = shown.rfind('\n', success) + 1;
  const std::string line = shown.substr(row, success - row);
  EXPECT_NE(line.find("\x1b[2m"), std::string::npos) << line;
  EXPECT_EQ(line.find("\x1b[1;31m"), std::string::npos) << line;
}

} // namespace
} // namespace natter::test
