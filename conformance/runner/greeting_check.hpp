// The check natter-conform holds every greeting to, on every connection
// (conformance/README.md, "What the runner checks on every line"): its
// length and the rule `greeting` of spec section 9.1. No I/O.
#ifndef NATTER_CONFORMANCE_GREETING_CHECK_HPP
#define NATTER_CONFORMANCE_GREETING_CHECK_HPP

#include <string>
#include <string_view>

namespace natter::conform
{

/// Checks the greeting `text` (a 220 line without its CRLF) that `client`
/// received: at most 256 octets with CRLF [N-REPLY-1], the version token
/// [N-EXT-1], adverts up to the first word without "=" [N-CONN-12], then
/// free text [N-REPLY-7]. Throws `violation` (checks.hpp).
void check_greeting(const std::string& client, std::string_view text);

} // namespace natter::conform

#endif // NATTER_CONFORMANCE_GREETING_CHECK_HPP
