// natter-bench: the one clock every figure is taken with.
#ifndef NATTER_BENCH_CLOCK_HPP
#define NATTER_BENCH_CLOCK_HPP

#include <cstdint>

namespace natter::bench
{

/// CLOCK_MONOTONIC in nanoseconds.
std::uint64_t now_ns() noexcept;

/// `s` seconds in nanoseconds (truncated), for deadlines.
inline std::uint64_t seconds_to_ns(double s) noexcept
{
  return static_cast<std::uint64_t>(s * 1e9);
}

/// `ns` nanoseconds in seconds.
inline double ns_to_seconds(std::uint64_t ns) noexcept
{
  return static_cast<double>(ns) / 1e9;
}

} // namespace natter::bench

#endif // NATTER_BENCH_CLOCK_HPP
