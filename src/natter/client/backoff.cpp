#include "natter/client/backoff.hpp"

namespace natter::client
{

std::chrono::milliseconds backoff::next(clock::time_point now)
{
  // A connection that registered and was dropped at once proves nothing:
  // only one that stayed up a while earns a fast retry (issue 19, 5).
  if (up_since_ && now - *up_since_ >= opts_.stable)
    attempts_ = 0;
  up_since_.reset();
  std::chrono::milliseconds delay = opts_.first;
  for (unsigned i = 0; i < attempts_ && delay < opts_.max; ++i)
    delay *= 2;
  if (delay > opts_.max)
    delay = opts_.max;
  ++attempts_;
  std::uniform_int_distribution<std::chrono::milliseconds::rep> scale(delay.count() / 2,
                                                                      delay.count());
  return std::chrono::milliseconds(scale(jitter_));
}

} // namespace natter::client
