#include "natter/bench/process_stats.hpp"

#include <gtest/gtest.h>

#include <ctime>
#include <thread>
#include <unistd.h>

namespace natter::bench
{
namespace
{

double thread_cpu_seconds()
{
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// A server that runs a thread per connection (stunnel) spends its CPU in
// threads that have exited by the time the run ends: their time still
// counts.
TEST(BenchProcessStats, CountsTheTimeOfThreadsThatHaveExited)
{
  const double before = process_tree_cpu_seconds(static_cast<int>(::getpid()));
  ASSERT_GE(before, 0);
  double spent = 0;
  std::thread burner(
      [&spent]
      {
        const double start = thread_cpu_seconds();
        // Bounded by the thread's own CPU time: 0.3 s of it.
        while (thread_cpu_seconds() - start < 0.3)
        {
        }
        spent = thread_cpu_seconds() - start;
      });
  burner.join();
  const double after = process_tree_cpu_seconds(static_cast<int>(::getpid()));
  // utime + stime are whole ticks (1/100 s): allow two.
  EXPECT_GE(after - before, spent - 0.02);
}

TEST(BenchProcessStats, NoSuchProcessIsNegative)
{
  EXPECT_LT(process_tree_cpu_seconds(-1), 0);
}

} // namespace
} // namespace natter::bench
