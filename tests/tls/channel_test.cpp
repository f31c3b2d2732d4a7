// natter_tls's channel and contexts, with no socket: a client and a server
// channel hand each other their ciphertext in memory, on certificates made
// by the test.
#include "natter/tls/channel.hpp"
#include "natter/tls/context.hpp"

#include "support/test_pki.hpp"

#include <gtest/gtest.h>

#include <openssl/ssl.h>

#include <cstdint>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace
{

using natter::test::issued;
using natter::test::test_pki;
using natter::tls::channel;
using natter::tls::client_context;
using natter::tls::client_settings;
using natter::tls::load_error;
using natter::tls::server_context;

// Moves what each side has pending to the other until neither has any;
// returns false when a side failed or closed.
struct pair_of_channels
{
  pair_of_channels(channel& c, channel& s) : client(c), server(s) {}
  channel& client;
  channel& server;
  std::string client_got;
  std::string server_got;
  channel::status client_status = channel::status::ok;
  channel::status server_status = channel::status::ok;

  void pump()
  {
    for (int round = 0; round < 20; ++round)
    {
      const std::string to_server(client.pending());
      client.sent(to_server.size());
      const std::string to_client(server.pending());
      server.sent(to_client.size());
      if (to_server.empty() && to_client.empty())
        return;
      if (!to_server.empty() && server_status == channel::status::ok)
        server_status = server.receive(to_server, [this](std::string_view p) { server_got += p; });
      if (!to_client.empty() && client_status == channel::status::ok)
        client_status = client.receive(to_client, [this](std::string_view p) { client_got += p; });
    }
    FAIL() << "the channels kept talking";
  }
};

// A client and a server channel with their handshake done (or failed).
struct linked
{
  linked(SSL_CTX* server_ctx, SSL_CTX* client_ctx, const std::string& host)
      : s(server_ctx, channel::role::server), c(client_ctx, channel::role::client, host), p(c, s)
  {
    c.connect();
    p.pump();
  }
  channel s;
  channel c;
  pair_of_channels p;
};

// The TLS records in `cipher`: (content type, length) of each.
std::vector<std::pair<int, std::size_t>> records(std::string_view cipher)
{
  std::vector<std::pair<int, std::size_t>> out;
  while (cipher.size() >= 5)
  {
    const auto len = static_cast<std::size_t>(static_cast<std::uint8_t>(cipher[3]) << 8 |
                                              static_cast<std::uint8_t>(cipher[4]));
    out.emplace_back(static_cast<std::uint8_t>(cipher[0]), len);
    cipher.remove_prefix(std::min(cipher.size(), 5 + len));
  }
  return out;
}

// encrypt() takes any sequence of structs with `data` and `size` members;
// a string is one span of plaintext, not a sequence of pieces.
struct any_piece
{
  const char* data;
  std::size_t size;
};
static_assert(natter::tls::plain_pieces<std::vector<any_piece>>);
static_assert(natter::tls::plain_pieces<std::span<const any_piece>>);
static_assert(!natter::tls::plain_pieces<std::string>);
static_assert(!natter::tls::plain_pieces<std::vector<std::string_view>>);

class Tls : public ::testing::Test
{
protected:
  test_pki pki;
  issued localhost = pki.issue("localhost");
  std::shared_ptr<const server_context> server_ctx =
      server_context::load(localhost.cert, localhost.key);
  client_context trusting{client_settings{true, pki.ca_cert()}};
};

TEST_F(Tls, AHandshakeNegotiatesTls13AndAlpnNatter)
{
  linked l(server_ctx->native(), trusting.native(), "localhost");
  ASSERT_TRUE(l.c.established()) << l.c.error();
  ASSERT_TRUE(l.s.established()) << l.s.error();
  EXPECT_EQ(l.c.version(), "TLSv1.3");
  EXPECT_EQ(l.c.alpn(), "natter");
  EXPECT_EQ(l.s.alpn(), "natter");
  EXPECT_EQ(l.c.peer_serial(), "64"); // serial 100
  l.s.encrypt("220 natter/1 ready\r\n");
  l.c.encrypt("NICK alice\r\n");
  l.p.pump();
  EXPECT_EQ(l.p.client_got, "220 natter/1 ready\r\n");
  EXPECT_EQ(l.p.server_got, "NICK alice\r\n");
}

TEST_F(Tls, AClientOfferingNoAlpnIsStillServed)
{
  client_context plain_client{client_settings{true, pki.ca_cert()}};
  SSL_CTX_set_alpn_protos(plain_client.native(), nullptr, 0);
  linked l(server_ctx->native(), plain_client.native(), "localhost");
  ASSERT_TRUE(l.c.established()) << l.c.error();
  EXPECT_EQ(l.s.alpn(), "");
  static constexpr unsigned char other[] = {2, 'h', '2'};
  client_context h2_client{client_settings{true, pki.ca_cert()}};
  SSL_CTX_set_alpn_protos(h2_client.native(), other, sizeof other);
  linked l2(server_ctx->native(), h2_client.native(), "localhost");
  ASSERT_TRUE(l2.c.established()) << l2.c.error();
  EXPECT_EQ(l2.c.alpn(), "");
}

TEST_F(Tls, ManyLinesAreGatheredIntoFullRecords)
{
  linked l(server_ctx->native(), trusting.native(), "localhost");
  ASSERT_TRUE(l.s.established());
  // 1000 lines of 40 octets as separate pieces: 40,000 octets make three
  // records (16 KiB, 16 KiB and the rest), not a thousand.
  const std::string line = std::string(38, 'x') + "\r\n";
  std::vector<any_piece> pieces(1000, {line.data(), line.size()});
  EXPECT_EQ(l.s.encrypt(pieces), 40000u);
  const auto recs = records(l.s.pending());
  ASSERT_EQ(recs.size(), 3u);
  for (const auto& [type, len] : recs)
    EXPECT_EQ(type, 23); // application data
  EXPECT_GT(recs[0].second, natter::tls::max_record);
  EXPECT_GT(recs[1].second, natter::tls::max_record);
  l.p.pump();
  EXPECT_EQ(l.p.client_got.size(), 40000u);
  // A piece of several records' size is cut into full records too.
  const std::string big(3 * natter::tls::max_record + 5, 'y');
  l.s.encrypt(big);
  EXPECT_EQ(records(l.s.pending()).size(), 4u);
}

TEST_F(Tls, CloseNotifyIsThePeersEndOfInput)
{
  linked l(server_ctx->native(), trusting.native(), "localhost");
  l.s.encrypt("221 goodbye\r\n");
  l.s.close_notify();
  l.p.pump();
  EXPECT_EQ(l.p.client_got, "221 goodbye\r\n");
  EXPECT_EQ(l.p.client_status, channel::status::closed);
}

// The channels of a thread share one buffer of ciphertext: what one left
// unsent, whole or in part, is moved out of the way of the next one's
// write, and each peer decrypts exactly its own, in order.
TEST_F(Tls, CiphertextLeftUnsentSurvivesAnotherChannelsWrite)
{
  linked a(server_ctx->native(), trusting.native(), "localhost");
  linked b(server_ctx->native(), trusting.native(), "localhost");
  ASSERT_TRUE(a.s.established() && b.s.established());
  const std::string first(2 * natter::tls::max_record + 7, 'a');
  const std::string second(3000, 'b');
  const std::string third(natter::tls::max_record + 1, 'c');
  a.s.encrypt(first); // not sent at all
  b.s.encrypt(second);
  const std::string a_part(a.s.pending().substr(0, 100));
  a.s.sent(a_part.size()); // sent in part
  b.s.encrypt(third);
  a.s.encrypt("after");
  std::string a_got;
  ASSERT_EQ(a.c.receive(a_part, [&](std::string_view p) { a_got += p; }), channel::status::ok);
  a.p.pump();
  b.p.pump();
  EXPECT_EQ(a_got + a.p.client_got, first + "after");
  EXPECT_EQ(b.p.client_got, second + third);
  EXPECT_TRUE(a.s.pending().empty());
  EXPECT_TRUE(b.s.pending().empty());
  // A channel destroyed with ciphertext unsent leaves the buffer to the
  // next.
  {
    linked gone(server_ctx->native(), trusting.native(), "localhost");
    gone.s.encrypt("never sent");
  }
  a.s.encrypt("still here");
  a.p.pump();
  EXPECT_EQ(a.p.client_got, first + "after" + "still here");
}

// Ciphertext left in the buffer of a thread that ends stays its channel's.
TEST_F(Tls, CiphertextOutlivesTheThreadThatWroteIt)
{
  linked l(server_ctx->native(), trusting.native(), "localhost");
  std::thread([&] { l.s.encrypt("from a thread that ended\r\n"); }).join();
  l.p.pump();
  EXPECT_EQ(l.p.client_got, "from a thread that ended\r\n");
}

TEST_F(Tls, AWrongHostNameOrAnUnknownCaIsRefused)
{
  {
    linked l(server_ctx->native(), trusting.native(), "chat.example");
    EXPECT_EQ(l.p.client_status, channel::status::failed);
    EXPECT_NE(l.c.error().find("certificate verify failed: hostname mismatch"), std::string::npos)
        << l.c.error();
  }
  {
    test_pki other("another CA");
    client_context stranger{client_settings{true, other.ca_cert()}};
    linked l(server_ctx->native(), stranger.native(), "localhost");
    EXPECT_EQ(l.p.client_status, channel::status::failed);
    EXPECT_NE(l.c.error().find("certificate verify failed"), std::string::npos) << l.c.error();
  }
  {
    // An address is checked against the certificate's IP addresses.
    linked l(server_ctx->native(), trusting.native(), "127.0.0.1");
    EXPECT_TRUE(l.c.established()) << l.c.error();
  }
  {
    // Without verification, anything is accepted.
    client_context blind{client_settings{false, {}}};
    linked l(server_ctx->native(), blind.native(), "chat.example");
    EXPECT_TRUE(l.c.established()) << l.c.error();
  }
}

TEST_F(Tls, OldVersionsAreRefused)
{
  for (const int version : {TLS1_VERSION, TLS1_1_VERSION})
  {
    client_context old{client_settings{false, {}}};
    SSL_CTX_set_min_proto_version(old.native(), version);
    SSL_CTX_set_max_proto_version(old.native(), version);
    SSL_CTX_set_security_level(old.native(), 0);
    SSL_CTX_set_cipher_list(old.native(), "ALL:@SECLEVEL=0");
    linked l(server_ctx->native(), old.native(), "localhost");
    EXPECT_EQ(l.p.server_status, channel::status::failed) << version;
    EXPECT_FALSE(l.s.established());
  }
}

TEST_F(Tls, RenegotiationIsRefused)
{
  client_context tls12{client_settings{true, pki.ca_cert()}};
  SSL_CTX_set_max_proto_version(tls12.native(), TLS1_2_VERSION);
  SSL_CTX_clear_options(tls12.native(), SSL_OP_NO_RENEGOTIATION); // this client asks for it
  linked l(server_ctx->native(), tls12.native(), "localhost");
  ASSERT_EQ(l.c.version(), "TLSv1.2");
  EXPECT_EQ(SSL_get_secure_renegotiation_support(l.c.native()), 1);
  ASSERT_EQ(SSL_renegotiate(l.c.native()), 1);
  l.c.connect(); // writes the new ClientHello
  l.p.pump();
  EXPECT_EQ(SSL_renegotiate_pending(l.c.native()), 1) << "the server renegotiated";
  // The session is unharmed: data still flows.
  l.s.encrypt("PONG\r\n");
  l.p.pump();
  EXPECT_EQ(l.p.client_got, "PONG\r\n");
}

TEST_F(Tls, PlainTextToAServerFails)
{
  for (const std::string text : {"NICK alice\r\n", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"})
  {
    channel s(server_ctx->native(), channel::role::server);
    std::string got;
    EXPECT_EQ(s.receive(text, [&](std::string_view p) { got += p; }), channel::status::failed);
    EXPECT_EQ(got, "");
    EXPECT_FALSE(s.error().empty());
    const auto recs = records(s.pending());
    ASSERT_EQ(recs.size(), 1u) << s.error();
    EXPECT_EQ(recs[0].first, 21) << "an alert"; // content type alert
  }
}

TEST_F(Tls, LoadingRefusesWhatCannotBeServed)
{
  const auto fails = [](const std::filesystem::path& cert, const std::filesystem::path& key,
                        load_error::file which, const std::string& says)
  {
    try
    {
      server_context::load(cert, key);
      ADD_FAILURE() << "loaded " << cert;
    }
    catch (const load_error& e)
    {
      EXPECT_EQ(e.which, which) << e.what();
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  };
  fails(pki.dir() / "missing.crt", localhost.key, load_error::file::cert,
        "No such file or directory");
  fails(localhost.cert, pki.dir() / "missing.key", load_error::file::key,
        "No such file or directory");
  fails(localhost.key, localhost.key, load_error::file::cert, "not a PEM certificate chain");
  fails(localhost.cert, localhost.cert, load_error::file::key, "not a PEM private key");
  pki.write_unrelated_key(pki.dir() / "other.key");
  fails(localhost.cert, pki.dir() / "other.key", load_error::file::key, "does not match");
  test_pki::leaf old;
  old.valid_from = std::chrono::hours(-48);
  old.valid_for = std::chrono::hours(24);
  const issued expired = pki.issue("expired", old);
  fails(expired.cert, expired.key, load_error::file::cert, "the certificate expired at");
}

} // namespace
