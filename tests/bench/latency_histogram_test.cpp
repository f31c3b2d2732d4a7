#include "natter/bench/latency_histogram.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <limits>

namespace natter::bench
{
namespace
{

latency_histogram of(std::initializer_list<std::uint64_t> values)
{
  latency_histogram h;
  for (const std::uint64_t v : values)
    h.record(v);
  return h;
}

TEST(LatencyHistogram, EmptyHasNoValues)
{
  const latency_histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.max(), 0u);
  for (const double q : {0.0, 0.5, 0.99, 1.0})
    EXPECT_EQ(h.quantile(q), 0u) << q;
}

TEST(LatencyHistogram, CountsAndKeepsTheExactMaximum)
{
  const latency_histogram h = of({5, 1'000'003, 7, 999});
  EXPECT_EQ(h.count(), 4u);
  EXPECT_EQ(h.max(), 1'000'003u);
}

TEST(LatencyHistogram, SingleValueIsEveryQuantile)
{
  for (const std::uint64_t v : {0u, 1u, 17u, 63u, 64u, 65u, 128u, 1000u})
  {
    const latency_histogram h = of({v});
    for (const double q : {0.0, 0.5, 0.99, 1.0})
      EXPECT_EQ(h.quantile(q), v) << v << " at " << q;
  }
}

TEST(LatencyHistogram, SingleValueInTheUpperHalfOfItsBucketReadsAsTheMiddle)
{
  // 131 is in [128, 131]: the middle is 130, below the maximum.
  EXPECT_EQ(of({131}).quantile(0.5), 130u);
  // 1023 is in [1008, 1023]: the middle is 1016.
  EXPECT_EQ(of({1023}).quantile(0.5), 1016u);
}

TEST(LatencyHistogram, ValuesBelow64AreExact)
{
  latency_histogram h;
  for (std::uint64_t v = 0; v < 64; ++v)
    h.record(v);
  EXPECT_EQ(h.quantile(0.0), 0u);
  EXPECT_EQ(h.quantile(0.25), 16u); // rank 16 of 0..63
  EXPECT_EQ(h.quantile(0.5), 32u);
  EXPECT_EQ(h.quantile(0.99), 63u); // rank 63
  EXPECT_EQ(h.quantile(1.0), 63u);  // the rank is capped at the last value
}

TEST(LatencyHistogram, QuantilesOfOneToAHundred)
{
  latency_histogram h;
  for (std::uint64_t v = 1; v <= 100; ++v)
    h.record(v);
  // Rank floor(q * 100), so the bucket of value rank + 1: exact below 64,
  // two wide from 64 to 127 and read as the upper of the two.
  EXPECT_EQ(h.quantile(0.0), 1u);
  EXPECT_EQ(h.quantile(0.5), 51u);
  EXPECT_EQ(h.quantile(0.63), 65u);  // 64, in [64, 65]
  EXPECT_EQ(h.quantile(0.65), 67u);  // 66, in [66, 67]
  EXPECT_EQ(h.quantile(0.9), 91u);   // 91, in [90, 91]
  EXPECT_EQ(h.quantile(0.99), 100u); // 100, in [100, 101], capped at the maximum
  EXPECT_EQ(h.quantile(1.0), 100u);
}

TEST(LatencyHistogram, QuantileFollowsTheRanks)
{
  latency_histogram h;
  for (int i = 0; i < 90; ++i)
    h.record(10);
  for (int i = 0; i < 10; ++i)
    h.record(1000);
  EXPECT_EQ(h.quantile(0.5), 10u);
  EXPECT_EQ(h.quantile(0.89), 10u);  // rank 89: the 90th value
  EXPECT_EQ(h.quantile(0.9), 1000u); // rank 90, the 91st: [992, 1007], whose middle is 1000
  EXPECT_EQ(h.quantile(0.99), 1000u);
}

TEST(LatencyHistogram, BucketEdges)
{
  // Beside a larger value, so the maximum does not cap the reading.
  const auto low_value = [](std::uint64_t v) { return of({v, 1'000'000}).quantile(0.0); };
  EXPECT_EQ(low_value(31), 31u); // exact
  EXPECT_EQ(low_value(32), 32u); // exact: [32, 64) has one value per bucket
  EXPECT_EQ(low_value(63), 63u);
  EXPECT_EQ(low_value(64), 65u); // [64, 65]
  EXPECT_EQ(low_value(65), 65u);
  EXPECT_EQ(low_value(126), 127u); // [126, 127]
  EXPECT_EQ(low_value(127), 127u);
  EXPECT_EQ(low_value(128), 130u); // [128, 131]
  EXPECT_EQ(low_value(131), 130u);
  EXPECT_EQ(low_value(132), 134u); // [132, 135]
  EXPECT_EQ(low_value(255), 254u); // [252, 255]
  EXPECT_EQ(low_value(256), 260u); // [256, 263]
}

TEST(LatencyHistogram, ErrorStaysWithinTheBucket)
{
  // 32 buckets per power of two: a reading is at most half a bucket, 1/64
  // of the value, below it, and never above the maximum.
  for (std::uint64_t v = 64; v < (std::uint64_t{1} << 62); v += v / 7 + 1)
  {
    const std::uint64_t q = of({v}).quantile(0.5);
    EXPECT_LE(q, v);
    EXPECT_LE(v - q, v / 64) << v;
  }
}

TEST(LatencyHistogram, TopBucket)
{
  constexpr std::uint64_t top = std::numeric_limits<std::uint64_t>::max();
  const latency_histogram h = of({top});
  EXPECT_EQ(h.max(), top);
  // [63 << 58, top]: its middle, 127 << 57.
  EXPECT_EQ(h.quantile(1.0), std::uint64_t{127} << 57);
}

} // namespace
} // namespace natter::bench
