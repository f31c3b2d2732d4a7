// Telnet answers (spec/natter.md section 6): the server never starts a
// negotiation, answers DO TIMING-MARK every time and refuses every other
// option once, so no negotiation can loop (RFC 854, 855, 860).
#ifndef NATTER_PROTO_TELNET_HPP
#define NATTER_PROTO_TELNET_HPP

#include "natter/proto/command.hpp"

#include <array>
#include <cstdint>
#include <string_view>

namespace natter::proto
{

inline constexpr std::uint8_t telnet_iac = 255;
inline constexpr std::uint8_t telnet_timing_mark = 6;

/// Per-connection record of the options already refused.
class telnet_answerer
{
public:
  /// Returns the three octets to send for a request, or an empty view when
  /// nothing is to be sent. The view points into `buf`.
  std::string_view answer(telnet_verb verb, std::uint8_t option, std::array<char, 3>& buf) noexcept;

private:
  bool refused(std::array<std::uint64_t, 4>& set, std::uint8_t option) noexcept;

  std::array<std::uint64_t, 4> dont_sent_{}; // WILL x answered with DONT x
  std::array<std::uint64_t, 4> wont_sent_{}; // DO x answered with WONT x
};

} // namespace natter::proto

#endif // NATTER_PROTO_TELNET_HPP
