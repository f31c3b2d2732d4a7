#include "natter/bench/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace natter::bench
{

progress::progress() : enabled_(::isatty(STDERR_FILENO) == 1) {}

void progress::show(std::uint64_t now, const std::string& text)
{
  std::fprintf(stderr, "\r\033[K%s", text.c_str());
  std::fflush(stderr);
  shown_ = true;
  next_ = now + 250'000'000u;
}

void progress::finish()
{
  if (shown_)
  {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  }
  shown_ = false;
}

} // namespace natter::bench
