#include "natter/bench/latency_histogram.hpp"

namespace natter::bench
{

std::uint64_t latency_histogram::quantile(double q) const noexcept
{
  if (count_ == 0)
    return 0;
  auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_));
  if (rank >= count_)
    rank = count_ - 1;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i)
  {
    seen += counts_[i];
    if (seen > rank)
    {
      if (i < (1u << sub_bits))
        return i;
      const std::size_t shift = (i >> sub_bits) - 1;
      const std::uint64_t low = ((1u << sub_bits) + (i & ((1u << sub_bits) - 1))) << shift;
      const std::uint64_t mid = low + ((std::uint64_t{1} << shift) >> 1);
      return mid < max_ ? mid : max_;
    }
  }
  return max_;
}

} // namespace natter::bench
