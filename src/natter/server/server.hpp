// natterd: the chat service and the RFC 862 echo service on one io_context.
//
// Threads: one io_context run by --threads threads, one strand per
// connection. The alternative, one io_context per thread with message
// passing, would need a cross-thread post for every recipient of every
// broadcast and would still need the nick registry shared; with strands a
// broadcast is one pass over the room under one mutex that queues a shared
// line into each recipient's outbox (a short critical section: a pointer
// push and a byte count), so every event of a command is queued before its
// sender's next command runs (the barrier the protocol promises), and the
// kernel's epoll spreads connections over threads for free. On this 2-core
// machine the room mutex is not the bottleneck: the socket writes are.
#ifndef NATTER_SERVER_SERVER_HPP
#define NATTER_SERVER_SERVER_HPP

#include "natter/core/room.hpp"
#include "natter/proto/reply.hpp"
#include "natter/server/options.hpp"

#include <asio.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace natter::server
{

class chat_connection;
class echo_connection;

/// Owns the io_context, listeners, signals and the registry of connections.
class server
{
public:
  explicit server(const options& opts);
  server(const server&) = delete;
  server& operator=(const server&) = delete;
  ~server();

  /// Opens the listeners and prints "natterd: <svc> listening on <addr>:<port>"
  /// for each. Throws std::runtime_error naming the flag to change on failure.
  void listen();

  /// Runs until shutdown completes. Returns the exit status.
  int run();

  /// The chat room.
  core::room& room() noexcept { return room_; }

  /// The options natterd was started with.
  const options& settings() const noexcept { return options_; }

  /// True once a shutdown signal arrived.
  bool stopping() const noexcept { return stopping_.load(); }

  /// A chat connection ended: frees its slot and logs `reason`.
  void chat_closed(chat_connection* c, const asio::ip::tcp::endpoint& peer, const char* reason);

  /// An echo connection ended.
  void echo_closed(echo_connection* c);

private:
  struct listener
  {
    asio::ip::tcp::acceptor acceptor;
    asio::steady_timer backoff;
    bool chat;
    bool paused = false; // out of descriptors: logged once per episode
  };

  void open(listener& l, unsigned short port, const char* flag);
  void do_accept(listener& l);
  void on_accept(listener& l, const asio::error_code& ec, asio::ip::tcp::socket socket);
  void accept_chat(asio::ip::tcp::socket socket);
  void accept_echo(asio::ip::tcp::socket socket);
  std::optional<proto::reply_code> admit(const asio::ip::address& addr);
  void do_await_signal();
  void begin_shutdown();
  void check_stopped();

  options options_;
  // Declared before io_, so it outlives every handler (and the sessions they
  // own) that ~io_context destroys after a stop with work still queued.
  core::room room_;
  asio::io_context io_;
  asio::strand<asio::io_context::executor_type> strand_; // listeners, signals
  asio::signal_set signals_;
  asio::steady_timer stop_timer_;
  std::unique_ptr<listener> chat_;
  std::unique_ptr<listener> echo_;
  std::atomic<bool> stopping_{false};
  core::time_point hard_deadline_{};

  std::mutex mutex_; // guards the registry below
  std::unordered_map<chat_connection*, std::weak_ptr<chat_connection>> chats_;
  std::unordered_map<echo_connection*, std::weak_ptr<echo_connection>> echoes_;
  std::map<asio::ip::address, std::size_t> per_ip_;
};

/// The address a client is counted under: IPv4-mapped IPv6 becomes IPv4.
asio::ip::address canonical(const asio::ip::address& a);

/// "1.2.3.4:5" or "[::1]:5" for logs.
std::string to_string(const asio::ip::tcp::endpoint& ep);

} // namespace natter::server

#endif // NATTER_SERVER_SERVER_HPP
