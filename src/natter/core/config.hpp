// Per-server settings the session and room logic obey (spec/natter.md,
// "Limits", "Flood control", "Slow consumers"). natterd fills one from its
// command line; tests and fuzzers build their own.
#ifndef NATTER_CORE_CONFIG_HPP
#define NATTER_CORE_CONFIG_HPP

#include "natter/core/limits.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

namespace natter::core
{

/// The clock sessions are driven by. Time is always passed in, never read,
/// so tests and fuzzers control it.
using clock = std::chrono::steady_clock;
using time_point = clock::time_point;

/// The time of day a message is stamped with (spec N-MSG-5..7): UTC.
using wall_time = std::chrono::system_clock::time_point;

/// Limits of the chat service.
struct config
{
  std::size_t max_line = limits::max_line;
  std::size_t max_sendq = limits::max_sendq;                   ///< registered client
  std::size_t unregistered_sendq = limits::unregistered_sendq; ///< before NICK
  std::size_t soft_sendq = limits::soft_sendq;                 ///< above it, stop reading
  std::size_t max_total_sendq = limits::max_total_sendq;       ///< over all clients
  double rate = limits::rate;   ///< lines per second; 0 turns flood control off
  double burst = limits::burst; ///< lines a client may send at once
  std::chrono::milliseconds registration_timeout{limits::registration_timeout};
  std::chrono::milliseconds idle_timeout{limits::idle_timeout}; ///< 0: none
  /// Room messages kept for HISTORY (spec 7.11); 0 keeps none.
  std::size_t history = limits::history;
  /// The epoch of the room's message ids (spec N-MSG-6): 1 to 32 digits and
  /// lower-case letters. Empty: the room picks 16 hex digits at random when
  /// it is built, so every numbering from 1 has an epoch of its own.
  std::string epoch;
  /// Maps the time a message is accepted at (the `now` its session was
  /// given) to the time of day it is stamped with, UTC; called once per
  /// message, under the room's lock. The core reads no clock of its own:
  /// natterd maps steady_clock to the system clock (server/wall_clock.hpp).
  /// Empty, a time point's count since its clock's epoch is taken as time
  /// since 1970 (tests and fuzzers that look at times pass their own).
  std::function<wall_time(time_point)> wall_clock;
  /// Octets per chunk of the room's event log (room_log.hpp); not a limit a
  /// client sees. Tests and fuzzers make it small to cross chunks often.
  std::size_t log_chunk = 64 * 1024;
};

} // namespace natter::core

#endif // NATTER_CORE_CONFIG_HPP
