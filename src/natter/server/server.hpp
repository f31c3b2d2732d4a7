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
// in one sendmsg of a span or two of the log, whatever its length. Why this
// model, with the figures that chose it: bench/RESULTS.md.
#ifndef NATTER_SERVER_SERVER_HPP
#define NATTER_SERVER_SERVER_HPP

#include "natter/cluster/node.hpp"
#include "natter/core/room.hpp"
#include "natter/proto/reply.hpp"
#include "natter/server/listener.hpp"
#include "natter/server/metrics.hpp"
#include "natter/server/metrics_listener.hpp"
#include "natter/server/options.hpp"
#include "natter/server/registry.hpp"
#include "natter/server/systemd.hpp"
#include "natter/server/tls_keeper.hpp"
#include "natter/server/worker.hpp"

#include <asio.hpp>

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

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

  /// What listen() checks before it binds anything, by the same code: the
  /// --bind address and, with --tls-port, the certificate and key (loaded
  /// and matched). Throws std::runtime_error naming the flag at fault.
  /// (natterd --check-config.)
  static void check(const options& opts);

  /// Opens the listeners, or takes those systemd passed (socket activation),
  /// and prints "natterd: <svc> listening on <addr>:<port>" for each. Throws
  /// std::runtime_error naming the flag to change, or the passed socket at
  /// fault, on failure.
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

  /// A chat connection was accepted onto `w` (chat_listener), on the TLS
  /// port when `tls`.
  void accept_chat(worker_socket socket, worker& w, bool tls);

  /// A TLS handshake completed: the connection leaves the handshake pool
  /// and is counted in as a chat connection, or refused (503, 504).
  std::optional<proto::reply_code> tls_established(const asio::ip::tcp::endpoint& peer);

  /// A TLS handshake failed or timed out: the connection leaves the pool.
  void tls_failed(const asio::ip::tcp::endpoint& peer, std::string_view reason);

  /// The TLS port's certificate keeper (null without a TLS port).
  tls_keeper* tls() noexcept { return tls_.get(); }

  /// An echo connection was accepted (echo_listener).
  void accept_echo(worker_socket socket);

private:
  asio::io_context& main_context() noexcept { return workers_.front()->context(); }
  /// Runs worker `i` on the calling thread, counting into its block.
  void run_worker(std::size_t i);
  /// The listeners, null for a service that is off.
  std::array<listener*, 4> listeners() const;
  /// What the listeners listen on, for the service manager.
  std::string listening() const;
  void do_await_signal();
  void reload();
  void begin_shutdown();
  void stop_workers();
  void open_chat();
  void listen_on(listener& l, const char* name, const std::string& bind, unsigned short port);
  void start_chat();

  options options_;
  // Declared before workers_, so it outlives every handler (and the sessions
  // they own) that ~io_context destroys after a stop with work still queued.
  core::room room_;
  // With --redis: the room's link to the cluster. After room_ (it calls
  // the room), before workers_ (their sessions call it as they go).
  std::unique_ptr<cluster::node> cluster_;
  registry registry_;
  // One per --threads; the first also runs the listeners, signals and the
  // shutdown deadline.
  std::vector<std::unique_ptr<worker>> workers_;
  asio::signal_set signals_;
  asio::steady_timer stop_timer_;
  std::unique_ptr<tls_keeper> tls_; // with --tls-port
  std::unique_ptr<chat_listener> chat_;
  std::unique_ptr<chat_listener> tls_chat_;
  std::unique_ptr<echo_listener> echo_;
  std::unique_ptr<metrics> metrics_;               // with --metrics: the threads' counts
  std::unique_ptr<metrics_listener> metrics_port_; // ...and where they are served
  // tls_ for the scrapes, which render on any worker's thread: set once
  // tls_ is, which a cluster's node does only after joining (open_chat).
  std::atomic<const tls_keeper*> tls_shown_{nullptr};
  std::optional<passed_sockets> passed_; // systemd's, while the listeners open
  bool started_ = false;                 // run() began (the main context's thread only)
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<std::size_t> echo_held_{0}; // octets all echo connections hold
};

/// "1.2.3.4:5" or "[::1]:5" for logs.
std::string to_string(const asio::ip::tcp::endpoint& ep);

} // namespace natter::server

#endif // NATTER_SERVER_SERVER_HPP
