// natter-bench: CPU and memory of this process and of the server, read
// from getrusage() and /proc.
#ifndef NATTER_BENCH_PROCESS_STATS_HPP
#define NATTER_BENCH_PROCESS_STATS_HPP

#include <cstdint>

namespace natter::bench
{

/// CPU used by this process and by the server (the process `pid` and all
/// its descendants, so forking servers such as xinetd count in full) over
/// an interval of wall time.
class cpu_meter
{
public:
  explicit cpu_meter(int server_pid) : pid_(server_pid) {}
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
  int pid_;
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

} // namespace natter::bench

#endif // NATTER_BENCH_PROCESS_STATS_HPP
