// The nicks of one run of a case. Cases share the room with each other (and
// with anyone else on the server), so every nick variable gets a value
// fresh for the case and the run, and the lines about other nicks, which
// no case expects, can be told apart from the case's own.
#ifndef NATTER_CONFORMANCE_NICKS_HPP
#define NATTER_CONFORMANCE_NICKS_HPP

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>

namespace natter::conform
{

/// The id of a case in a run: the run's salt and the case's index, short
/// enough to end a nick ("zz" and 37 give "zz11").
std::string run_id(std::string_view salt, unsigned index);

/// The nicks a case has used so far.
class case_nicks
{
public:
  /// `run_id` (see run_id()) ends every nick that is long enough for it.
  explicit case_nicks(std::string run_id);

  /// The nick of variable `name` ($alice): `name`, cut or padded with `x`,
  /// then "_" and the run id, at most 16 characters; letters derived from
  /// the run id when `length` leaves no room for it. `length` (0 = any)
  /// fixes the length the first time. Throws case_error when `length`
  /// disagrees with the first use, or when two names give the same nick.
  std::string nick(std::string_view name, std::size_t length);

  /// True when `nick` is one of the case's nicks, ignoring ASCII case.
  bool is_ours(std::string_view nick) const;

  /// True for a line about other clients only: a room event (JOIN, NICK,
  /// MSG, QUIT) or a WHO item whose nicks are none of the case's. The case
  /// neither sees nor expects those.
  bool about_others(std::string_view line) const;

private:
  std::string run_id_;
  std::map<std::string, std::string> nicks_; ///< variable name -> nick
  std::set<std::string> ours_;               ///< the nicks, in lower case
};

} // namespace natter::conform

#endif // NATTER_CONFORMANCE_NICKS_HPP
