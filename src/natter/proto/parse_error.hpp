// Errors the client->server parser reports, each answered with one reply
// code (spec/natter.md section 8.2). Values are stable; never renumber.
#ifndef NATTER_PROTO_PARSE_ERROR_HPP
#define NATTER_PROTO_PARSE_ERROR_HPP

#include <system_error>
#include <type_traits>

namespace natter::proto
{

/// Why a line was refused.
enum class parse_error
{
  line_too_long = 1, ///< 413: longer than the line limit
  invalid_text,      ///< 415: not UTF-8, or a forbidden control character
  unknown_command,   ///< 421: the verb is not a command of this protocol
  missing_argument,  ///< 400: a required argument is missing or empty
  invalid_nick,      ///< 432: NICK's argument is not a valid nick
};

/// The error category named "natter.proto".
const std::error_category& proto_category() noexcept;

/// Wraps a parse_error as a std::error_code.
std::error_code make_error_code(parse_error e) noexcept;

/// The reply code a server sends for this error (413, 415, 421, 400, 432).
int reply_code_for(parse_error e) noexcept;

} // namespace natter::proto

template <>
struct std::is_error_code_enum<natter::proto::parse_error> : std::true_type
{
};

#endif // NATTER_PROTO_PARSE_ERROR_HPP
