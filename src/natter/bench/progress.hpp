// natter-bench: the progress line on a terminal's stderr.
#ifndef NATTER_BENCH_PROGRESS_HPP
#define NATTER_BENCH_PROGRESS_HPP

#include <cstdint>
#include <string>

namespace natter::bench
{

/// A status line on stderr, rewritten in place, only when stderr is a
/// terminal; at most four updates a second.
class progress
{
public:
  progress();
  /// True when an update is due now (cheap; call often).
  bool due(std::uint64_t now) const noexcept { return enabled_ && now >= next_; }
  /// Shows `text` and schedules the next update.
  void show(std::uint64_t now, const std::string& text);
  /// Clears the line.
  void finish();

private:
  bool enabled_ = false;
  bool shown_ = false;
  std::uint64_t next_ = 0;
};

} // namespace natter::bench

#endif // NATTER_BENCH_PROGRESS_HPP
