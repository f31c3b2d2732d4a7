#include "natter/bench/clock.hpp"

#include <ctime>

namespace natter::bench
{

std::uint64_t now_ns() noexcept
{
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

} // namespace natter::bench
