// natter on a terminal against natterd: private messages, the history shown
// on connecting, and exactly what was missed after a reconnection (spec
// 7.10 to 7.12). A relay between natter and natterd cuts natter's
// connection when a test says so, while natterd and the others go on.
#include "support/process.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace natter::test
{
namespace
{

/// Counts the times `what` occurs in `text`.
std::size_t occurrences(std::string_view text, std::string_view what)
{
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string_view::npos;
       at = text.find(what, at + what.size()))
    ++n;
  return n;
}

/// A TCP relay on 127.0.0.1: it accepts a connection, connects it to a
/// server port and copies octets both ways until cut().
class relay
{
public:
  relay() = default;
  relay(const relay&) = delete;
  relay& operator=(const relay&) = delete;
  ~relay() { cut(); }

  std::string address() const { return "127.0.0.1:" + std::to_string(listener_.port()); }

  /// Accepts the next connection (waiting at most `timeout`) and relays it
  /// to 127.0.0.1:`port`. False when none came or the server is not there.
  bool pass(std::uint16_t port, ms timeout)
  {
    cut();
    client_ = listener_.accept(timeout);
    if (client_ < 0)
      return false;
    server_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (server_ < 0 || ::connect(server_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::pipe(wake_) != 0)
    {
      cut();
      return false;
    }
    pump_ = std::thread([this] { copy(); });
    return true;
  }

  /// Closes both sides: natter and natterd each see the connection end.
  void cut()
  {
    if (pump_.joinable())
    {
      const char stop = 0;
      [[maybe_unused]] const ssize_t n = ::write(wake_[1], &stop, 1);
      pump_.join();
    }
    for (int* fd : {&client_, &server_, &wake_[0], &wake_[1]})
    {
      if (*fd >= 0)
        ::close(*fd);
      *fd = -1;
    }
  }

private:
  // Runs until cut() or until either side closes.
  void copy()
  {
    char buf[4096];
    for (;;)
    {
      pollfd p[3] = {{client_, POLLIN, 0}, {server_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      if (::poll(p, 3, -1) < 0 || p[2].revents != 0)
        return;
      for (int i = 0; i < 2; ++i)
      {
        if (p[i].revents == 0)
          continue;
        const ssize_t n = ::read(p[i].fd, buf, sizeof buf);
        if (n <= 0)
          return;
        const int to = i == 0 ? server_ : client_;
        for (ssize_t done = 0; done < n;)
        {
          const ssize_t w = ::write(to, buf + done, static_cast<std::size_t>(n - done));
          if (w <= 0)
            return;
          done += w;
        }
      }
    }
  }

  loopback_listener listener_;
  int client_ = -1;
  int server_ = -1;
  int wake_[2] = {-1, -1};
  std::thread pump_;
};

class RecallE2E : public ::testing::Test
{
protected:
  void SetUp() override
  {
    if (natterd_path().empty())
      GTEST_SKIP() << "natterd is not built";
  }

  /// natter on a terminal, talking to `address`.
  child start(const std::string& nick, const std::string& address,
              std::vector<std::string> extra_args = {"--no-color"})
  {
    std::vector<std::string> argv = {natter_path(), "--nick", nick};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    argv.push_back(address);
    // Wide enough that no line of these tests is wrapped.
    return child::spawn_pty(argv, {"HOME=" + home_.path()}, 24, 200);
  }

  /// Waits until `c` says `text` after offset `from`; returns the offset
  /// past it.
  static std::size_t seen(child& c, std::string_view text, std::size_t from = 0)
  {
    const auto at = c.wait_for(text, 10s, from);
    EXPECT_TRUE(at) << "no \"" << text << "\" in:\n" << c.out().substr(from);
    return at.value_or(c.out().size());
  }

  /// Starts alice through the relay, registered, with bob (a plain peer)
  /// in the room; bob says "before the cut" and alice sees it.
  void alice_through_relay(child& alice, peer& bob)
  {
    ASSERT_TRUE(bob.join(server_.port(), "bob"));
    alice = start("alice", relay_.address());
    ASSERT_TRUE(relay_.pass(server_.port(), 10s));
    seen(alice, "you are alice");
    ASSERT_TRUE(bob.expect("JOIN alice", 5s));
    ASSERT_TRUE(bob.send("MSG before the cut"));
    seen(alice, "<bob> before the cut");
  }

  /// Cuts alice's connection; natterd has let her go when bob sees her
  /// leave, so she can have her nick back.
  void cut(child& alice, peer& bob)
  {
    const std::size_t mark = alice.out().size();
    relay_.cut();
    ASSERT_TRUE(bob.expect("QUIT alice connection closed", 5s));
    seen(alice, "connection lost", mark);
  }

  server server_;
  relay relay_;
  temp_dir home_;
};

// "two clients exchange /tell and each sees the private line distinctly".
TEST_F(RecallE2E, TwoClientsTellEachOther)
{
  ASSERT_TRUE(server_.start()) << server_.error();
  peer carol;
  ASSERT_TRUE(carol.join(server_.port(), "carol"));
  child alice = start("alice", server_.address());
  seen(alice, "you are alice");
  child bob = start("bob", server_.address());
  seen(bob, "you are bob");

  ASSERT_TRUE(alice.write("/tell bob just between us\r"));
  seen(bob, "*alice* just between us");
  seen(alice, "-> *bob* just between us");
  ASSERT_TRUE(bob.write("/msg alice  agreed\r"));
  seen(alice, "*bob* agreed");
  seen(bob, "-> *alice* agreed");
  // Nobody else hears it (N-TELL-6).
  std::vector<std::string> heard;
  ASSERT_TRUE(carol.sync(5s, &heard));
  for (const std::string& line : heard)
    EXPECT_EQ(line.find("TELL"), std::string::npos) << line;
  // "reports a 434 no such nick answer clearly as an error tied to that tell"
  ASSERT_TRUE(alice.write("/tell dave are you here?\r"));
  seen(alice, "! not delivered to dave: nobody here has that nick (you said: are you here?)");
}

// "a client connecting to a room with history shows the earlier messages
// marked as earlier".
TEST_F(RecallE2E, ConnectingShowsWhatWasSaidBeforeAsEarlier)
{
  ASSERT_TRUE(server_.start()) << server_.error();
  peer bob;
  ASSERT_TRUE(bob.join(server_.port(), "bob"));
  for (const char* text : {"MSG first", "MSG second", "MSG third"})
    ASSERT_TRUE(bob.send(text));
  ASSERT_TRUE(bob.sync(5s));

  child alice = start("alice", server_.address());
  std::size_t at = seen(alice, "-- earlier messages --");
  for (const char* text : {"<bob> first", "<bob> second", "<bob> third", "-- now --"})
    at = seen(alice, text, at);
  ASSERT_TRUE(bob.send("MSG fourth"));
  seen(alice, "<bob> fourth", at);
  EXPECT_EQ(occurrences(alice.out(), "<bob> third"), 1u);

  // In colour the earlier lines are dimmed; live ones are not.
  child carol = start("carol", server_.address(), {});
  const std::size_t third = seen(carol, "<bob> third\x1b[0m");
  const std::size_t line = carol.out().rfind("\x1b[2m[", third);
  ASSERT_NE(line, std::string::npos);
  EXPECT_EQ(carol.out().find('\n', line), carol.out().find('\n', third - 1));
}

// "a client whose connection is cut while others talk reconnects and shows
// exactly the missed messages once and the "N missed" line".
TEST_F(RecallE2E, ReconnectionShowsExactlyWhatWasMissed)
{
  ASSERT_TRUE(server_.start()) << server_.error();
  child alice;
  peer bob;
  alice_through_relay(alice, bob);
  cut(alice, bob);
  ASSERT_TRUE(bob.send("MSG missed one"));
  ASSERT_TRUE(bob.send("MSG missed two"));
  ASSERT_TRUE(bob.sync(5s));
  const std::size_t mark = alice.out().size();
  ASSERT_TRUE(relay_.pass(server_.port(), 10s)) << "natter did not reconnect";
  std::size_t at = seen(alice, "-- missed while you were away --", mark);
  for (const char* text :
       {"<bob> missed one", "<bob> missed two", "-- now: missed 2 messages, 2 shown above --"})
    at = seen(alice, text, at);

  // Live again, her own messages included, each shown once.
  ASSERT_TRUE(alice.write("back now\r"));
  ASSERT_TRUE(bob.expect("MSG alice back now", 5s));
  ASSERT_TRUE(bob.send("MSG welcome back"));
  at = seen(alice, "<bob> welcome back", at);
  for (const char* text :
       {"<bob> before the cut", "<bob> missed one", "<bob> missed two", "<alice> back now"})
    EXPECT_EQ(occurrences(alice.out(), text), 1u) << text << " in:\n" << alice.out();
}

// "the gap case with a small --history so some missed messages are lost,
// and the line states how many were lost".
TEST_F(RecallE2E, ReconnectionCountsTheMessagesNoLongerKept)
{
  ASSERT_TRUE(server_.start(0, {"--history", "2"})) << server_.error();
  child alice;
  peer bob;
  alice_through_relay(alice, bob);
  cut(alice, bob);
  for (const char* text : {"MSG m1", "MSG m2", "MSG m3", "MSG m4", "MSG m5"})
    ASSERT_TRUE(bob.send(text));
  ASSERT_TRUE(bob.sync(5s));
  const std::size_t mark = alice.out().size();
  ASSERT_TRUE(relay_.pass(server_.port(), 10s)) << "natter did not reconnect";
  std::size_t at = seen(alice, "-- missed while you were away --", mark);
  for (const char* text :
       {"! 3 messages lost here: the server no longer keeps them", "<bob> m4", "<bob> m5",
        "! -- now: missed 5 messages, 2 shown above, 3 lost (the server keeps only the last 2) "
        "--"})
    at = seen(alice, text, at);
  EXPECT_EQ(alice.out().find("<bob> m3"), std::string::npos);
}

// Pipe mode shows no history on connecting: its stdout stays what was
// said while it ran.
TEST_F(RecallE2E, PipeModeShowsNoHistory)
{
  ASSERT_TRUE(server_.start()) << server_.error();
  peer bob;
  ASSERT_TRUE(bob.join(server_.port(), "bob"));
  ASSERT_TRUE(bob.send("MSG said before"));
  ASSERT_TRUE(bob.sync(5s));
  child c = child::spawn_piped({natter_path(), "--nick", "bot", server_.address()});
  ASSERT_TRUE(c.write("hello\n"));
  ASSERT_TRUE(bob.expect("MSG bot hello", 5s));
  ASSERT_TRUE(bob.send("MSG said after"));
  ASSERT_TRUE(c.wait_for("<bob> said after", 5s)) << c.out();
  c.close_stdin();
  EXPECT_EQ(c.wait(5s), 0);
  c.drain(5s);
  EXPECT_EQ(c.out().find("said before"), std::string::npos) << c.out();
  EXPECT_EQ(c.out().find("<bot> hello"), std::string::npos) << c.out();
}

} // namespace
} // namespace natter::test
