// natter-bench: the one clock every figure is taken with.
#ifndef NATTER_BENCH_CLOCK_HPP
#define NATTER_BENCH_CLOCK_HPP

#include <cstdint>

namespace natter::bench
{

/// CLOCK_MONOTONIC in nanoseconds.
std::uint64_t now_ns() noexcept;

} // namespace natter::bench

#endif // NATTER_BENCH_CLOCK_HPP
