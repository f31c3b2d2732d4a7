// natterd's TLS port (spec 3.1) against clients over loopback: natter_tls's
// channel, openssl s_client, and raw sockets that stall or speak plain
// text. Certificates come from a CA made by each test.
#include "natterd_process.hpp"
#include "tls_client.hpp"

#include "support/test_pki.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace natter::test
{
namespace
{

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

class TlsPort : public ::testing::Test
{
protected:
  test_pki pki;
  issued pair = pki.issue("natterd");

  std::vector<std::string> tls_flags(std::vector<std::string> more = {}) const
  {
    std::vector<std::string> f{"--tls-port",       "0",         "--tls-cert",
                               pair.cert.string(), "--tls-key", pair.key.string()};
    f.insert(f.end(), more.begin(), more.end());
    return f;
  }

  tls_client::settings trusting() const
  {
    tls_client::settings s;
    s.ca = pki.ca_cert().string();
    return s;
  }

  /// A TLS client that registered as `nick`; its greeting is checked.
  std::unique_ptr<tls_client> registered_tls(const natterd_process& d, const std::string& nick,
                                             int rcvbuf = 0)
  {
    tls_client::settings s = trusting();
    s.rcvbuf = rcvbuf;
    auto c = std::make_unique<tls_client>(d.tls_port(), s);
    EXPECT_TRUE(c->established()) << c->error();
    EXPECT_EQ(c->line(), d.greeting());
    c->send("NICK " + nick + "\r\n");
    EXPECT_EQ(c->line(), "200 " + nick + " nick accepted");
    return c;
  }

  /// The serial number a new connection is served (hex, as OpenSSL says).
  std::string served_serial(const natterd_process& d)
  {
    tls_client c(d.tls_port(), trusting());
    return c.established() ? c.channel().peer_serial() : "<" + c.error() + ">";
  }
};

std::string hex(long n)
{
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lX", n);
  return buf;
}

// Plain and TLS clients share one room: the same greeting, events and
// messages either way [N-TLS-2, N-TLS-4, N-TLS-6].
TEST_F(TlsPort, PlainAndTlsClientsChatInOneRoom)
{
  natterd_process d(tls_flags());
  client alice = registered(d.chat_port(), "alice");
  auto bob = registered_tls(d, "bob");
  EXPECT_EQ(bob->channel().version(), "TLSv1.3");
  EXPECT_EQ(bob->channel().alpn(), "natter");
  EXPECT_EQ(bob->channel().peer_serial(), hex(pair.serial));
  EXPECT_EQ(alice.line(), "JOIN bob");
  alice.send("MSG hello over there\r\n");
  EXPECT_EQ(bob->line(), "MSG alice hello over there");
  bob->send("MSG und Über TLS ✓\r\nWHO\r\n");
  EXPECT_EQ(alice.line(), "MSG bob und Über TLS ✓");
  EXPECT_EQ(bob->sync(),
            (std::vector<std::string>{"211-alice", "211-bob", "211 2 users in the room"}));
  // A burst from the plain side reaches the TLS side whole and in order,
  // through records gathered from many lines.
  std::string burst;
  for (int i = 0; i < 300; ++i)
    burst += "MSG line " + std::to_string(i) + " " + std::string(100, 'x') + "\r\n";
  alice.send(burst);
  for (int i = 0; i < 300; ++i)
    ASSERT_EQ(bob->line(), "MSG alice line " + std::to_string(i) + " " + std::string(100, 'x'));
  EXPECT_EQ(alice.sync(), std::vector<std::string>{});
}

TEST_F(TlsPort, AClientOfferingNoAlpnIsServed)
{
  natterd_process d(tls_flags());
  tls_client::settings s = trusting();
  s.alpn = false;
  tls_client c(d.tls_port(), s);
  ASSERT_TRUE(c.established()) << c.error();
  EXPECT_EQ(c.channel().alpn(), "");
  EXPECT_EQ(c.line(), d.greeting());
}

// openssl s_client, as the README tells people to connect.
TEST_F(TlsPort, OpensslSClientChats)
{
  natterd_process d(tls_flags());
  int to_child[2];
  int from_child[2];
  ASSERT_EQ(::pipe2(to_child, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(from_child, O_CLOEXEC), 0);
  const std::string target = "127.0.0.1:" + std::to_string(d.tls_port());
  const std::string ca = pki.ca_cert().string();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0)
  {
    ::dup2(to_child[0], 0);
    ::dup2(from_child[1], 1);
    ::execlp("openssl", "openssl", "s_client", "-quiet", "-alpn", "natter", "-verify_return_error",
             "-verify_hostname", "localhost", "-CAfile", ca.c_str(), "-connect", target.c_str(),
             static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(to_child[0]);
  ::close(from_child[1]);
  std::string got;
  const auto read_until = [&](const std::string& what)
  {
    const auto until = steady::now() + 10s;
    while (got.find(what) == std::string::npos && steady::now() < until)
    {
      pollfd p{from_child[0], POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0)
        continue;
      char buf[512];
      const ssize_t n = ::read(from_child[0], buf, sizeof buf);
      if (n <= 0)
        break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got.find(what) != std::string::npos;
  };
  EXPECT_TRUE(read_until(d.greeting() + "\r\n")) << got;
  const std::string lines = "NICK carol\r\nQUIT\r\n";
  ASSERT_EQ(::write(to_child[1], lines.data(), lines.size()), static_cast<ssize_t>(lines.size()));
  EXPECT_TRUE(read_until("221 goodbye\r\n")) << got;
  EXPECT_NE(got.find("200 carol nick accepted\r\n"), std::string::npos) << got;
  ::close(to_child[1]);
  int status = -1;
  for (int i = 0; i < 100 && ::waitpid(pid, &status, WNOHANG) == 0; ++i)
    std::this_thread::sleep_for(50ms);
  if (::waitpid(pid, &status, WNOHANG) == 0)
  {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    ADD_FAILURE() << "s_client did not end after 221";
  }
  ::close(from_child[0]);
}

// QUIT: the final line, then close_notify, then the TCP close [N-TLS-9].
TEST_F(TlsPort, QuitEndsWithCloseNotify)
{
  natterd_process d(tls_flags());
  auto c = registered_tls(d, "dave");
  c->send("QUIT\r\n");
  EXPECT_EQ(c->line(), "221 goodbye");
  EXPECT_EQ(c->line(), "<closed>");
  EXPECT_TRUE(c->closed_by_notify());
}

// A client that sends its Finished, its lines and its close_notify in one
// write is served like a plain client whose lines come with its FIN.
TEST_F(TlsPort, LinesAndCloseNotifyWithTheFinishedAreServed)
{
  natterd_process d(tls_flags());
  client watcher = registered(d.chat_port(), "watcher");
  tls_client::settings s = trusting();
  s.with_finished = "NICK early\r\nMSG said at once\r\n";
  s.close_with_finished = true;
  tls_client c(d.tls_port(), s);
  ASSERT_TRUE(c.established()) << c.error();
  EXPECT_EQ(c.line(), d.greeting());
  EXPECT_EQ(c.line(), "200 early nick accepted");
  EXPECT_EQ(watcher.line(), "JOIN early");
  EXPECT_EQ(watcher.line(), "MSG early said at once");
  EXPECT_EQ(watcher.line(), "QUIT early connection closed");
}

// A handshake that never starts or stalls is closed at its deadline and
// holds no chat slot meanwhile [N-TLS-7].
TEST_F(TlsPort, AStalledHandshakeIsClosedAndHoldsNoChatSlot)
{
  natterd_process d(tls_flags({"--tls-handshake-timeout", "0.5", "--max-clients", "1"}));
  client silent("127.0.0.1", d.tls_port());
  // Half a ClientHello: the first 40 octets of a real one.
  tls::client_context ctx(tls::client_settings{false, {}});
  tls::channel hello(ctx.native(), tls::channel::role::client, "localhost");
  hello.connect();
  client stalled("127.0.0.1", d.tls_port());
  stalled.send(hello.pending().substr(0, 40));
  // Both handshakes are pending, and the one chat slot is still free.
  client plain = registered(d.chat_port(), "erin");
  EXPECT_EQ(plain.sync(), std::vector<std::string>{});
  EXPECT_TRUE(silent.closed_within(5s));
  EXPECT_TRUE(stalled.closed_within(5s));
  // The slot is taken now: a TLS client completes its handshake and is
  // told 503 over TLS (Section 10).
  tls_client late(d.tls_port(), trusting());
  ASSERT_TRUE(late.established()) << late.error();
  EXPECT_EQ(late.line(), "503 server full");
  EXPECT_EQ(late.line(), "<closed>");
}

// Plain text or HTTP on the TLS port: an alert, then the close; nothing
// of it is a command [N-TLS-8].
TEST_F(TlsPort, PlainTextOrHttpGetsAnAlert)
{
  natterd_process d(tls_flags());
  client watcher = registered(d.chat_port(), "frank");
  for (const std::string text : {"NICK mallory\r\nMSG hi\r\n", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"})
  {
    client c("127.0.0.1", d.tls_port());
    c.send(text);
    const std::string got = c.read_bytes(7, 5s);
    ASSERT_EQ(got.size(), 7u) << text;
    EXPECT_EQ(got[0], '\x15') << "a TLS alert record";
    EXPECT_EQ(got[5], '\x02') << "fatal";
    EXPECT_TRUE(c.closed_within(5s));
  }
  EXPECT_EQ(watcher.sync(), std::vector<std::string>{}) << "no JOIN, no MSG";
}

// The per-address limit counts the TCP peer on both ports [N-TLS-2].
TEST_F(TlsPort, LimitsCountTheRealPeer)
{
  natterd_process d(tls_flags({"--max-per-ip", "1", "--no-loopback-exempt"}));
  auto first = registered_tls(d, "gina");
  tls_client second(d.tls_port(), trusting());
  ASSERT_TRUE(second.established()) << second.error();
  EXPECT_EQ(second.line(), "504 too many connections from your address");
  client plain("127.0.0.1", d.chat_port());
  EXPECT_EQ(plain.line(), "504 too many connections from your address");
  EXPECT_EQ(first->sync(), std::vector<std::string>{});
}

// Start: a pair that cannot be served stops natterd, naming the flag.
TEST_F(TlsPort, StartRefusesAPairThatCannotBeServed)
{
  const std::string base = "--chat-port 0 --echo-port off --tls-port 0 ";
  run_result r = run_natterd(base + "--tls-cert " + (pki.dir() / "none.crt").string() +
                             " --tls-key " + pair.key.string());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("natterd: --tls-cert: cannot read"), std::string::npos) << r.output;
  pki.write_unrelated_key(pki.dir() / "other.key");
  r = run_natterd(base + "--tls-cert " + pair.cert.string() + " --tls-key " +
                  (pki.dir() / "other.key").string());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("natterd: --tls-key: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("does not match"), std::string::npos) << r.output;
  r = run_natterd(base + "--tls-cert " + pair.cert.string());
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("--tls-key"), std::string::npos) << r.output;
}

// Reload by SIGHUP and by a change on disk under 200 live TLS connections:
// none is dropped, new connections get the new certificate [N-TLS-11].
TEST_F(TlsPort, ReloadBySignalAndByFileChangeDropsNoOne)
{
  natterd_process d(tls_flags({"--tls-check-interval", "0.2", "--log-level", "info"}), 0, true);
  std::vector<std::unique_ptr<tls_client>> live;
  for (int i = 0; i < 200; ++i)
    live.push_back(registered_tls(d, "u" + std::to_string(i)));
  const auto all_alive = [&]
  {
    for (auto& c : live)
    {
      const std::vector<std::string> got = c->sync();
      // Each sees the JOINs of those after it; nothing else, and the PONG.
      for (const std::string& l : got)
        if (!l.starts_with("JOIN u"))
          return false;
      if (c->line(0ms) == "<closed>")
        return false;
    }
    return true;
  };
  ASSERT_TRUE(all_alive());

  test_pki::leaf next;
  next.serial = 7001;
  pki.issue("natterd", next); // the same paths, written over
  d.signal(SIGHUP);
  // The reload is done once a new connection sees the new serial; the
  // check interval could beat the signal to it, so the log says which.
  std::string serial;
  for (const auto until = steady::now() + 10s; steady::now() < until;)
    if ((serial = served_serial(d)) == hex(7001))
      break;
  EXPECT_EQ(serial, hex(7001));
  EXPECT_TRUE(all_alive());

  next.serial = 7002;
  pki.issue("natterd", next);
  for (const auto until = steady::now() + 10s; steady::now() < until;)
    if ((serial = served_serial(d)) == hex(7002))
      break;
  EXPECT_EQ(serial, hex(7002));
  EXPECT_NE(d.log().find("tls: reloaded (file change): serving certificate serial " + hex(7002)),
            std::string::npos)
      << d.log();
  EXPECT_TRUE(all_alive());
}

// A pair that fails a check is not served: the old one stays, one log line
// says why, and the failures are counted [N-TLS-12].
TEST_F(TlsPort, AFailedReloadKeepsTheOldPair)
{
  natterd_process d(tls_flags(), 0, true);
  auto alice = registered_tls(d, "alice");
  // A key that does not match the certificate.
  pki.write_unrelated_key(pair.key);
  d.signal(SIGHUP);
  for (const auto until = steady::now() + 10s;
       steady::now() < until && d.log().find("(failure 1)") == std::string::npos;)
    std::this_thread::sleep_for(20ms);
  EXPECT_NE(d.log().find("tls: reload (SIGHUP) failed, still serving certificate serial " +
                         hex(pair.serial)),
            std::string::npos)
      << d.log();
  EXPECT_NE(d.log().find("does not match"), std::string::npos) << d.log();
  EXPECT_EQ(served_serial(d), hex(pair.serial));
  // An expired certificate, with its own key.
  test_pki::leaf old;
  old.valid_from = -48h;
  old.valid_for = 24h;
  old.serial = 7100;
  pki.issue("natterd", old);
  d.signal(SIGHUP);
  for (const auto until = steady::now() + 10s;
       steady::now() < until && d.log().find("(failure 2)") == std::string::npos;)
    std::this_thread::sleep_for(20ms);
  EXPECT_NE(d.log().find("the certificate expired at"), std::string::npos) << d.log();
  EXPECT_EQ(served_serial(d), hex(pair.serial));
  EXPECT_EQ(alice->sync(), std::vector<std::string>{});
}

// A session ticket natterd issued before a certificate reload resumes after
// it: the ticket keys belong to the process, not to a pair [N-TLS-11].
TEST_F(TlsPort, ATicketFromBeforeAReloadStillResumes)
{
  natterd_process d(tls_flags({"--log-level", "info"}), 0, true);
  const auto session_of = [&](SSL_SESSION* offer, bool& resumed)
  {
    tls_client::settings s = trusting();
    s.resume = offer;
    tls_client c(d.tls_port(), s);
    EXPECT_TRUE(c.established()) << c.error();
    EXPECT_EQ(c.line(), d.greeting());
    EXPECT_TRUE(c.sync().empty()); // TLS 1.3's tickets have come by the PONG
    resumed = c.channel().resumed();
    // A copy: OpenSSL marks a connection's own session not resumable when
    // the connection is freed without a close_notify, as this one is.
    SSL_SESSION* own = c.channel().session();
    SSL_SESSION* copy = own != nullptr ? SSL_SESSION_dup(own) : nullptr;
    SSL_SESSION_free(own);
    return std::unique_ptr<SSL_SESSION, decltype(&SSL_SESSION_free)>(copy, SSL_SESSION_free);
  };
  bool resumed = true;
  auto first = session_of(nullptr, resumed);
  EXPECT_FALSE(resumed);
  ASSERT_EQ(SSL_SESSION_is_resumable(first.get()), 1);
  // Before a reload, as always (a TLS 1.3 client offers a ticket once: the
  // next offer is the ticket this connection got).
  auto second = session_of(first.get(), resumed);
  EXPECT_TRUE(resumed);
  test_pki::leaf next;
  next.serial = 7400;
  pki.issue("natterd", next);
  d.signal(SIGHUP);
  ASSERT_TRUE(d.wait_log("tls: reloaded (SIGHUP)")) << d.log();
  EXPECT_EQ(served_serial(d), hex(7400));
  (void)session_of(second.get(), resumed);
  EXPECT_TRUE(resumed);
}

// With --config, a SIGHUP takes --tls-cert and --tls-key from the file read
// again: a new pair of files is served once it loads, one that fails keeps
// the old files and pair, and no one is dropped [N-SHUT-16, N-TLS-11, N-TLS-12].
TEST_F(TlsPort, AReloadedConfigFileCanNameANewPair)
{
  const std::filesystem::path file = pki.dir() / "natterd.conf";
  const auto names = [&](const issued& p)
  {
    std::ofstream(file) << "tls-cert = \"" << p.cert.string() << "\"\ntls-key = \""
                        << p.key.string() << "\"\nlog-level = \"info\"\n";
  };
  names(pair);
  natterd_process d({"--tls-port", "0", "--config", file.string()}, 0, true);
  auto alice = registered_tls(d, "alice");
  test_pki::leaf next;
  next.serial = 7200;
  const issued other = pki.issue("other", next);
  names(other);
  d.signal(SIGHUP);
  ASSERT_TRUE(d.wait_log("tls: reloaded (SIGHUP)")) << d.log();
  EXPECT_NE(d.log().find("SIGHUP: --tls-cert is now " + other.cert.string() + " (was " +
                         pair.cert.string() + ")"),
            std::string::npos)
      << d.log();
  EXPECT_EQ(served_serial(d), hex(7200));
  // A pair whose key does not match: the files of 7200 stay in use.
  test_pki::leaf worse;
  worse.serial = 7300;
  issued bad = pki.issue("bad", worse);
  pki.write_unrelated_key(bad.key);
  names(bad);
  d.signal(SIGHUP);
  ASSERT_TRUE(d.wait_log("(failure 1)")) << d.log();
  EXPECT_EQ(served_serial(d), hex(7200));
  EXPECT_EQ(alice->sync(), std::vector<std::string>{});
}

// A TLS client that stops reading is dropped like a plain one (524 to the
// room, then a reset at its flush deadline); the others get every message
// [N-TLS-2, N-SLOW-2, N-SLOW-6].
TEST_F(TlsPort, ANonReaderIsDroppedAndTheRoomGoesOn)
{
  natterd_process d(tls_flags({"--rate", "0"}));
  // A small receive buffer, so that what natterd's kernel holds for the
  // zombie fills, as in Bounds.DroppedNonReaderIsClosedAndHoldsNoLog.
  auto zombie = registered_tls(d, "zombie", 4096);
  auto reader = registered_tls(d, "reader");
  client talker = registered(d.chat_port(), "talker");
  reader->sync();
  std::string batch;
  for (int i = 0; i < 100; ++i)
    batch += "MSG " + std::string(1000, 'z') + "\r\n";
  std::size_t received = 0;
  bool dropped = false;
  for (int round = 0; round < 40 && !dropped; ++round)
  {
    talker.send(batch);
    talker.sync();
    for (const std::string& l : reader->sync())
    {
      received += l.starts_with("MSG talker ");
      dropped = dropped || l == "QUIT zombie send queue exceeded";
    }
  }
  EXPECT_TRUE(dropped);
  EXPECT_EQ(received % 100, 0u);
  EXPECT_GT(received, 0u);
  // Reset at the flush deadline, not left open.
  pollfd p{zombie->fd(), 0, 0};
  EXPECT_GT(::poll(&p, 1, 10000), 0);
  EXPECT_NE(p.revents & (POLLERR | POLLHUP), 0);
}

// 1,000 TLS connections opened, registered and closed leave no descriptor
// and no memory behind.
TEST_F(TlsPort, ConnectDisconnectCyclesLeakNothing)
{
  natterd_process d(tls_flags());
  const auto cycle = [&](int i)
  {
    auto c = registered_tls(d, "c" + std::to_string(i % 100));
    c->send("QUIT\r\n");
    EXPECT_EQ(c->line(), "221 goodbye");
    EXPECT_EQ(c->line(), "<closed>");
  };
  for (int i = 0; i < 100; ++i)
    cycle(i);
  client witness = registered(d.chat_port(), "witness");
  witness.sync();
  const int fds = d.open_fds();
  const long rss = d.rss_kib();
  for (int i = 0; i < 1000; ++i)
    cycle(i);
  witness.sync();
  // Closes are logged before the descriptor goes: wait for it, bounded.
  for (const auto until = steady::now() + 5s; steady::now() < until && d.open_fds() > fds;)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(d.open_fds(), fds);
  NATTER_EXPECT_RSS_GROWTH_BELOW(d, rss, 4096);
}

} // namespace
} // namespace natter::test
