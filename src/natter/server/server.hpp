// natterd: the chat service and the RFC 862 echo service.
//
// Threads: one worker (an io_context run by one thread) per --threads, each
// connection pinned to one worker for life, so its handlers need no strand.
// The room is shared under one mutex: a broadcast appends its line once to
// the room's log under it (core/room_log.hpp), so every event of a command
// is queued before its sender's next command runs (the protocol's barrier),
// and wakes each recipient whose writer had gone idle, marking it for its
// worker's end-of-pass flush (worker.hpp): one cross-thread post per worker
// per pass, not one per recipient. A recipient's backlog of events leaves
// in one sendmsg of a span or two of the log, whatever its length.
//
// Measured against the previous model (one io_context run by every thread,
// a strand per connection, one post per woken recipient), natter-bench
// fanout, 10 senders, same machine and run (bench/RESULTS.md has the table):
// on one core, deliveries per server CPU second 10.5M -> 12.7M at 1000
// receivers and 10.1M -> 13.1M at 100, and p99 latency at 1000 messages/s
// 23.9 ms -> 12.7 ms; with --threads 2 (sharing the cores with the
// generator) 8.6M -> 9.5M and 7.7M -> 8.2M. The strand model cannot flush
// per pass without a post per connection, and its posts and strand locks
// bought nothing here. The shared log (session 3) then took fan-out 1000 from
// 11.4M to 26.4M deliveries per server CPU second in one run: queueing a
// shared line per recipient had cost about half of natterd's time.
#ifndef NATTER_SERVER_SERVER_HPP
#define NATTER_SERVER_SERVER_HPP

#include "natter/core/room.hpp"
#include "natter/proto/reply.hpp"
#include "natter/server/options.hpp"
#include "natter/server/worker.hpp"

#include <asio.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace natter::server
{

class echo_connection;

/// Owns the workers, listeners and signals, and counts the connections.
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
  void chat_closed(const asio::ip::tcp::endpoint& peer, std::string_view reason);

  /// An echo connection now holds `delta` octets more (or fewer) that its
  /// socket did not take; closes the largest holders when the echo
  /// service's total passes --echo-max-total-sendq.
  void echo_holds(std::ptrdiff_t delta);

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
  asio::io_context& main_context() noexcept { return workers_.front()->context(); }
  void do_accept(listener& l);
  void on_accept(listener& l, worker& w, const asio::error_code& ec, worker_socket socket);
  void accept_chat(worker_socket socket, worker& w);
  void accept_echo(worker_socket socket);
  std::optional<proto::reply_code> admit(const asio::ip::address& addr);
  void do_await_signal();
  void begin_shutdown();
  void check_stopped();

  options options_;
  // Declared before workers_, so it outlives every handler (and the sessions
  // they own) that ~io_context destroys after a stop with work still queued.
  core::room room_;
  // One per --threads; the first also runs the listeners, signals and the
  // shutdown timer.
  std::vector<std::unique_ptr<worker>> workers_;
  std::size_t next_worker_ = 0; // round robin for new connections
  asio::signal_set signals_;
  asio::steady_timer stop_timer_;
  std::unique_ptr<listener> chat_;
  std::unique_ptr<listener> echo_;
  std::atomic<bool> stopping_{false};
  core::time_point hard_deadline_{};

  std::mutex mutex_;      // guards the counts and registry below
  std::size_t chats_ = 0; // open chat connections (the room knows them all)
  std::unordered_map<echo_connection*, std::weak_ptr<echo_connection>> echoes_;
  std::atomic<std::size_t> echo_held_{0}; // octets all echo connections hold
  std::map<asio::ip::address, std::size_t> per_ip_;
};

/// The address a client is counted under: IPv4-mapped IPv6 becomes IPv4.
asio::ip::address canonical(const asio::ip::address& a);

/// "1.2.3.4:5" or "[::1]:5" for logs.
std::string to_string(const asio::ip::tcp::endpoint& ep);

} // namespace natter::server

#endif // NATTER_SERVER_SERVER_HPP
