// One chat client connection of natter-bench (fanout, idle and handshake
// modes): setup paced to a few connections at a time, line reading without
// allocation, registration in either dialect, and TLS (--tls) through a
// tls::channel: what is sent is queued as plaintext in `out` and encrypted
// when flushed, what is read is decrypted and split into lines as on a
// plain connection.
//
// natter: NICK, wait for 200. IRC (RFC 2812): NICK + USER, wait for 001;
// for fan-out then JOIN the channel and wait for 366 (end of NAMES).
// Every PING from an IRC server is answered with PONG at any time. raw:
// nothing to register; a connected client is ready (ncat --chat).
#ifndef NATTER_BENCH_CHAT_CONN_HPP
#define NATTER_BENCH_CHAT_CONN_HPP

#include <sys/socket.h>

#include "natter/bench/endpoint.hpp"
#include "natter/bench/options.hpp"
#include "natter/bench/poller.hpp"
#include "natter/tls/channel.hpp"
#include "natter/tls/context.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace natter::bench
{

/// The protocol spoken.
enum class dialect : std::uint8_t
{
  natter,
  irc,
  raw ///< no registration; lines relayed as-is, perhaps with a prefix (ncat --chat)
};

/// Parses "natter", "irc" or "raw"; throws std::runtime_error otherwise.
dialect parse_dialect(const std::string& name);

/// The longest line kept whole; longer lines are cut (natter-bench never
/// needs their end).
inline constexpr std::size_t max_held_line = 1100;

/// Size of the shared read buffer the modes pass to read_lines().
inline constexpr std::size_t read_buffer_size = 256 * 1024;

/// What a run's TLS connections share: the client context (trust, ALPN
/// natter) and the name each verifies the certificate against (--host).
struct tls_client
{
  /// Throws tls::error when the CA file cannot be used.
  tls_client(const tls_options& o, const std::string& host_name);
  tls::client_context ctx;
  std::string host;
};

/// One connection and its registration state.
struct chat_conn
{
  enum class state : std::uint8_t
  {
    idle,        ///< not started
    connecting,  ///< TCP connect in progress
    handshaking, ///< TLS handshake in progress
    registering, ///< NICK (and USER) sent
    joining,     ///< IRC: JOIN sent
    ready,       ///< registered (and joined)
    dead         ///< closed or failed
  };

  int fd = -1;
  std::uint32_t index = 0; ///< receiver or sender number
  std::uint16_t node = 0;  ///< which server address it connects to (fanout --ports)
  bool sender = false;
  state st = state::idle;
  bool want_out = false;
  bool barrier = false; ///< waiting for the PONG of the setup barrier
  std::uint16_t held = 0;
  std::array<char, max_held_line> hold{};
  bool reading = false; ///< inside tls->receive(): close_conn() keeps the channel
  std::string out;      ///< queued output, plaintext (senders; replies that did not fit)
  std::size_t out_off = 0;
  std::unique_ptr<tls::channel> tls; ///< with --tls, from start_tls() to close_conn()
};

/// Calls on_line(std::string_view) for every line that `data` completes,
/// CR removed, keeping an unfinished line's start (up to max_held_line
/// octets) in c.hold for the next call. Stops when a line killed `c`.
template <class OnLine>
void split_lines(chat_conn& c, std::string_view data, OnLine&& on_line);

/// Reads once into `buf` (read_buffer_size octets) and calls
/// on_line(std::string_view) for every complete line, CR removed; with TLS
/// the octets read are ciphertext, decrypted first, and what the channel
/// answers (the handshake's messages) is sent. Returns the octets read, 0
/// at end of stream (a TLS close_notify too), -1 when nothing was ready, -2
/// on a socket or TLS error.
template <class OnLine>
long read_lines(chat_conn& c, char* buf, OnLine&& on_line);

/// Starts connecting `c` to `to` (from `source` when given) and watches it
/// for writability; false (and c.st dead) when the socket could not start.
bool begin_connect(chat_conn& c, const endpoint& to, const in_addr* source, poller& poll);

/// What start_connections() could not start.
struct start_failures
{
  std::size_t count = 0; ///< connections whose socket() or connect() failed at once
  int error = 0;         ///< errno of the last of them
};

/// Connection setup, `concurrency` at a time (fanout and idle): starts
/// conns[started], conns[started + 1], ... in that order while fewer than
/// `concurrency` are in setup, adding each one started to `in_setup` (the
/// mode takes it off again when the connection is ready or dead). Each
/// connects to to[c.node]. With `spread`, connection i connects from
/// spread_source(i). A connection that
/// cannot start is marked dead and counted in the result, not in `in_setup`.
start_failures start_connections(std::span<chat_conn> conns, std::size_t& started,
                                 std::size_t& in_setup, std::size_t concurrency,
                                 std::span<const endpoint> to, bool spread, poller& poll);

/// Starts TLS on the connected `c`, offering `resume` (may be null): the
/// ClientHello is sent and c.st becomes handshaking. False when the socket
/// failed. The handshake goes on in read_lines(); handshake_done() says
/// when it is complete.
bool start_tls(chat_conn& c, const tls_client& t, SSL_SESSION* resume = nullptr);

/// True when `c` is handshaking and its handshake just completed: the
/// mode then registers it as it registers a plain connection.
inline bool handshake_done(const chat_conn& c) noexcept
{
  return c.st == chat_conn::state::handshaking && c.tls && c.tls->established();
}

/// True when `c` has output waiting: plaintext not yet encrypted, or
/// octets not yet taken by the socket.
inline bool has_output(const chat_conn& c) noexcept
{
  return c.out_off < c.out.size() || (c.tls && !c.tls->pending().empty());
}

/// Called when a connecting socket became writable: true when the
/// connection is established, false when it failed.
bool connect_succeeded(int fd) noexcept;

/// Stops watching and closes c.fd, if open, frees its TLS channel (once
/// read_lines() is done with it) and marks `c` dead.
void close_conn(chat_conn& c, poller& poll) noexcept;

/// Queues `bytes` on c.out and tries to send all queued output. Returns
/// false on a socket error.
bool queue_and_flush(chat_conn& c, std::string_view bytes);

/// Sends what c.out holds (with TLS: encrypts it, once the handshake is
/// complete, and sends the ciphertext); true unless the socket failed.
bool flush(chat_conn& c);

/// Sends the registration lines for `nick`.
bool send_registration(chat_conn& c, dialect d, const std::string& nick);

/// What a line meant during setup.
enum class setup_event : std::uint8_t
{
  none,
  registered, ///< natter 200 / IRC 001
  joined,     ///< IRC 366
  failed      ///< refused (433, 5xx, ERROR)
};

/// Interprets one line received before the connection is ready.
setup_event setup_line(std::string_view line, dialect d);

/// Answers an IRC "PING x" with "PONG x"; returns true when `line` was one.
bool answer_ping(chat_conn& c, std::string_view line);

/// The setup barrier: a PING sent once a connection is set up, whose PONG
/// the server queues behind everything setup left queued for it (natter's
/// JOIN storm; the protocol's barrier, spec section 4.3). Sends it and marks
/// `c` as waiting; false when the connection failed.
bool start_barrier(chat_conn& c);

/// True when `line` is the PONG that ends `c`'s barrier (natter "PONG
/// <token>", IRC ":server PONG server :<token>"); `c` stops waiting then.
bool ends_barrier(chat_conn& c, std::string_view line);

/// Reads what `c` has, a few reads per wake-up (enough to batch, few
/// enough to stay fair), each line to on_line(std::string_view): `kill()`
/// at end of stream or on an error, `registered()` once a TLS handshake is
/// complete, `want_out()` for what the TLS channel answered and the socket
/// did not take.
template <class Conn, class OnLine, class Kill, class Register, class WantOut>
void read_rounds(Conn& c, char* buf, OnLine&& on_line, Kill&& kill, Register&& registered,
                 WantOut&& want_out)
{
  for (int rounds = 0; rounds < 4 && c.st != chat_conn::state::dead; ++rounds)
  {
    const long n = read_lines(c, buf, on_line);
    if (n == 0 || n == -2)
    {
      kill();
      return;
    }
    if (handshake_done(c))
      registered();
    else if (c.tls)
      want_out();
    if (n < static_cast<long>(read_buffer_size))
      break;
  }
}

/// One ready descriptor of a chat mode (fanout, soak): a socket still
/// connecting goes to `connected()`; a readable one to `readable()`, and
/// then, unless that killed it, a writable one is flushed: `kill()` when
/// the socket failed, else `want_out()`.
template <class Conn, class Connected, class Readable, class Kill, class WantOut>
void dispatch_event(Conn& c, std::uint32_t events, Connected&& connected, Readable&& readable,
                    Kill&& kill, WantOut&& want_out)
{
  if (c.st == chat_conn::state::dead)
    return;
  if (c.st == chat_conn::state::connecting)
  {
    connected();
    return;
  }
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
  {
    readable();
    if (c.st == chat_conn::state::dead)
      return;
  }
  if (events & EPOLLOUT)
  {
    if (!flush(c))
      kill();
    else
      want_out();
  }
}

template <class OnLine>
void split_lines(chat_conn& c, std::string_view data, OnLine&& on_line)
{
  // Hands on one line, CR removed; false when it killed `c`.
  const auto emit = [&](std::string_view line)
  {
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    on_line(line);
    return c.st != chat_conn::state::dead;
  };
  const char* p = data.data();
  const char* const end = p + data.size();
  if (c.held > 0)
  {
    // The held start of a line: completed from the front of `data` (and
    // cut at max_held_line: natter-bench never needs a long line's end).
    const char* lf = static_cast<const char*>(std::memchr(p, '\n', data.size()));
    const auto upto = static_cast<std::size_t>((lf ? lf : end) - p);
    const std::size_t take = std::min(upto, max_held_line - c.held);
    std::memcpy(c.hold.data() + c.held, p, take);
    c.held = static_cast<std::uint16_t>(c.held + take);
    if (!lf)
      return;
    const std::size_t held = std::exchange(c.held, std::uint16_t{0});
    if (!emit(std::string_view(c.hold.data(), held)))
      return;
    p = lf + 1;
  }
  while (p < end)
  {
    const char* lf =
        static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    if (!lf)
      break;
    if (!emit(std::string_view(p, static_cast<std::size_t>(lf - p))))
      return;
    p = lf + 1;
  }
  const std::size_t rest = std::min<std::size_t>(static_cast<std::size_t>(end - p), max_held_line);
  std::memcpy(c.hold.data(), p, rest);
  c.held = static_cast<std::uint16_t>(rest);
}

template <class OnLine>
long read_lines(chat_conn& c, char* buf, OnLine&& on_line)
{
  ssize_t n;
  do
    n = ::recv(c.fd, buf, read_buffer_size, 0);
  while (n < 0 && errno == EINTR);
  if (n == 0)
    return 0;
  if (n < 0)
    return (errno == EAGAIN || errno == EWOULDBLOCK) ? -1 : -2;
  const auto data = std::string_view(buf, static_cast<std::size_t>(n));
  if (!c.tls)
  {
    split_lines(c, data, on_line);
    return n;
  }
  // A line may kill `c` while the channel is still decrypting: the channel
  // is freed only after receive() returned.
  c.reading = true;
  const tls::channel::status s = c.tls->receive(data,
                                                [&](std::string_view plain)
                                                {
                                                  if (c.st != chat_conn::state::dead)
                                                    split_lines(c, plain, on_line);
                                                });
  c.reading = false;
  if (c.st == chat_conn::state::dead)
  {
    c.tls.reset();
    return n;
  }
  if (s != tls::channel::status::ok)
    return s == tls::channel::status::closed ? 0 : -2;
  return flush(c) ? n : -2;
}

} // namespace natter::bench

#endif // NATTER_BENCH_CHAT_CONN_HPP
