// One natterd node of a cluster (spec/natter.md section 17): the link
// between the room (natter::core) and Redis. Two threads of its own, each
// with its own blocking connection, so no I/O thread ever waits on Redis:
// - the writer sends the room's calls in the order the room made them,
//   pipelined, numbered per run so a retry after a lost connection is
//   applied once (N-CLU-10), renews the node's leases and registers the
//   node (and its clients again) whenever Redis forgot it;
// - the reader follows the log and the node's inbox from its cursors
//   (XREAD BLOCK, whose timeout plus a margin is the dead-connection check,
//   N-CLU-20) and hands every entry to the room in the log's order, which
//   is the only way anything reaches the room (N-CLU-2).
#ifndef NATTER_CLUSTER_NODE_HPP
#define NATTER_CLUSTER_NODE_HPP

#include "natter/cluster/store.hpp"
#include "natter/core/cluster_link.hpp"
#include "natter/core/room.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace natter::cluster
{

class node final : public core::cluster_link
{
public:
  struct settings
  {
    redis_address where;
    node_identity id;
    std::size_t backlog = 256; ///< --redis-backlog: MSGs held at most (N-CLU-18)
    /// How long a request may go unanswered before the connection counts
    /// as lost; the reader's XREAD blocks for `block` and waits this much
    /// longer.
    std::chrono::milliseconds timeout{2000};
    std::chrono::milliseconds block{1000};
    /// One line per event worth an operator's attention (a lost
    /// connection, a gap); `warning` says how loud.
    std::function<void(bool warning, const std::string&)> log;
    /// Runs first on each of the node's threads, with its number (0 the
    /// writer, 1 the reader): natterd gives each a block of counters.
    std::function<void(std::size_t)> on_thread;
  };

  /// The node's threads, each calling the room on its own.
  static constexpr std::size_t threads = 2;

  node(settings s, core::room& room);
  node(const node&) = delete;
  node& operator=(const node&) = delete;
  ~node() override;

  /// Starts both threads; the node keeps trying to reach Redis from then
  /// on. Call after the room was given this link (room::set_cluster).
  void start();

  /// `f` runs once, on the node's thread, when it first joined the cluster.
  void on_joined(std::function<void()> f) { joined_hook_ = std::move(f); }

  /// Waits until the node has joined the cluster (registered, the room's
  /// list and history read), up to `limit`; true once it has.
  bool wait_joined(std::chrono::milliseconds limit);

  /// Sends what is queued (the departures of a shutdown) for up to
  /// `limit`, then stops both threads.
  void stop(std::chrono::milliseconds limit);

  // ---- core::cluster_link ----
  bool connected() const noexcept override { return connected_.load(std::memory_order_acquire); }
  void join(core::client_id c, std::string_view nick) override;
  void rename(core::client_id c, std::string_view old_nick, std::string_view nick) override;
  taken message(core::client_id c, std::string_view nick, std::string_view text) override;
  void quit(core::client_id c, std::string_view nick, std::string_view or_nick,
            std::string_view reason) override;
  void tell(core::client_id c, std::string_view from, std::string_view to,
            std::string_view text) override;
  void barrier(core::client_id c) override;

  /// Counts, for the metrics (spec 13.2), the log and tests.
  struct counts
  {
    std::uint64_t reconnects = 0; ///< times the node was cut off and got through again
    std::uint64_t gaps = 0;       ///< GAPs sent (N-CLU-23)
    std::uint64_t refused = 0;    ///< MSGs refused with a full backlog
    std::uint64_t entries = 0;    ///< log entries read and delivered
    std::uint64_t lag_ms = 0;     ///< the last read: its newest entry's age when delivered
    std::uint64_t backlog = 0;    ///< MSGs waiting for Redis now
    bool connected = false;       ///< whether Redis answers now
  };
  counts stats() const;

private:
  enum class kind : std::uint8_t
  {
    join,
    rename,
    message,
    quit,
    tell,
    barrier,
  };
  struct request
  {
    kind what;
    core::client_id client;
    std::uint64_t seq = 0; // given when first sent, kept for retries
    std::string a, b, c;   // the call's words (nicks, text, reason)
  };

  void enqueue(request r);
  void writer_loop();
  void reader_loop();
  bool writer_connect(std::unique_ptr<redis>& conn);
  void register_clients(redis& conn);
  void send_batch(redis& conn, std::deque<request>& batch);
  void answer(const request& r, const reply& rep);
  void beat(redis& conn);
  void got_through();
  void deliver(const read_result& got);
  void release_barriers();
  void note(bool warning, const std::string& what);
  void backoff(std::chrono::milliseconds& delay);
  std::string client_name(core::client_id c) const { return std::to_string(c); }

  const settings settings_;
  store store_;
  core::room& room_;

  std::atomic<bool> connected_{false};
  std::atomic<bool> stopping_{false};

  mutable std::mutex mutex_; // guards everything below
  std::condition_variable wake_writer_;
  std::condition_variable joined_cv_;
  std::deque<request> queue_; // not yet sent, in the room's order
  std::size_t queued_messages_ = 0;
  std::vector<core::client_id> slowed_; // senders waiting for room in the backlog
  std::uint64_t next_seq_ = 0;
  bool joined_ = false;
  std::string epoch_;              // the log's, as this node knows it
  std::string log_cursor_ = "0-0"; // the reader's, once joined
  std::string inbox_cursor_ = "0-0";
  std::uint64_t last_number_ = 0; // of the newest entry delivered
  bool cursor_set_ = false;       // the writer set where the reader starts
  struct waiting
  {
    core::client_id client;
    std::string log_tip, inbox_tip;
  };
  std::vector<waiting> barriers_; // tips the reader must reach
  counts counts_;

  std::function<void()> joined_hook_;
  std::thread writer_;
  std::thread reader_;
};

} // namespace natter::cluster

#endif // NATTER_CLUSTER_NODE_HPP
