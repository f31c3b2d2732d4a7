// natterd's time of day for messages (spec N-MSG-5 to N-MSG-7): the steady
// time a session was given for the input it processes, mapped to the system
// clock. The offset between the two clocks is taken again once a second of
// steady time, so that a step of the system clock shows in message times
// within a second, and a message costs no clock read of its own (a read of
// the system clock costs more than the rest of a message's HISTORY line).
#ifndef NATTER_SERVER_WALL_CLOCK_HPP
#define NATTER_SERVER_WALL_CLOCK_HPP

#include "natter/core/config.hpp"

#include <chrono>
#include <functional>

namespace natter::server
{

/// A core::config::wall_clock on the system clock. Called by one thread at a
/// time (the room calls it under its lock).
inline std::function<core::wall_time(core::time_point)> system_wall_clock()
{
  using wall_duration = core::wall_time::duration;
  return [offset = wall_duration{}, next = core::time_point::min()](core::time_point now) mutable
  {
    using std::chrono::duration_cast;
    if (now >= next)
    {
      offset = std::chrono::system_clock::now().time_since_epoch() -
               duration_cast<wall_duration>(core::clock::now().time_since_epoch());
      next = now + std::chrono::seconds(1);
    }
    return core::wall_time(duration_cast<wall_duration>(now.time_since_epoch()) + offset);
  };
}

} // namespace natter::server

#endif // NATTER_SERVER_WALL_CLOCK_HPP
