// natter-bench: CPU and memory of this process and of the server, read
// from getrusage() and /proc.
#ifndef NATTER_BENCH_PROCESS_STATS_HPP
#define NATTER_BENCH_PROCESS_STATS_HPP

#include <cstdint>
#include <utility>
#include <vector>

namespace natter::bench
{

/// CPU used by this process and by the server (each of its processes and
/// all their descendants, so forking servers such as xinetd count in full,
/// and a cluster's nodes and Redis are summed) over an interval of wall
/// time.
class cpu_meter
{
public:
  explicit cpu_meter(std::vector<int> server_pids) : pids_(std::move(server_pids)) {}
  /// Takes the first reading.
  void start();
  /// Takes the second reading.
  void stop();
  double wall_seconds() const noexcept { return wall_; }
  /// CPU seconds of this process over the interval.
  double self_seconds() const noexcept { return self_; }
  /// CPU seconds of the server over the interval; negative when unknown.
  double server_seconds() const noexcept { return server_; }

private:
  std::vector<int> pids_;
  std::uint64_t t0_ = 0;
  double self0_ = 0, server0_ = 0;
  double wall_ = 0, self_ = 0, server_ = -1;
};

/// CPU seconds of `pid` (its exited threads included) and its live
/// descendants (plus the children it has reaped); negative when `pid` does
/// not exist.
double process_tree_cpu_seconds(int pid);

/// VmRSS of `pid` in KiB; -1 when unknown.
long rss_kib(int pid);

/// The descriptors `pid` has open; -1 when it cannot be read.
long open_fds(int pid);

/// The sum of rss_kib() over `pids`; -1 when any is unknown or there are
/// none.
long rss_kib(const std::vector<int>& pids);

/// The sum of process_tree_cpu_seconds() over `pids`; negative when any
/// is unknown or there are none.
double process_tree_cpu_seconds(const std::vector<int>& pids);

} // namespace natter::bench

#endif // NATTER_BENCH_PROCESS_STATS_HPP
