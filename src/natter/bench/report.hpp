// natter-bench: the report every mode ends with, a table for people or one
// JSON object for bench/compare (its keys are what bench/compare and
// tests/bench/smoke.sh read).
#ifndef NATTER_BENCH_REPORT_HPP
#define NATTER_BENCH_REPORT_HPP

#include "natter/bench/latency_histogram.hpp"
#include "natter/bench/process_stats.hpp"

#include <string>
#include <utility>
#include <vector>

namespace natter::bench
{

/// An ordered list of results, printed as a table or as one JSON object.
class report
{
public:
  explicit report(std::string mode) : mode_(std::move(mode)) {}
  /// A number: shown with `precision` decimals and `unit` in the table.
  void number(std::string key, std::string label, double value, int precision = 0,
              std::string unit = {});
  /// A string.
  void text(std::string key, std::string label, std::string value);
  /// Prints to stdout.
  void print(bool json) const;

private:
  struct row
  {
    std::string key, label, shown, json;
  };
  std::string mode_;
  std::vector<row> rows_;
};

/// Adds the CPU figures of `m` to `r`.
void report_cpu(report& r, const cpu_meter& m);

/// Adds p50, p99 and max of `h` to `r`, in milliseconds, keys prefixed.
void report_latency(report& r, const std::string& prefix, const std::string& what,
                    const latency_histogram& h);

} // namespace natter::bench

#endif // NATTER_BENCH_REPORT_HPP
