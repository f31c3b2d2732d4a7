// Per-server settings the session and room logic obey (spec/natter.md,
// "Limits", "Flood control", "Slow consumers"). natterd fills one from its
// command line; tests and fuzzers build their own.
#ifndef NATTER_CORE_CONFIG_HPP
#define NATTER_CORE_CONFIG_HPP

#include "natter/core/limits.hpp"

#include <chrono>
#include <cstddef>

namespace natter::core
{

/// The clock sessions are driven by. Time is always passed in, never read,
/// so tests and fuzzers control it.
using clock = std::chrono::steady_clock;
using time_point = clock::time_point;

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
  /// Octets per chunk of the room's event log (room_log.hpp); not a limit a
  /// client sees. Tests and fuzzers make it small to cross chunks often.
  std::size_t log_chunk = 64 * 1024;
};

} // namespace natter::core

#endif // NATTER_CORE_CONFIG_HPP
