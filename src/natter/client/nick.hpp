// Choosing a nick: the default from $USER and the alternatives tried when a
// nick is taken at registration.
#ifndef NATTER_CLIENT_NICK_HPP
#define NATTER_CLIENT_NICK_HPP

#include <string>
#include <string_view>

namespace natter::client
{

/// Makes a valid nick out of any text (normally $USER): characters other than
/// A-Z a-z 0-9 _ - are dropped, a letter is prepended when the result does not
/// start with one, and it is cut to the maximum nick length. An empty or
/// wholly invalid input gives "guest".
std::string sanitize_nick(std::string_view user);

/// The nick to try on attempt `attempt` after `base` was taken: 0 gives
/// `base`, 1 gives "base_", n >= 2 gives "base<n>"; `base` is shortened so
/// the result stays within the maximum nick length. `base` must be valid.
std::string nick_candidate(std::string_view base, unsigned attempt);

} // namespace natter::client

#endif // NATTER_CLIENT_NICK_HPP
