// When to try again after the connection is lost: capped exponential
// backoff with jitter, reset only by a connection that stayed up. Pure: the
// caller passes the time, so tests need no clock.
#ifndef NATTER_CLIENT_BACKOFF_HPP
#define NATTER_CLIENT_BACKOFF_HPP

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

namespace natter::client
{

/// Reconnection delays across the life of the program.
class backoff
{
public:
  using clock = std::chrono::steady_clock;

  /// Fixed for the life of the program.
  struct options
  {
    std::chrono::milliseconds first{500}; ///< the first delay (before jitter)
    std::chrono::milliseconds max{15000}; ///< the cap (before jitter)
    std::chrono::seconds stable{30};      ///< a connection up this long resets the delays
  };

  /// `seed` seeds the jitter.
  backoff(options opts, std::uint32_t seed) : opts_(opts), jitter_(seed) {}

  /// A connection is up at `now`.
  void connected(clock::time_point now) noexcept { up_since_ = now; }

  /// The connection was lost, or an attempt failed, at `now`. Returns the
  /// delay before the next attempt: first x 2^n capped at max, where n is
  /// the number of attempts since the last connection that stayed up
  /// `stable`, then scaled by a random factor in [1/2, 1] so that clients
  /// dropped together do not come back together.
  std::chrono::milliseconds next(clock::time_point now);

  /// Attempts handed a delay since the last connection that stayed up.
  unsigned attempts() const noexcept { return attempts_; }

private:
  options opts_;
  std::mt19937 jitter_;
  std::optional<clock::time_point> up_since_;
  unsigned attempts_ = 0;
};

} // namespace natter::client

#endif // NATTER_CLIENT_BACKOFF_HPP
