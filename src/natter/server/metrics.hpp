// natterd's metrics (spec 13.2, natterd --metrics): what each worker
// thread counts, and the Prometheus text exposition (format 0.0.4) a scrape
// is answered with. Counting is per thread and lock-free: each worker
// thread owns a block (the core's counters and natterd's own), adds to it
// with a relaxed load and store, and a scrape sums the blocks; gauges are
// read from the room, the TLS keeper and the blocks at scrape time.
// Without --metrics no block is installed and nothing is counted.
#ifndef NATTER_SERVER_METRICS_HPP
#define NATTER_SERVER_METRICS_HPP

#include "natter/cluster/node.hpp"
#include "natter/core/counters.hpp"
#include "natter/proto/reply.hpp"

#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace natter::core
{
class room;
}

namespace natter::server
{

class tls_keeper;

/// The services whose connections are counted apart.
enum class service : std::uint8_t
{
  chat, ///< the plain chat port
  tls,  ///< the TLS port, handshakes included
  echo, ///< the echo port
};

inline constexpr std::size_t service_count = 3;

/// One worker thread's counts: the core's and natterd's own. Only its
/// thread adds to it; a cache line of its own, so no other thread's adds
/// touch its lines.
struct alignas(64) thread_counters : core::counters
{
  using per_service = std::array<core::counter, service_count>;
  per_service accepted;       ///< connections accepted, refused ones included
  per_service opened;         ///< ...and admitted (TLS: to its handshake)
  per_service closed;         ///< ...of those, ended
  per_service received_bytes; ///< octets read from sockets (TLS: records)
  per_service sent_bytes;     ///< octets the sockets took
  core::counter tls_handshake_failures;
};

/// The calling thread's block; null when natterd runs without --metrics.
/// (natterd installs only thread_counters as the core's block.)
inline thread_counters* counting() noexcept
{
  return static_cast<thread_counters*>(core::counting());
}

/// Counts `n` octets read on a connection of `s`.
inline void count_received(service s, std::size_t n) noexcept
{
  if (thread_counters* c = counting())
    c->received_bytes[static_cast<std::size_t>(s)].add(n);
}

/// Counts `n` octets written on a connection of `s`.
inline void count_sent(service s, std::size_t n) noexcept
{
  if (thread_counters* c = counting())
    c->sent_bytes[static_cast<std::size_t>(s)].add(n);
}

/// Counts a connection of `s` into (or out of) one of the per-service sets.
inline void count_connection(thread_counters::per_service thread_counters::*which,
                             service s) noexcept
{
  if (thread_counters* c = counting())
    (c->*which)[static_cast<std::size_t>(s)].add();
}

/// Counts a reply sent by natterd outside any session (503, 504).
inline void count_refusal(proto::reply_code code) noexcept
{
  if (thread_counters* c = counting())
    c->error_reply(static_cast<int>(code));
}

/// The blocks of every worker thread, and the exposition of their sums.
class metrics
{
public:
  /// One block for each of `threads` threads (the workers, and a cluster
  /// node's own).
  explicit metrics(std::size_t threads);
  metrics(const metrics&) = delete;
  metrics& operator=(const metrics&) = delete;

  /// Makes block `i` the calling thread's (each counting thread, before it
  /// does anything else).
  void bind_thread(std::size_t i) noexcept;

  /// The bounds of the per-connection send queue histogram, in octets.
  static constexpr std::array<std::size_t, 7> queue_buckets{
      0, 1024, 4096, 16 * 1024, 64 * 1024, 256 * 1024, 1024 * 1024};

  /// The exposition: every metric with its HELP and TYPE lines, from the
  /// blocks' sums, the room (members, history, send queues: one look at
  /// each connection under the room's lock) and, with a TLS port, `tls`.
  /// In a cluster, `cluster` is the node's counts (spec section 17).
  std::string render(core::room& room, const tls_keeper* tls,
                     const cluster::node::counts* cluster = nullptr) const;

private:
  template <class Block>
  std::uint64_t sum(core::counter Block::*which) const noexcept;
  std::array<std::uint64_t, service_count>
  sum(thread_counters::per_service thread_counters::*which) const noexcept;

  std::vector<std::unique_ptr<thread_counters>> blocks_;
};

} // namespace natter::server

#endif // NATTER_SERVER_METRICS_HPP
