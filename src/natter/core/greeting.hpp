// The greeting of a chat connection (spec/natter.md section 9.1), built
// once per room from the limits the room's sessions apply.
#ifndef NATTER_CORE_GREETING_HPP
#define NATTER_CORE_GREETING_HPP

#include "natter/core/config.hpp"

#include <chrono>
#include <string>

namespace natter::core
{

/// "220 natter/1", an advert of every limit of N-CONN-11 with the value a
/// session under `cfg` applies, the adverts of the additions natterd offers
/// (N-CONN-17: `history` with the messages kept, `tell=1`), the text "ready"
/// and CRLF:
///   220 natter/1 line=1024 nick=16 rate=20 burst=100 sendq=1048576 reg=60 idle=0 history=100
///   tell=1 ready
/// Numbers are decimal, with a fraction only when the value has one (rate
/// 0.5, reg 1.5); `rate`, `reg` and `idle` are 0 when off. At most 256
/// octets for every configuration natterd accepts [N-REPLY-1].
std::string greeting_line(const config& cfg);

/// `d` in seconds as the greeting writes it: "60", "1.5", "0.001".
std::string advert_seconds(std::chrono::milliseconds d);

/// `v` as the greeting writes a number: "20", "0.5"; the shortest decimal
/// that reads back as `v`, never with an exponent. `v` must be >= 0.
std::string advert_decimal(double v);

} // namespace natter::core

#endif // NATTER_CORE_GREETING_HPP
