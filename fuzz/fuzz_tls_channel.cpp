// natter_tls's channel: what it adds to OpenSSL, the gathering of pieces
// into records and the queue of ciphertext sent in parts (natterd's TLS
// write path). The input is a program of operations on a connected pair:
// encrypt a batch of pieces of chosen sizes, move part of the pending
// ciphertext to the peer, move all of it.
// 1. A batch of N octets makes ceil(N / 16 KiB) records, all but the last
//    full: short lines are gathered, nothing is one record per piece.
// 2. What the peer decrypts is every octet encrypted, in order, whatever
//    the parts the ciphertext moved in.
// 3. Once everything was moved, nothing is pending.
#include "check.hpp"
#include "natter/tls/channel.hpp"
#include "natter/tls/context.hpp"
#include "support/test_pki.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace
{

using natter::fuzz::check;
using natter::tls::channel;
using natter::tls::max_record;

struct fixture
{
  natter::test::test_pki pki;
  natter::test::issued pair = pki.issue("fuzz");
  std::shared_ptr<const natter::tls::server_context> server =
      natter::tls::server_context::load(pair.cert, pair.key);
  natter::tls::client_context client{natter::tls::client_settings{false, {}}};
};

fixture& shared()
{
  static fixture f;
  return f;
}

// A span of plaintext, as natterd's outbox hands them out.
struct piece
{
  const char* data;
  std::size_t size;
};

// TLS records in `cipher` (whole ones only).
std::size_t count_records(std::string_view cipher, std::size_t& largest)
{
  std::size_t n = 0;
  while (cipher.size() >= 5)
  {
    const std::size_t len = static_cast<std::size_t>(static_cast<std::uint8_t>(cipher[3])) << 8 |
                            static_cast<std::uint8_t>(cipher[4]);
    largest = std::max(largest, len);
    cipher.remove_prefix(std::min(cipher.size(), 5 + len));
    ++n;
  }
  return n;
}

// Moves up to `n` octets of `from`'s pending ciphertext into `to`.
void move(channel& from, channel& to, std::size_t n, std::string& got)
{
  const std::string part(from.pending().substr(0, n));
  from.sent(part.size());
  if (!part.empty())
    check(to.receive(part, [&](std::string_view p) { got += p; }) == channel::status::ok,
          "the peer takes every record");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  fixture& f = shared();
  channel server(f.server->native(), channel::role::server);
  channel client(f.client.native(), channel::role::client, "localhost");
  std::string ignored;
  client.connect();
  for (int i = 0; i < 10 && !(client.established() && server.established()); ++i)
  {
    move(client, server, std::string::npos, ignored);
    move(server, client, std::string::npos, ignored);
  }
  move(server, client, std::string::npos, ignored); // the session tickets
  check(server.established() && client.established(), "the handshake completes");

  std::string sent; // every octet encrypted, in order
  std::string got;  // every octet the client decrypted
  std::size_t i = 0;
  const auto next = [&]() -> std::uint8_t { return i < size ? data[i++] : 0; };
  std::uint32_t counter = 0;
  while (i < size)
  {
    const std::uint8_t op = next();
    if (op % 4 == 0)
    {
      // A batch of 1..16 pieces, each 0..65535 octets (small ones likely).
      const std::size_t pieces = 1 + next() % 16;
      std::vector<std::string> text;
      for (std::size_t k = 0; k < pieces; ++k)
      {
        std::size_t len = next();
        if (len >= 0xf0)
        {
          const std::size_t low = next();
          len = (len - 0xf0) << 12 | low << 4;
        }
        std::string t(len, '\0');
        for (char& c : t)
          c = static_cast<char>('a' + counter++ % 26);
        text.push_back(std::move(t));
      }
      std::vector<piece> plain;
      std::size_t total = 0;
      for (const std::string& t : text)
      {
        plain.push_back({t.data(), t.size()});
        total += t.size();
        sent += t;
      }
      const std::size_t before = server.pending().size();
      check(server.encrypt(plain) == total, "encrypt takes every octet");
      std::size_t largest = 0;
      const std::size_t records = count_records(server.pending().substr(before), largest);
      check(records == (total + max_record - 1) / max_record, "ceil(N / 16 KiB) records");
      check(largest <= max_record + 256, "a record is at most 16 KiB of plaintext");
    }
    else if (op % 4 == 1)
    {
      const std::size_t n = next();
      const unsigned shift = next() % 9;
      move(server, client, n << shift, got);
    }
    else if (op % 4 == 2)
      move(server, client, std::string::npos, got);
  }
  move(server, client, std::string::npos, got);
  check(server.pending().empty(), "nothing is pending once all was moved");
  check(got == sent, "the peer decrypts every octet, in order");
  return 0;
}
