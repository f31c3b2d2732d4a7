// The client's TCP connection: resolve, connect, read lines, queued writes
// (the shape of Asio's chat_client). Single-threaded: every handler runs on
// the one io_context thread.
#ifndef NATTER_CLIENT_CONNECTION_HPP
#define NATTER_CLIENT_CONNECTION_HPP

#include "natter/proto/server_line.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <array>
#include <deque>
#include <functional>
#include <string>
#include <system_error>

namespace natter::client
{

/// One connection at a time to a natter server; reusable after close().
class connection
{
public:
  /// Called once per connect(): an empty error code means connected.
  using connect_handler = std::function<void(std::error_code)>;
  /// Called for every line received, without its terminator.
  using line_handler = std::function<void(std::string_view)>;
  /// Called once when an established connection ends (EOF or error).
  using close_handler = std::function<void(std::error_code)>;

  connection(asio::io_context& io, line_handler on_line, close_handler on_close);
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Resolves `host` and connects to the first endpoint that answers.
  void connect(const std::string& host, std::uint16_t port, connect_handler done);

  /// Queues `line` plus CRLF for sending.
  void send(std::string_view line);

  /// Closes the socket; no handler of this connection runs afterwards.
  void close();

  /// Octets queued and not yet written.
  std::size_t queued_bytes() const noexcept { return queued_bytes_; }

  /// Called whenever queued lines have been written (for input pacing).
  void on_written(std::function<void()> handler) { on_written_ = std::move(handler); }

  /// True while connected.
  bool is_open() const noexcept { return socket_.is_open() && connected_; }

private:
  void do_read();
  void do_write();
  void fail(std::error_code ec);

  asio::ip::tcp::resolver resolver_;
  asio::ip::tcp::socket socket_;
  line_handler on_line_;
  close_handler on_close_;
  proto::server_line_reader reader_;
  std::array<char, 4096> buffer_{};
  std::deque<std::string> write_queue_;
  std::size_t queued_bytes_ = 0;
  std::function<void()> on_written_;
  bool connected_ = false;
  // Bumped by close(): handlers of an older connection see a different
  // value and return without touching the new one.
  unsigned generation_ = 0;
};

} // namespace natter::client

#endif // NATTER_CLIENT_CONNECTION_HPP
