// A connection to the TLS port before its handshake is complete (spec
// 3.1): no session, no nick, no room, no chat slot yet; a deadline of its
// own (--tls-handshake-timeout). When the handshake completes it becomes a
// chat_connection (or, when the connection limits refuse it, it is told
// 503 or 504 over TLS and closed); when it fails, the peer gets an alert
// and the connection is closed.
#ifndef NATTER_SERVER_TLS_HANDSHAKE_HPP
#define NATTER_SERVER_TLS_HANDSHAKE_HPP

#include "natter/proto/reply.hpp"
#include "natter/server/worker.hpp"
#include "natter/tls/channel.hpp"
#include "natter/tls/context.hpp"

#include <asio.hpp>

#include <memory>
#include <optional>
#include <string>

namespace natter::server
{

class server;

class tls_handshake : public std::enable_shared_from_this<tls_handshake>
{
public:
  /// The connection is in the server's handshake pool until it ends.
  tls_handshake(worker_socket socket, const asio::ip::tcp::endpoint& peer, server& srv, worker& w,
                const std::shared_ptr<const tls::server_context>& ctx);
  tls_handshake(const tls_handshake&) = delete;
  tls_handshake& operator=(const tls_handshake&) = delete;
  ~tls_handshake();

  void start();

private:
  void do_wait_read();
  void on_readable(const asio::error_code& ec);
  // Sends what the channel has pending; false when the socket failed. When
  // it would block, a wait for writability continues with `then_done`.
  bool send_pending();
  void on_writable(const asio::error_code& ec);
  void established();
  void end(const std::string& why);

  worker_socket socket_;
  asio::ip::tcp::endpoint peer_;
  server& server_;
  worker& worker_;
  std::unique_ptr<tls::channel> channel_;
  worker_timer timer_;
  std::string early_;        // application data that came with the handshake's end
  bool input_ended_ = false; // ...and the client's close_notify after it
  bool writing_ = false;
  bool closing_ = false; // the handshake ended: close once pending() is sent
  bool over_ = false;
};

} // namespace natter::server

#endif // NATTER_SERVER_TLS_HANDSHAKE_HPP
