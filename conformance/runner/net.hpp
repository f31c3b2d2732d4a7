// Blocking-with-deadline TCP and UDP helpers for the conformance runner.
// POSIX sockets, non-blocking descriptors and poll(): every wait ends at a
// deadline, so no case can hang the runner.
#ifndef NATTER_CONFORMANCE_NET_HPP
#define NATTER_CONFORMANCE_NET_HPP

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace natter::conform
{

using clock = std::chrono::steady_clock;

/// The outcome of one read or write attempt.
enum class io_status
{
  ok,      ///< data moved
  eof,     ///< the peer closed its sending side
  reset,   ///< the connection failed (ECONNRESET, EPIPE, ...)
  timeout, ///< the deadline passed first
};

/// An owned, non-blocking TCP socket.
class tcp_socket
{
public:
  tcp_socket() = default;
  tcp_socket(const tcp_socket&) = delete;
  tcp_socket& operator=(const tcp_socket&) = delete;
  tcp_socket(tcp_socket&& other) noexcept;
  tcp_socket& operator=(tcp_socket&& other) noexcept;
  ~tcp_socket();

  /// Connects to host:port (every address getaddrinfo gives, in order).
  /// A `rcvbuf` other than 0 is set as SO_RCVBUF before connecting, so the
  /// window offered from the handshake on is that small. A `source` (an
  /// IPv4 address such as 127.0.0.2) is bound as the local address first;
  /// only the host's IPv4 addresses are tried then. Returns an empty
  /// string on success, else why it failed.
  std::string connect(const std::string& host, std::uint16_t port, clock::time_point deadline,
                      int rcvbuf = 0, const std::string& source = {});

  /// How a connection that is not read ended (wait_dropped()).
  enum class drop
  {
    reset,   ///< reset, or closed both ways: poll() reports POLLERR or POLLHUP
    closed,  ///< the peer's FIN arrived (behind everything it sent): POLLRDHUP
    timeout, ///< still open at the deadline
  };

  /// Waits until the deadline for the connection to end, without reading:
  /// poll() asks for no input event, so unread octets in the receive buffer
  /// do not end the wait. `unread` is set to the octets left unread there.
  drop wait_dropped(clock::time_point deadline, std::size_t& unread);

  /// Reads what is available, waiting until the deadline for something.
  /// Appends to `out`.
  io_status read_some(std::string& out, clock::time_point deadline);

  /// Writes all of `bytes`; while the socket is not writable it reads into
  /// `readback`, so a peer that answers while we write cannot deadlock us,
  /// until `readback` holds `readback_limit` octets: a peer that sends
  /// without end cannot grow it without end.
  io_status write_all(std::string_view bytes, std::string& readback, clock::time_point deadline,
                      std::size_t readback_limit = std::string::npos);

  /// What write_until_stalled() did.
  struct stall_result
  {
    std::size_t written = 0; ///< octets the kernel took
    enum class end
    {
      stalled,  ///< the kernel took nothing for the whole `stall`
      limit,    ///< `limit` octets were written
      deadline, ///< the kernel was still taking octets at the deadline
      failed,   ///< the connection failed (reset, or closed)
    } how = end::deadline;
  };

  /// Writes `unit` over and over, reading nothing, until the kernel takes
  /// nothing for `stall`, `limit` octets are written, the connection fails
  /// or `deadline` passes. Requires: `unit` is not empty.
  stall_result write_until_stalled(std::string_view unit, std::size_t limit,
                                   std::chrono::milliseconds stall, clock::time_point deadline);

  /// The same for any stream: `next()` is asked for the next octets once
  /// the last ones it gave were all taken; nothing (an empty view) ends the
  /// writes with end::limit.
  stall_result write_until_stalled(const std::function<std::string_view()>& next,
                                   std::chrono::milliseconds stall, clock::time_point deadline);

  /// Shuts down the sending side (half-close).
  void shutdown_send() noexcept;

  /// Closes; with `reset`, an RST is sent instead of a FIN (SO_LINGER 0).
  void close(bool reset = false) noexcept;

  bool is_open() const noexcept { return fd_ >= 0; }

private:
  int fd_ = -1;
};

/// Sends one UDP datagram to host:port and waits `wait` for any answer.
/// Returns true when something came back.
bool udp_answers(const std::string& host, std::uint16_t port, std::string_view payload,
                 std::chrono::milliseconds wait);

} // namespace natter::conform

#endif // NATTER_CONFORMANCE_NET_HPP
