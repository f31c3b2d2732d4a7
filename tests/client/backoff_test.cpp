#include "natter/client/backoff.hpp"

#include <gtest/gtest.h>

#include <set>

namespace natter::client
{
namespace
{

using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

backoff make(std::uint32_t seed = 1)
{
  return backoff(backoff::options{500ms, 15000ms, 30s}, seed);
}

// Issue 4: "reconnects with capped exponential backoff".
TEST(Backoff, DoublesUpToTheCapWithJitter)
{
  backoff b = make();
  const backoff::clock::time_point t{};
  ms full = 500ms;
  for (int i = 0; i < 10; ++i)
  {
    const ms d = b.next(t);
    EXPECT_GE(d, full / 2) << i;
    EXPECT_LE(d, full) << i;
    full = std::min<ms>(full * 2, 15000ms);
  }
  EXPECT_EQ(b.attempts(), 10u);
}

// Issue 19, 5: "Reconnect backoff resets on every registration: reset only
// after the connection stayed up a while (about 30 s)".
TEST(Backoff, OnlyAConnectionThatStayedUpResetsIt)
{
  backoff b = make();
  backoff::clock::time_point t{};
  for (int i = 0; i < 4; ++i)
  {
    b.connected(t);
    t += 29s; // up, registered, and dropped before 30 s
    b.next(t);
  }
  EXPECT_EQ(b.attempts(), 4u);
  EXPECT_GE(b.next(t), 4000ms) << "the fifth delay is 8 s before jitter";
  b.connected(t);
  t += 30s;
  const ms after_stable = b.next(t);
  EXPECT_GE(after_stable, 250ms);
  EXPECT_LE(after_stable, 500ms);
  EXPECT_EQ(b.attempts(), 1u);
}

TEST(Backoff, JitterSpreadsClientsDroppedTogether)
{
  std::set<ms::rep> first;
  for (std::uint32_t seed = 1; seed <= 20; ++seed)
    first.insert(make(seed).next({}).count());
  EXPECT_GE(first.size(), 10u);
}

} // namespace
} // namespace natter::client
