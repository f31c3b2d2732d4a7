// The fuzzers' invariant check: print what broke and abort, so libFuzzer and
// the replay test both report the input.
#ifndef NATTER_FUZZ_CHECK_HPP
#define NATTER_FUZZ_CHECK_HPP

#include <cstdio>
#include <cstdlib>

namespace natter::fuzz
{

/// Aborts with `what` when `ok` is false.
inline void check(bool ok, const char* what)
{
  if (!ok)
  {
    std::fprintf(stderr, "fuzz invariant failed: %s\n", what);
    std::abort();
  }
}

/// A small deterministic generator: the input's own bytes choose its splits.
class splitter
{
public:
  explicit splitter(unsigned seed) noexcept : state_(seed * 2654435761u + 1) {}

  /// The next chunk length, 1..max.
  std::size_t next(std::size_t max) noexcept
  {
    state_ = state_ * 1103515245u + 12345u;
    return 1 + (state_ >> 16) % max;
  }

private:
  unsigned state_;
};

} // namespace natter::fuzz

#endif // NATTER_FUZZ_CHECK_HPP
