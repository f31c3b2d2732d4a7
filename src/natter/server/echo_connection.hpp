// One echo connection (RFC 862, spec section 14): every octet goes back
// unchanged. It waits for readability, reads into its thread's buffer and
// writes straight back; only what the socket does not take at once is kept,
// and until that is written the client is not read. A client that stops
// reading thus stops being read, and an idle connection owns no buffer.
#ifndef NATTER_SERVER_ECHO_CONNECTION_HPP
#define NATTER_SERVER_ECHO_CONNECTION_HPP

#include "natter/server/worker.hpp"

#include <asio.hpp>

#include <atomic>
#include <chrono>
#include <memory>

namespace natter::server
{

class server;

/// An echo client. Lives as long as an async operation holds it.
class echo_connection : public std::enable_shared_from_this<echo_connection>
{
public:
  echo_connection(worker_socket socket, server& srv, std::chrono::milliseconds idle_timeout);
  echo_connection(const echo_connection&) = delete;
  echo_connection& operator=(const echo_connection&) = delete;

  /// Starts echoing.
  void start();

  /// Server shutdown, or over the echo total: close with nothing more
  /// sent. Safe from any thread.
  void shut_down();

  /// Octets held that the socket did not take yet (any thread).
  std::size_t holding() const noexcept { return holding_.load(std::memory_order_relaxed); }

  /// True once shut_down() or close() was called (any thread).
  bool closing() const noexcept { return closing_.load(std::memory_order_relaxed); }

private:
  void do_wait_read();
  void on_readable(const asio::error_code& ec);
  void on_writable(const asio::error_code& ec);
  bool write_held();
  void arm_idle_timer();
  void close();
  void hold(const char* data, std::size_t n);
  void release_held();

  worker_socket socket_;
  worker_timer timer_;
  server& server_;
  std::chrono::milliseconds idle_timeout_;
  std::chrono::steady_clock::time_point last_input_;
  std::unique_ptr<char[]> held_; // echo the socket did not take yet
  std::size_t held_size_ = 0;
  std::size_t held_sent_ = 0;
  std::atomic<std::size_t> holding_{0}; // held_size_, for other threads
  std::atomic<bool> closing_{false};
  bool closed_ = false;
};

} // namespace natter::server

#endif // NATTER_SERVER_ECHO_CONNECTION_HPP
