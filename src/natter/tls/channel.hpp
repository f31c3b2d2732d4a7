// One TLS connection's state, with no socket: ciphertext from the network
// goes in, plaintext comes out; plaintext goes in, ciphertext to send comes
// out. natterd, natter, natter-conform and natter-bench each move the bytes
// with their own I/O (Asio's reactor, poll, epoll) and share this.
//
// Why not asio::ssl::stream: it keeps a 17 KiB input and a 17 KiB output
// buffer for the life of every stream, and encrypts only the first buffer
// of a gathered write, one record per line on the fan-out path. Here
// OpenSSL reads from the caller's buffer and writes into one buffer per
// thread, shared by the thread's channels; a channel keeps a copy only of
// what a send left over (SSL_MODE_RELEASE_BUFFERS frees OpenSSL's own), so
// an idle connection holds no buffer, a write that goes out whole
// allocates nothing, and a batch of lines is gathered into records of up
// to 16 KiB and sent with one write.
//
// Threads: one thread at a time per channel. Ciphertext pending in a
// thread's buffer stays there until it is sent or another channel of that
// thread writes (then it is moved into its channel); a channel goes to
// another thread only with nothing pending.
#ifndef NATTER_TLS_CHANNEL_HPP
#define NATTER_TLS_CHANNEL_HPP

#include <concepts>
#include <cstddef>
#include <ranges>
#include <span>
#include <string>
#include <string_view>

using SSL = struct ssl_st;
using SSL_CTX = struct ssl_ctx_st;
using SSL_SESSION = struct ssl_session_st;

namespace natter::tls
{

/// The largest plaintext of one TLS record (RFC 8446 section 5.1).
inline constexpr std::size_t max_record = 16 * 1024;

/// One span of plaintext to encrypt: any struct with members `data` and
/// `size` (core::piece is one).
template <class P>
concept plain_piece = requires(const P& p)
{
  {
    p.data
    } -> std::convertible_to<const char*>;
  {
    p.size
    } -> std::convertible_to<std::size_t>;
};

/// A sequence of plain_pieces: an array, a vector, a span of them.
template <class R>
concept plain_pieces =
    std::ranges::input_range<const R> && plain_piece<std::ranges::range_value_t<const R>>;

/// One thread's buffer of ciphertext, lent to the channel writing (channel.cpp).
struct thread_cipher;

/// A TLS connection's state machine.
class channel
{
public:
  enum class role
  {
    server,
    client,
  };

  /// What receive() found.
  enum class status
  {
    ok,     ///< everything given was taken; more may follow
    closed, ///< the peer sent close_notify: its end of input
    failed, ///< the handshake or a record failed: error() says why
  };

  /// A channel on `ctx` (which it holds a reference to). A client sends
  /// `host` as SNI (unless it is an address literal) and, when its context
  /// verifies, checks the certificate against it; `resume` (may be null)
  /// offers a session from an earlier connection.
  channel(SSL_CTX* ctx, role r, const std::string& host = {}, SSL_SESSION* resume = nullptr);
  channel(const channel&) = delete;
  channel& operator=(const channel&) = delete;
  ~channel();

  /// A client starts its handshake: the ClientHello is then pending().
  void connect();

  /// Ciphertext arrived. Decrypted application data is handed to
  /// `plain(std::string_view)` as it is found, in order; the handshake and
  /// its answers (they are then pending()) run as needed.
  template <class Plain>
  status receive(std::string_view cipher, Plain&& plain);

  /// True once the handshake is complete.
  bool established() const noexcept { return established_; }

  /// Encrypts `pieces` into records of up to max_record octets each
  /// (pieces are gathered, so many short lines make few records), and
  /// queues them for sending. Returns the plaintext octets taken: all.
  template <class Pieces>
  requires plain_pieces<Pieces> std::size_t encrypt(const Pieces& pieces);
  /// Encrypts one span.
  std::size_t encrypt(std::string_view plain)
  {
    seal(gather(plain.data(), plain.size(), 0));
    return plain.size();
  }

  /// Queues a close_notify alert (once).
  void close_notify();

  /// The ciphertext waiting to be sent: valid until this channel or
  /// another of this thread next writes (connect, receive, encrypt,
  /// close_notify, sent).
  std::string_view pending() const noexcept;
  /// The socket took `n` octets of pending(). What is left, if anything,
  /// is copied into the channel's own queue (which may throw
  /// std::bad_alloc); that queue's memory is given back once it is empty.
  void sent(std::size_t n);

  /// Why receive() failed, or a verification failure, as one line.
  const std::string& error() const noexcept { return error_; }

  /// The negotiated ALPN protocol ("" for none), the version ("TLSv1.3"),
  /// whether the session was resumed, the peer's certificate serial (hex,
  /// "" without one). For tests, logs and benchmarks.
  std::string alpn() const;
  std::string version() const;
  bool resumed() const;
  std::string peer_serial() const;
  /// The session to offer on a later connection (a new reference, or
  /// null): call after some application data was received, since TLS 1.3
  /// sends its tickets after the handshake.
  SSL_SESSION* session() const;

  SSL* native() noexcept { return ssl_; }

  /// For the BIO callbacks.
  int bio_read(char* to, int size) noexcept;
  int bio_write(const char* from, int size) noexcept;

private:
  // One step of receive(): the handshake, or a read of application data
  // into `to`. >0: octets of plaintext; 0: needs more input; <0: ended
  // (-1 closed, -2 failed).
  int step(char* to, std::size_t size);
  // encrypt(): adds `size` octets to the `staged` ones of the record this
  // thread is gathering, encrypting each record that fills; returns how
  // many are staged after. seal() encrypts the last, partial record.
  std::size_t gather(const char* data, std::size_t size, std::size_t staged);
  void seal(std::size_t staged);
  void write_record(const char* data, std::size_t size);
  // Moves this channel's ciphertext out of its thread's buffer into out_.
  void spill();
  friend struct thread_cipher;

  SSL* ssl_;
  std::string_view in_;             // ciphertext given to receive() not yet taken
  thread_cipher* shared_ = nullptr; // the thread's buffer, while it holds our ciphertext
  std::string out_;                 // ciphertext left over by a partial send
  std::size_t sent_ = 0;            // of out_
  std::string error_;
  bool server_;
  bool established_ = false;
  bool notified_ = false;
};

/// One thread's buffer for decrypted data (receive() hands it out in pieces
/// of at most this much).
std::span<char> plain_buffer() noexcept;

template <class Pieces>
requires plain_pieces<Pieces> std::size_t channel::encrypt(const Pieces& pieces)
{
  std::size_t total = 0;
  std::size_t staged = 0;
  for (const auto& p : pieces)
  {
    staged = gather(p.data, p.size, staged);
    total += p.size;
  }
  seal(staged);
  return total;
}

template <class Plain>
channel::status channel::receive(std::string_view cipher, Plain&& plain)
{
  in_ = cipher;
  const std::span<char> buffer = plain_buffer();
  for (;;)
  {
    const int n = step(buffer.data(), buffer.size());
    if (n > 0)
    {
      plain(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
      continue;
    }
    in_ = {};
    if (n == 0)
      return status::ok;
    return n == -1 ? status::closed : status::failed;
  }
}

} // namespace natter::tls

#endif // NATTER_TLS_CHANNEL_HPP
