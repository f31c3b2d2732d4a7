// One connection of a conformance case's client: its socket, the octets
// received and not yet taken, and reads and writes that end at deadlines.
// It knows nothing of the spec or of cases: chat octets are framed here
// (take_frame) and checked elsewhere (checks.hpp).
#ifndef NATTER_CONFORMANCE_PUMP_HPP
#define NATTER_CONFORMANCE_PUMP_HPP

#include "net.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

using SSL_CTX = struct ssl_ctx_st;

namespace natter::tls
{
class channel;
}

namespace natter::conform
{

/// One thing a chat connection received: a line (without its terminator)
/// or a telnet answer (three octets between lines).
struct frame
{
  bool telnet = false;
  std::string bytes;
  bool crlf = false; ///< a line: it ended in CRLF (else in a bare LF)
};

/// Takes the frame at the front of `buffer` off it: a telnet answer (IAC
/// and the two octets after it) or the octets up to the next LF. Returns
/// nothing, and leaves `buffer` as it is, while that frame is incomplete.
std::optional<frame> take_frame(std::string& buffer);

/// What one wait for input brought.
enum class arrival
{
  nothing, ///< nothing in time, or nothing more can come (see over())
  octets,  ///< octets, appended to received()
  end,     ///< the server ended the connection just now (eof() or reset())
};

/// A client's connection. It is opened once; a client that connects again
/// gets a new pump. Over TLS (connect() with a context) every octet it
/// sends, writes, reads and holds in received() is the plaintext inside
/// TLS; a close_notify from the server is its end of input.
class pump
{
public:
  pump();
  pump(const pump&) = delete;
  pump& operator=(const pump&) = delete;
  ~pump();

  /// Connects (see tcp_socket::connect), and with `tls` (a client
  /// context) completes a TLS handshake as `host` by `deadline`. Returns an
  /// empty string on success, else why it failed.
  std::string connect(const std::string& host, std::uint16_t port, clock::time_point deadline,
                      int rcvbuf, const std::string& source = {}, SSL_CTX* tls = nullptr);

  /// Waits once, until `until`, for input.
  arrival wait_for_input(clock::time_point until);

  /// Writes all of `bytes` in one call (the kernel may still split them),
  /// reading into received() while the socket is not writable, as long as
  /// it holds less than `max_received` octets. False when `deadline` passed
  /// first; a reset while writing is left for the reads.
  bool write(std::string_view bytes, clock::time_point deadline,
             std::size_t max_received = std::string::npos);

  /// Writes `unit` over and over without reading until the kernel takes
  /// nothing for `stall` (see tcp_socket::write_until_stalled).
  tcp_socket::stall_result write_until_stalled(std::string_view unit, std::size_t limit,
                                               std::chrono::milliseconds stall,
                                               clock::time_point deadline);

  /// Waits until `deadline`, reading nothing, for the server to end the
  /// connection; records how it ended (see tcp_socket::wait_dropped).
  tcp_socket::drop wait_dropped(clock::time_point deadline, std::size_t& unread);

  /// Closes our side; with `reset`, with an RST instead of a FIN.
  void close(bool reset) noexcept;

  /// Shuts down our sending side.
  void shutdown_send() noexcept;

  /// Octets received and not yet taken.
  std::string& received() noexcept { return received_; }
  const std::string& received() const noexcept { return received_; }

  bool opened() const noexcept { return opened_; } ///< connect() succeeded
  bool eof() const noexcept { return eof_; }       ///< the server closed it
  bool reset() const noexcept { return reset_; }   ///< the server reset it
  bool closed() const noexcept { return closed_; } ///< we closed it
  bool shut() const noexcept { return shut_; }     ///< we shut down our sending side

  /// TLS: the server sent its close_notify (the connection is then
  /// eof()); false on a plain connection.
  bool close_notified() const noexcept { return notified_; }
  /// TLS: the negotiated ALPN protocol ("" for none) and version; why the
  /// TLS connection failed ("" if it did not).
  std::string alpn() const;
  std::string tls_version() const;
  const std::string& tls_error() const noexcept { return tls_error_; }
  bool tls() const noexcept { return tls_ != nullptr; }

  /// The server ended the connection (a close or a reset).
  bool ended() const noexcept { return eof_ || reset_; }

  /// Nothing more can arrive: never opened, ended, or closed by us.
  bool over() const noexcept { return !opened_ || ended() || closed_; }

private:
  bool decrypt(std::string_view cipher);
  io_status flush(clock::time_point deadline);
  void notify_end() noexcept;

  tcp_socket sock_;
  std::unique_ptr<tls::channel> tls_; // null: plain TCP
  std::string tls_error_;
  std::string cipher_; // TLS: ciphertext read back while writing
  bool notified_ = false;
  std::string received_;
  bool opened_ = false;
  bool eof_ = false;
  bool reset_ = false;
  bool closed_ = false;
  bool shut_ = false;
};

} // namespace natter::conform

#endif // NATTER_CONFORMANCE_PUMP_HPP
