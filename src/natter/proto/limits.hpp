// Protocol limits and their defaults (spec/natter.md section 10, "Limits").
// Every number a peer can observe lives here, so the spec, natterd's --help
// and the tests quote one source.
#ifndef NATTER_PROTO_LIMITS_HPP
#define NATTER_PROTO_LIMITS_HPP

#include <cstddef>
#include <cstdint>

namespace natter::proto
{

/// Default maximum line length in octets, terminator included [N-LIMIT-1].
inline constexpr std::size_t default_max_line = 1024;

/// Smallest line limit a server may be configured with: "NICK " plus a
/// 16-character nick plus CRLF must always fit.
inline constexpr std::size_t min_max_line = 32;

/// Maximum nick length in characters (all nick characters are ASCII).
inline constexpr std::size_t max_nick_length = 16;

/// Default chat and echo ports [N-TRANS-2], [N-TRANS-3].
inline constexpr std::uint16_t default_chat_port = 7777;
inline constexpr std::uint16_t default_echo_port = 7;

} // namespace natter::proto

#endif // NATTER_PROTO_LIMITS_HPP
