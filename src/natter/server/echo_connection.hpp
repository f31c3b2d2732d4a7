// One echo connection (RFC 862, spec section 14): every octet goes back
// unchanged. One read, then its write, then the next read: a client that
// stops reading stops being read, so memory per connection is one buffer.
#ifndef NATTER_SERVER_ECHO_CONNECTION_HPP
#define NATTER_SERVER_ECHO_CONNECTION_HPP

#include "natter/server/worker.hpp"

#include <asio.hpp>

#include <array>
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

  /// Server shutdown: close with nothing sent. Safe from any thread.
  void shut_down();

private:
  void do_read();
  void do_write(std::size_t n);
  void arm_idle_timer();
  void close();

  worker_socket socket_;
  worker_timer timer_;
  server& server_;
  std::chrono::milliseconds idle_timeout_;
  std::chrono::steady_clock::time_point last_input_;
  bool closed_ = false;
  std::array<char, 16 * 1024> buffer_;
};

} // namespace natter::server

#endif // NATTER_SERVER_ECHO_CONNECTION_HPP
