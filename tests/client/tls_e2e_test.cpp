// natter --tls against natterd's TLS port (spec 3.1), with certificates
// from a CA each test makes (test_pki): verification of the chain and the
// name [N-TLS-10], a failed handshake never retried [N-TLS-13], and the
// chat over TLS with a plain client in the same room [N-TLS-2].
#include "support/process.hpp"
#include "support/test_pki.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

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

class Tls : public ::testing::Test
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
TEST_F(Tls, ChatsWithAPlainClientInOneRoom)
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
TEST_F(Tls, TerminalSaysItIsOverTls)
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
TEST_F(Tls, CertificateForAnotherNameIsRefused)
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
TEST_F(Tls, UntrustedCaIsRefused)
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
TEST_F(Tls, PlainPortIsAFailedHandshake)
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
TEST_F(Tls, InsecureConnectsAndWarns)
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
TEST_F(Tls, TlsOptionsWithoutTlsAreUsageErrors)
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
TEST_F(Tls, UnusableCaFileExitsOne)
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
TEST_F(Tls, FailedHandshakeOnReconnectionIsNotRetried)
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
TEST_F(Tls, ReconnectionResumesTheSession)
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

} // namespace
} // namespace natter::test
