// The greeting and its adverts (spec/natter.md section 9.1): the names of
// the limits a server advertises, and the parser a client reads them with.
// core/greeting.hpp builds natterd's greeting from these names.
#ifndef NATTER_PROTO_GREETING_HPP
#define NATTER_PROTO_GREETING_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace natter::proto
{

/// The keys every server advertises, in the order of the spec's table
/// [N-CONN-11].
namespace advert_key
{
inline constexpr std::string_view line = "line";   ///< the line limit L, octets
inline constexpr std::string_view nick = "nick";   ///< the longest nick, characters
inline constexpr std::string_view rate = "rate";   ///< flood control, lines/s; 0: off
inline constexpr std::string_view burst = "burst"; ///< the flood-control bucket, lines
inline constexpr std::string_view sendq = "sendq"; ///< a registered client's output, octets
inline constexpr std::string_view reg = "reg";     ///< registration timeout, s; 0: none
inline constexpr std::string_view idle = "idle";   ///< idle timeout, s; 0: none
// The additions a server advertises when it offers them (N-CONN-17):
inline constexpr std::string_view history = "history"; ///< messages kept: HISTORY and IDS
inline constexpr std::string_view tell = "tell";       ///< 1: TELL
} // namespace advert_key

/// Every key of N-CONN-11.
inline constexpr std::array<std::string_view, 7> required_adverts{
    advert_key::line,  advert_key::nick, advert_key::rate, advert_key::burst,
    advert_key::sendq, advert_key::reg,  advert_key::idle};

/// One `key=value` token of a greeting. Views point into the parsed line.
struct advert
{
  std::string_view key;
  std::string_view value;
};

/// A greeting line, parsed by the rule `greeting` of section 9.1.
struct greeting
{
  enum class status : std::uint8_t
  {
    ok,
    not_greeting, ///< not "220 natter/N": no reply code 220 or no version token
    bad_advert,   ///< a word with "=" that is not an advert [N-CONN-12]
    bad_text,     ///< after the adverts comes something other than a word
  };

  status what = status::not_greeting;
  unsigned long version = 0;   ///< N of the token natter/N, from the token alone
  std::vector<advert> adverts; ///< in the order sent, repeated keys kept
  std::string_view text;       ///< the free text after the adverts (may be empty)
  std::string_view bad;        ///< with bad_advert or bad_text: the offending word

  /// The value of the first advert of `key`.
  std::optional<std::string_view> find(std::string_view key) const noexcept;
};

/// Parses one line without its terminator. Never throws. A line that is
/// valid text and matches the rule gives status::ok; the version is taken
/// from the version token alone, and every advert is kept whatever its key
/// (a client ignores the keys it does not know) [N-CONN-13].
greeting parse_greeting(std::string_view line);

/// A value of the form 1*DIGIT ["." 1*DIGIT], the form of every advert of
/// N-CONN-11, as a number; nothing for any other value.
std::optional<double> advert_number(std::string_view value) noexcept;

/// The line limit a client assumes after `g`: the `line` advert when it is
/// a whole number of at least 32, else 32, the smallest limit a server may
/// have [N-CONN-13].
std::size_t line_limit(const greeting& g) noexcept;

} // namespace natter::proto

#endif // NATTER_PROTO_GREETING_HPP
