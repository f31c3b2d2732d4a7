// One chat connection: wires a core::connection (the state machine) to an
// Asio socket and sendmsg, or, on the TLS port, to a tls::channel and
// send. It decides nothing about the protocol: it reads when told, writes
// what it is given, keeps the one timer asked for and closes when told.
// All its handlers run on its worker's one thread.
#ifndef NATTER_SERVER_CHAT_CONNECTION_HPP
#define NATTER_SERVER_CHAT_CONNECTION_HPP

#include "natter/core/connection.hpp"
#include "natter/server/worker.hpp"
#include "natter/tls/channel.hpp"

#include <asio.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace natter::server
{

class server;

/// A chat client's socket, timer and session. Lives as long as an async
/// operation holds a shared_ptr to it.
class chat_connection : public std::enable_shared_from_this<chat_connection>, public core::transport
{
public:
  /// `socket` belongs to `w`'s io_context. On the TLS port, `tls` is the
  /// channel whose handshake is complete, `early` the plaintext that
  /// arrived with its end, and `input_ended` whether the client's
  /// close_notify came with it.
  chat_connection(worker_socket socket, const asio::ip::tcp::endpoint& peer, server& srv, worker& w,
                  std::unique_ptr<tls::channel> tls = nullptr, std::string early = {},
                  bool input_ended = false);
  chat_connection(const chat_connection&) = delete;
  chat_connection& operator=(const chat_connection&) = delete;
  ~chat_connection() override;

  /// Sends the greeting and starts reading.
  void start();

  /// The outbox has something to write (from any thread): asks the worker
  /// to flush this connection at the end of its pass.
  void wake() noexcept override;

  /// Writes what is pending; called by the worker's flush, on its thread.
  void flush();

private:
  void do_wait_read();
  void on_readable(const asio::error_code& ec);
  void do_write();
  std::size_t write_pending();
  std::size_t write_pending_tls();
  void received(std::string_view data, core::time_point now);
  void shutdown_send();
  void on_writable(const asio::error_code& ec);
  void settle();
  void arm_timer(core::time_point at);
  void on_timer(const asio::error_code& ec);
  void fail(const asio::error_code& ec, const char* what);
  void close_socket(bool reset);

  worker_socket socket_;
  asio::ip::tcp::endpoint peer_;
  std::unique_ptr<worker_timer> timer_; // while a deadline is set (arm_timer)
  server& server_;
  worker& worker_;
  core::connection conn_;
  std::unique_ptr<tls::channel> tls_; // on the TLS port
  std::string early_;                 // TLS: plaintext for the first read
  std::size_t tls_batch_ = 0;         // TLS: plaintext octets in the pending records
  core::time_point timer_at_ = core::time_point::max();
  bool reading_ = false;
  bool writing_ = false;         // waiting for the socket to take more
  bool shutdown_due_ = false;    // TLS: shut down once the close_notify is sent
  bool tls_input_ended_ = false; // TLS: the client's close_notify came; later octets are dropped
  bool closed_ = false;
  std::shared_ptr<chat_connection> held_; // itself, while it waits for a wake-up, not input
};

} // namespace natter::server

#endif // NATTER_SERVER_CHAT_CONNECTION_HPP
