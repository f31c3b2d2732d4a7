// natterd's listening sockets. What the chat and echo services share (the
// acceptor, binding --bind dual-stack, the accept loop spreading connections
// over the workers, the pause when the process is out of descriptors) is
// `listener`; each service says only what it does with a new connection.
#ifndef NATTER_SERVER_LISTENER_HPP
#define NATTER_SERVER_LISTENER_HPP

#include "natter/server/worker.hpp"

#include <asio.hpp>

#include <memory>
#include <string>
#include <vector>

namespace natter::server
{

class server;

/// One listening socket and its accept loop.
class listener
{
public:
  /// `service` ("chat", "echo") names it in messages; `flag` is the one to
  /// change when it cannot listen.
  listener(asio::io_context& main, std::vector<std::unique_ptr<worker>>& workers,
           const char* service, const char* flag);
  listener(const listener&) = delete;
  listener& operator=(const listener&) = delete;
  virtual ~listener() = default;

  /// Binds `bind` and `port` ("::" dual-stack, falling back to 0.0.0.0 on
  /// a host without IPv6) and prints "natterd: <service> listening on ...".
  /// Throws std::runtime_error naming the flag to change.
  void open(const std::string& bind, unsigned short port);

  /// Takes `fd`, a listening TCP socket systemd bound (socket activation),
  /// in place of open(), and prints the same line.
  void adopt(int fd);

  /// "chat [::]:7777": what it listens on, for the service manager.
  std::string status() const;

  /// The address `bind` names (--bind). Throws std::runtime_error naming
  /// --bind when it names none.
  static asio::ip::address address(const std::string& bind);

  /// Starts accepting.
  void start();

  /// Stops accepting for good (shutdown, spec N-SHUT-1).
  void close();

protected:
  /// A connection was accepted onto `w`'s io_context.
  virtual void accepted(worker_socket socket, worker& w) = 0;

private:
  void announce() const;
  void do_accept();
  void on_accept(worker& w, const asio::error_code& ec, worker_socket socket);

  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer backoff_;
  std::vector<std::unique_ptr<worker>>& workers_;
  std::size_t next_worker_ = 0; // round robin for new connections
  const char* service_;
  const char* flag_;
  bool paused_ = false; // out of descriptors: logged once per episode
  bool closed_ = false;
};

/// The chat service's listener, plain or TLS (spec 3.1): hands connections
/// to server::accept_chat.
class chat_listener final : public listener
{
public:
  chat_listener(server& srv, asio::io_context& main, std::vector<std::unique_ptr<worker>>& workers,
                bool tls = false);

private:
  void accepted(worker_socket socket, worker& w) override;
  server& server_;
  bool tls_;
};

/// The echo service's listener: hands connections to server::accept_echo.
class echo_listener final : public listener
{
public:
  echo_listener(server& srv, asio::io_context& main, std::vector<std::unique_ptr<worker>>& workers);

private:
  void accepted(worker_socket socket, worker& w) override;
  server& server_;
};

} // namespace natter::server

#endif // NATTER_SERVER_LISTENER_HPP
