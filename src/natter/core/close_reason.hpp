// Why a chat connection ends, and everything that follows from it in one
// table (close_reason.cpp): the final line the client is sent, whether its
// queued output is dropped first, and the text the others see in the QUIT
// event and the operator in the log (spec sections 7.8, 9 and 12).
#ifndef NATTER_CORE_CLOSE_REASON_HPP
#define NATTER_CORE_CLOSE_REASON_HPP

#include "natter/core/text.hpp"
#include "natter/proto/reply.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

namespace natter::core
{

/// Why a connection ends.
enum class close_reason : std::uint8_t
{
  none,                 ///< it has not
  quit,                 ///< QUIT: 221
  peer_closed,          ///< the client shut down its sending side
  failed,               ///< the socket failed (reset, error)
  wrong_protocol,       ///< HTTP or TLS on the chat port: 500
  registration_timeout, ///< 522
  idle_timeout,         ///< 523
  sendq_exceeded,       ///< a slow consumer: 524
  shutting_down,        ///< server shutdown: 521
  flush_deadline,       ///< its last lines were not taken in time: reset
  nick_lost,            ///< a cluster gave its nick to another client: 525
};

/// The line the client is sent last, or null when none is (shared, built once).
const shared_text& final_line(close_reason r);

/// The code of the final line, if one is sent.
std::optional<proto::reply_code> final_reply(close_reason r) noexcept;

/// True when the client's queued output is dropped before the final line.
bool discards_output(close_reason r) noexcept;

/// The reason as the others see it in "QUIT <nick> <reason>" (QUIT itself
/// carries the client's own words instead) and as the log says it.
std::string_view describe(close_reason r) noexcept;

} // namespace natter::core

#endif // NATTER_CORE_CLOSE_REASON_HPP
