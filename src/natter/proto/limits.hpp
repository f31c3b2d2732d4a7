// The protocol's own numbers (spec/natter.md section 10): the line limit's
// default and minimum, the nick length, the default ports. natterd's
// limits and defaults, these among them, are in core/limits.hpp.
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
/// natter's conventional TLS port (spec 3.1).
inline constexpr std::uint16_t default_tls_port = 7778;

} // namespace natter::proto

#endif // NATTER_PROTO_LIMITS_HPP
