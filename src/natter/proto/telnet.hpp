// Telnet answers (spec/natter.md section 6): the server never starts a
// negotiation, answers DO TIMING-MARK every time and refuses every other
// option once, so no negotiation can loop (RFC 854, 855, 860).
#ifndef NATTER_PROTO_TELNET_HPP
#define NATTER_PROTO_TELNET_HPP

#include "natter/proto/command.hpp"

#include <array>
#include <cstdint>
#include <memory>
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
  // Bit x: WILL x answered with DONT x; bit 256 + x: DO x answered with WONT x.
  using option_set = std::array<std::uint64_t, 8>;

  bool refused(unsigned bit) noexcept;

  // Allocated at the first refusal: most clients never negotiate, and what
  // every idle connection carries is most of an idle server's memory.
  std::unique_ptr<option_set> refused_;
};

} // namespace natter::proto

#endif // NATTER_PROTO_TELNET_HPP
