// natter --tls against natterd's TLS port (spec 3.1), with certificates
// from a CA each test makes (test_pki): verification of the chain and the
// name [N-TLS-10], a failed handshake never retried [N-TLS-13], and the
// chat over TLS with a plain client in the same room [N-TLS-2]. Where the
// server's side must do what natterd never does, the test speaks for it
// over natter_tls's channel.
#include "support/process.hpp"
#include "support/test_pki.hpp"

#include "natter/tls/channel.hpp"
#include "natter/tls/context.hpp"

#include <gtest/gtest.h>

#include <openssl/ssl.h>

#include <algorithm>
#include <fstream>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace natter::test
{
namespace
{

using lines = std::vector<std::string>;

/// Lines of `text` (each ended by LF).
std::size_t count_lines(const std::string& text)
{
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

/// The server's side of one TLS connection, spoken by the test: a socket
/// accepted on loopback and natter_tls's channel in the server role.
/// Every call waits at most its timeout.
class tls_server_side
{
public:
  tls_server_side(int fd, const tls::server_context& ctx)
      : fd_(fd), channel_(ctx.native(), tls::channel::role::server)
  {
  }
  tls_server_side(const tls_server_side&) = delete;
  tls_server_side& operator=(const tls_server_side&) = delete;
  ~tls_server_side() { ::close(fd_); }

  /// True once the handshake is complete.
  bool handshake(ms timeout)
  {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!channel_.established() && pump(deadline))
    {
    }
    return channel_.established();
  }

  /// Encrypts and sends `line` plus CRLF.
  bool send(const std::string& line)
  {
    channel_.encrypt(line + "\r\n");
    return flush();
  }

  /// Sends `line` plus CRLF in the same write as the end of the server's
  /// handshake (so the client takes both in one read, when its handshake
  /// ends last, as in TLS 1.2).
  void send_with_handshake(const std::string& line) { early_ = line + "\r\n"; }

  /// Sends a close_notify and keeps the TCP connection open.
  bool close_notify()
  {
    channel_.close_notify();
    return flush();
  }

  /// The next line without CRLF, or nullopt when none came in time or the
  /// connection ended (notified() tells whether by a close_notify).
  std::optional<std::string> read_line(ms timeout)
  {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;)
    {
      if (const std::size_t lf = plain_.find("\r\n"); lf != std::string::npos)
      {
        std::string line = plain_.substr(0, lf);
        plain_.erase(0, lf + 2);
        return line;
      }
      if (!pump(deadline))
        return std::nullopt;
    }
  }

  bool notified() const noexcept { return notified_; }
  tls::channel& channel() noexcept { return channel_; }

private:
  // Reads once by `deadline` and answers what the channel has to send;
  // false when time ran out or the connection ended or failed.
  bool pump(std::chrono::steady_clock::time_point deadline)
  {
    const auto left = std::chrono::duration_cast<ms>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd_, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      return false;
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0)
      return false;
    const auto status = channel_.receive(std::string_view(buf, static_cast<std::size_t>(n)),
                                         [this](std::string_view plain) { plain_.append(plain); });
    notified_ = notified_ || status == tls::channel::status::closed;
    if (channel_.established() && !early_.empty())
    {
      channel_.encrypt(early_);
      early_.clear();
    }
    return flush() && status == tls::channel::status::ok;
  }

  bool flush()
  {
    while (!channel_.pending().empty())
    {
      const ssize_t n =
          ::send(fd_, channel_.pending().data(), channel_.pending().size(), MSG_NOSIGNAL);
      if (n <= 0)
        return false;
      channel_.sent(static_cast<std::size_t>(n));
    }
    return true;
  }

  int fd_;
  tls::channel channel_;
  std::string plain_;
  std::string early_;
  bool notified_ = false;
};

class TlsE2E : public ::testing::Test
{
protected:
  void SetUp() override
  {
    if (natterd_path().empty())
      GTEST_SKIP() << "natterd is not built";
  }

  /// natterd's flags for a TLS port serving `pair`, on `port` (0: ephemeral).
  static std::vector<std::string> tls_flags(const issued& pair, std::uint16_t port = 0)
  {
    return {"--tls-port",       std::to_string(port), "--tls-cert",
            pair.cert.string(), "--tls-key",          pair.key.string()};
  }

  /// natterd with a TLS port serving `pair`.
  void start_server(const issued& pair)
  {
    ASSERT_TRUE(server_.start(0, tls_flags(pair))) << server_.error();
    ASSERT_NE(server_.tls_port(), 0);
  }

  /// natter in a pipe: `args`, then `address`; stdin left open.
  child pipe(const std::vector<std::string>& args, const std::string& address)
  {
    std::vector<std::string> argv = {natter_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(address);
    return child::spawn_piped(argv, {"HOME=" + home_.path()});
  }

  /// Writes `input` to natter `c`, ends its input and waits for it to exit
  /// 0; returns what `watcher` saw before the QUIT of `nick`.
  static lines posted(child& c, peer& watcher, const std::string& nick, std::string_view input)
  {
    EXPECT_TRUE(c.write(input));
    c.close_stdin();
    EXPECT_EQ(c.wait(10s), 0);
    lines seen;
    EXPECT_TRUE(watcher.expect("QUIT " + nick, 5s, &seen));
    c.drain(2s);
    return seen;
  }

  /// natter in a pipe with `args` that must be refused: it exits 1 with
  /// one line on stderr, prints nothing on stdout, and no nick joins the
  /// room (a plain client there sees nothing up to its PING barrier).
  std::string refused(const std::vector<std::string>& args, const std::string& address)
  {
    peer watcher;
    EXPECT_TRUE(watcher.join(server_.port(), "watcher"));
    child c = pipe(args, address);
    c.close_stdin();
    EXPECT_EQ(c.wait(10s), 1);
    c.drain(2s);
    EXPECT_EQ(count_lines(c.err()), 1u) << c.err();
    EXPECT_EQ(c.out(), "");
    lines seen;
    EXPECT_TRUE(watcher.sync(5s, &seen));
    EXPECT_EQ(seen, lines{});
    return c.err();
  }

  test_pki pki_;
  server server_;
  temp_dir home_;
};

// "natter verifies against [...] --tls-ca FILE" [N-TLS-10], and the TLS
// port serves the room of the plain port [N-TLS-2]: a plain client and
// natter over TLS talk both ways; at end of input natter quits cleanly.
TEST_F(TlsE2E, ChatsWithAPlainClientInOneRoom)
{
  start_server(pki_.issue("natterd"));
  peer bob;
  ASSERT_TRUE(bob.join(server_.port(), "bob"));
  child alice = pipe({"--nick", "alice", "--tls", "--tls-ca", pki_.ca_cert().string()},
                     server_.tls_address());
  ASSERT_TRUE(bob.expect("JOIN alice", 10s));
  ASSERT_TRUE(bob.send("MSG hello alice, over there in TLS"));
  ASSERT_TRUE(alice.wait_for("<bob> hello alice, over there in TLS\n", 5s)) << alice.out();
  EXPECT_EQ(posted(alice, bob, "alice", "hello bob\nand a second line\n"),
            (lines{"MSG alice hello bob", "MSG alice and a second line"}));
  EXPECT_EQ(alice.err(), "");
}

// The same on a terminal: the status line names the TLS version, and what
// is typed reaches the plain client.
TEST_F(TlsE2E, TerminalSaysItIsOverTls)
{
  start_server(pki_.issue("natterd"));
  peer bob;
  ASSERT_TRUE(bob.join(server_.port(), "bob"));
  child alice = child::spawn_pty({natter_path(), "--nick", "alice", "--no-color", "--tls",
                                  "--tls-ca", pki_.ca_cert().string(), server_.tls_address()},
                                 {"HOME=" + home_.path()});
  ASSERT_TRUE(alice.wait_for("connected to " + server_.tls_address() + " over TLSv1.", 10s))
      << alice.out();
  ASSERT_TRUE(alice.wait_for("you are alice", 10s)) << alice.out();
  ASSERT_TRUE(alice.write("typed over TLS\r"));
  EXPECT_TRUE(bob.expect("MSG alice typed over TLS", 5s));
  ASSERT_TRUE(alice.write("/quit\r"));
  EXPECT_EQ(alice.wait(5s), 0);
}

// A certificate for another name is refused: "verify [...] the server's
// host name against the certificate" [N-TLS-10]; one line, exit 1, and
// not retried [N-TLS-13]. By name and by address literal.
TEST_F(TlsE2E, CertificateForAnotherNameIsRefused)
{
  test_pki::leaf other;
  other.dns = {"other.example"};
  other.ips = {"192.0.2.1"};
  start_server(pki_.issue("natterd", other));
  const std::vector<std::string> args = {"--nick", "alice", "--tls", "--tls-ca",
                                         pki_.ca_cert().string()};
  EXPECT_EQ(refused(args, server_.tls_address()),
            "natter: TLS: certificate verify failed: hostname mismatch (" + server_.tls_address() +
                ")\n");
  EXPECT_EQ(refused(args, server_.tls_address("127.0.0.1")),
            "natter: TLS: certificate verify failed: IP address mismatch (" +
                server_.tls_address("127.0.0.1") + ")\n");
}

// A chain that does not lead to a trusted CA is refused: the system's
// store knows no test CA, and another test CA is not this one [N-TLS-10].
TEST_F(TlsE2E, UntrustedCaIsRefused)
{
  start_server(pki_.issue("natterd"));
  const std::string system_store = refused({"--nick", "alice", "--tls"}, server_.tls_address());
  EXPECT_EQ(system_store.rfind("natter: TLS: certificate verify failed: ", 0), 0u) << system_store;
  test_pki stranger("another test CA");
  const std::string other_ca = refused(
      {"--nick", "alice", "--tls", "--tls-ca", stranger.ca_cert().string()}, server_.tls_address());
  EXPECT_EQ(other_ca.rfind("natter: TLS: certificate verify failed: ", 0), 0u) << other_ca;
}

// A port that does not speak TLS (natterd's plain port greets in text) is
// a failed handshake too: one line, exit 1, no retry, nothing shown.
TEST_F(TlsE2E, PlainPortIsAFailedHandshake)
{
  start_server(pki_.issue("natterd"));
  const std::string err = refused({"--nick", "alice", "--tls", "--tls-ca", pki_.ca_cert().string()},
                                  "localhost:" + std::to_string(server_.port()));
  EXPECT_EQ(err.rfind("natter: TLS: ", 0), 0u) << err;
  EXPECT_EQ(err.find("220"), std::string::npos) << err;
}

// "--tls-insecure turns verification off and says so": a certificate for
// another name from an unknown CA is taken, with a warning on stderr in a
// pipe (once) and as a status line on a terminal.
TEST_F(TlsE2E, InsecureConnectsAndWarns)
{
  test_pki::leaf other;
  other.dns = {"other.example"};
  other.ips = {};
  start_server(pki_.issue("natterd", other));
  peer bob;
  ASSERT_TRUE(bob.join(server_.port(), "bob"));
  child piped = pipe({"--nick", "alice", "--tls", "--tls-insecure"}, server_.tls_address());
  EXPECT_EQ(posted(piped, bob, "alice", "unverified but here\n"),
            (lines{"JOIN alice", "MSG alice unverified but here"}));
  EXPECT_EQ(piped.err(),
            "natter: warning: the server's certificate is not verified (--tls-insecure)\n");

  child term = child::spawn_pty({natter_path(), "--nick", "carol", "--no-color", "--tls",
                                 "--tls-insecure", server_.tls_address()},
                                {"HOME=" + home_.path()});
  ASSERT_TRUE(
      term.wait_for("warning: the server's certificate is not verified (--tls-insecure)", 10s))
      << term.out();
  ASSERT_TRUE(term.wait_for("you are carol", 10s)) << term.out();
  ASSERT_TRUE(term.write("/quit\r"));
  EXPECT_EQ(term.wait(5s), 0);
}

// "Exit status [...] 2 usage error": the TLS options need --tls, and a CA
// to trust contradicts not verifying. Nothing is connected to.
TEST_F(TlsE2E, TlsOptionsWithoutTlsAreUsageErrors)
{
  const std::string ca = pki_.ca_cert().string();
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--tls-ca", ca},
                                               {"--tls-insecure"},
                                               {"--tls", "--tls-insecure", "--tls-ca", ca}})
  {
    std::vector<std::string> argv = {natter_path(), "--nick", "alice"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("127.0.0.1:1");
    child c = child::spawn_piped(argv);
    c.close_stdin();
    EXPECT_EQ(c.wait(10s), 2) << args[0];
    c.drain(2s);
    EXPECT_EQ(count_lines(c.err()), 1u) << c.err();
    EXPECT_EQ(c.err().rfind("natter: --tls", 0), 0u) << c.err();
    EXPECT_EQ(c.out(), "");
  }
}

// A --tls-ca that cannot be used ends natter before it connects, as an
// unusable --tls-cert ends natterd: status 1, one line naming the flag and
// the file (README, "TLS").
TEST_F(TlsE2E, UnusableCaFileExitsOne)
{
  const std::string missing = home_.path() + "/no-such-ca.pem";
  const std::string not_pem = home_.path() + "/not-a-ca.pem";
  std::ofstream(not_pem) << "not a certificate\n";
  for (const std::string& file : {missing, not_pem})
  {
    child c = child::spawn_piped({natter_path(), "--tls", "--tls-ca", file, "127.0.0.1:1"});
    c.close_stdin();
    EXPECT_EQ(c.wait(10s), 1) << file;
    c.drain(2s);
    EXPECT_EQ(count_lines(c.err()), 1u) << c.err();
    EXPECT_EQ(c.err().rfind("natter: --tls-ca: cannot ", 0), 0u) << c.err();
    EXPECT_NE(c.err().find(file), std::string::npos) << c.err();
  }
}

// A handshake that fails on a reconnection is not retried either
// [N-TLS-13]: natterd comes back on the same port with a certificate for
// another name, and natter stops at its first try with the reason instead
// of giving up after its reconnections.
TEST_F(TlsE2E, FailedHandshakeOnReconnectionIsNotRetried)
{
  const reserved_port held;
  ASSERT_NE(held.port(), 0) << "cannot reserve a port";
  ASSERT_TRUE(server_.start(0, tls_flags(pki_.issue("natterd"), held.port()))) << server_.error();
  peer bob;
  ASSERT_TRUE(bob.join(server_.port(), "bob"));
  child alice = pipe({"--nick", "alice", "--tls", "--tls-ca", pki_.ca_cert().string()},
                     "localhost:" + std::to_string(held.port()));
  ASSERT_TRUE(bob.expect("JOIN alice", 10s));
  server_.stop();
  test_pki::leaf other;
  other.dns = {"other.example"};
  other.ips = {};
  ASSERT_TRUE(server_.start(0, tls_flags(pki_.issue("other", other), held.port())))
      << server_.error();
  EXPECT_EQ(alice.wait(20s), 1);
  alice.drain(2s);
  // Before it, only natterd's 521 as it went down.
  const std::string refusal =
      "natter: TLS: certificate verify failed: hostname mismatch (localhost:" +
      std::to_string(held.port()) + ")\n";
  ASSERT_GE(alice.err().size(), refusal.size()) << alice.err();
  EXPECT_EQ(alice.err().substr(alice.err().size() - refusal.size()), refusal) << alice.err();
  EXPECT_EQ(alice.err().find("giving up"), std::string::npos) << alice.err();
}

// A reconnection offers the previous connection's session, which natterd
// resumes (spec 3.1: natterd "sends TLS 1.3 session tickets so that
// clients can resume"). natterd's idle timeout ends the first connection.
TEST_F(TlsE2E, ReconnectionResumesTheSession)
{
  const issued pair = pki_.issue("natterd");
  std::vector<std::string> flags = tls_flags(pair);
  flags.insert(flags.end(), {"--idle-timeout", "1"});
  ASSERT_TRUE(server_.start(0, flags)) << server_.error();
  child alice = child::spawn_pty({natter_path(), "--nick", "alice", "--no-color", "--tls",
                                  "--tls-ca", pki_.ca_cert().string(), server_.tls_address()},
                                 {"HOME=" + home_.path()});
  const std::string connected = "connected to " + server_.tls_address() + " over TLSv1.3";
  const auto first = alice.wait_for(connected + "\r\n", 10s);
  ASSERT_TRUE(first) << alice.out();
  ASSERT_TRUE(alice.wait_for(connected + ", resumed", 10s, *first)) << alice.out();
  ASSERT_TRUE(alice.write("/quit\r"));
  EXPECT_EQ(alice.wait(5s), 0);
}

/// natter over TLS to a server the test speaks for (tls_server_side), with
/// a certificate from the fixture's CA.
class TlsE2EPeer : public TlsE2E
{
protected:
  void SetUp() override { ASSERT_NE(listener_.port(), 0) << "cannot listen on loopback"; }

  std::string address() const { return "127.0.0.1:" + std::to_string(listener_.port()); }

  /// natter's connection, accepted, before its handshake.
  std::unique_ptr<tls_server_side> accept()
  {
    const int fd = listener_.accept(10s);
    EXPECT_NE(fd, -1) << "natter did not connect";
    return fd == -1 ? nullptr : std::make_unique<tls_server_side>(fd, *context_);
  }

  loopback_listener listener_;
  std::shared_ptr<const tls::server_context> context_ = [this]
  {
    const issued pair = pki_.issue("peer");
    return tls::server_context::load(pair.cert.string(), pair.key.string());
  }();
};

// "A natter client SHOULD offer `natter`" [N-TLS-5]; and a close_notify
// from the server ends the connection as EOF does (spec 9.5), even while
// the TCP connection stays open: natter answers with its own close_notify
// and closes.
TEST_F(TlsE2EPeer, OffersAlpnAndTakesCloseNotifyAsTheEnd)
{
  child alice =
      pipe({"--nick", "alice", "--tls", "--tls-ca", pki_.ca_cert().string(), "--no-reconnect"},
           address());
  const auto side = accept();
  ASSERT_TRUE(side);
  ASSERT_TRUE(side->handshake(10s)) << side->channel().error();
  EXPECT_EQ(side->channel().alpn(), "natter");
  ASSERT_TRUE(side->send("220 natter/1 ready"));
  ASSERT_EQ(side->read_line(10s), "NICK alice");
  ASSERT_TRUE(side->send("200 alice nick accepted"));
  ASSERT_TRUE(side->close_notify());
  EXPECT_EQ(alice.wait(10s), 1);
  EXPECT_EQ(side->read_line(5s), std::nullopt);
  EXPECT_TRUE(side->notified());
  alice.drain(2s);
  EXPECT_EQ(alice.err(),
            "natter: giving up on " + address() + ": connection lost: closed by the server\n");
}

// In TLS 1.2 the server's Finished ends the handshake, and the greeting
// can come in the same read: natter takes the connection as made before
// it reads the greeting, so the greeting's line advert holds (taken the
// other way round, connecting would reset the limit to 32 octets, N-CONN-13,
// and natter would refuse to send the long line).
TEST_F(TlsE2EPeer, GreetingInTheReadThatEndsTheHandshake)
{
  child alice = pipe({"--nick", "alice", "--tls", "--tls-ca", pki_.ca_cert().string()}, address());
  const auto side = accept();
  ASSERT_TRUE(side);
  SSL_set_max_proto_version(side->channel().native(), TLS1_2_VERSION);
  side->send_with_handshake("220 natter/1 line=1024 ready");
  ASSERT_TRUE(side->handshake(10s)) << side->channel().error();
  EXPECT_EQ(side->channel().version(), "TLSv1.2");
  ASSERT_EQ(side->read_line(10s), "NICK alice");
  ASSERT_TRUE(side->send("200 alice nick accepted"));
  const std::string long_line(100, 'x');
  ASSERT_TRUE(alice.write(long_line + "\n"));
  EXPECT_EQ(side->read_line(10s), "MSG " + long_line);
}

// The handshake is bounded as the connect is: in a pipe by --timeout. A
// server that takes the ClientHello and answers nothing is given up on.
TEST_F(TlsE2EPeer, SilentHandshakeIsBoundedByTheTimeout)
{
  child alice =
      pipe({"--nick", "alice", "--tls", "--tls-ca", pki_.ca_cert().string(), "--timeout", "1"},
           address());
  const int fd = listener_.accept(10s);
  ASSERT_NE(fd, -1) << "natter did not connect";
  EXPECT_EQ(alice.wait(10s), 1);
  ::close(fd);
  alice.drain(2s);
  EXPECT_EQ(alice.err(), "natter: giving up on " + address() + ": no answer for 1 s\n");
}

} // namespace
} // namespace natter::test
