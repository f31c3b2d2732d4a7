// What the core counts for natterd's metrics (spec 13.2): a block of
// counters per thread, each written by that thread alone and read by any
// (a scrape sums the blocks). The core adds to the calling thread's block
// when one is installed, with a relaxed load and store, no lock and no
// read-modify-write; with none (natterd without --metrics, the tests, the
// fuzzers) it counts nothing. natterd installs one in each worker thread
// and, in a cluster, in each of the node's threads.
#ifndef NATTER_CORE_COUNTERS_HPP
#define NATTER_CORE_COUNTERS_HPP

#include <array>
#include <atomic>
#include <cstdint>

namespace natter::core
{

/// A count that one thread adds to and any thread reads.
class counter
{
public:
  /// Only the owning thread adds: a load and a store, both relaxed.
  void add(std::uint64_t n = 1) noexcept
  {
    n_.store(n_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t value() const noexcept { return n_.load(std::memory_order_relaxed); }

private:
  std::atomic<std::uint64_t> n_{0};
};

/// What the core counts, in one thread's block.
struct counters
{
  /// Lines framed from clients' input, ignored empty ones included.
  counter lines_received;
  /// Lines queued to clients: replies, final lines, and each event once per
  /// recipient.
  counter lines_sent;
  /// MSG lines the room accepted.
  counter room_messages;
  /// Connections closed as slow consumers (524).
  counter sendq_drops;
  /// Times flood control paused the reading of a client.
  counter flood_pauses;
  /// Replies of 4xx and 5xx queued to a client, at code - 400.
  std::array<counter, 200> error_replies;

  /// Counts one reply of `code` when it is a 4xx or 5xx.
  void error_reply(int code) noexcept
  {
    if (code >= 400 && code < 600)
      error_replies[static_cast<std::size_t>(code - 400)].add();
  }
};

/// The calling thread's block; null when nothing is counted.
inline constinit thread_local counters* this_thread_counters = nullptr;

/// The calling thread's block, or null.
inline counters* counting() noexcept
{
  return this_thread_counters;
}

} // namespace natter::core

#endif // NATTER_CORE_COUNTERS_HPP
