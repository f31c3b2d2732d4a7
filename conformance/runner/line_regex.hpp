// The regular expressions of `<~` steps (conformance/README.md, "Regular
// expressions"): a subset of ECMAScript's syntax over octets, always
// matched against a whole line. Compiled to a Thompson NFA and run as a
// Pike VM: time in proportion to the line times the expression, memory in
// proportion to the expression, no backtracking and no recursion while
// matching, so no line a server sends can exhaust the runner's stack or
// time. Pure code, no I/O.
#ifndef NATTER_CONFORMANCE_LINE_REGEX_HPP
#define NATTER_CONFORMANCE_LINE_REGEX_HPP

#include <bitset>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace natter::conform
{

/// A compiled expression.
class line_regex
{
public:
  /// The most instructions an expression may compile to; counted
  /// repetitions (`{n,m}`) are copies, and this bounds them.
  static constexpr std::size_t max_program = 20000;
  /// The largest count of a counted repetition.
  static constexpr int max_count = 1000;

  /// Compiles `text`. Throws case_error naming what is wrong and where.
  explicit line_regex(std::string_view text);

  /// True when the whole of `subject` matches.
  bool matches(std::string_view subject) const;

private:
  struct inst
  {
    enum class op
    {
      octet_set, ///< one octet of sets_[arg]
      split,     ///< go on at x, or (lower priority) at y
      jump,      ///< go on at x
      save,      ///< note the position in capture slot arg
      match,     ///< the expression matched
    };
    explicit inst(op w, int to = 0, int other = 0, int a = 0) : what(w), x(to), y(other), arg(a) {}
    op what;
    int x;   ///< split, jump: where to go on
    int y;   ///< split: where else
    int arg; ///< octet_set: the set; save: the slot
  };
  struct node;
  class parser;

  int emit(inst i);
  int here() const;
  void compile(const node& n, bool captures);
  bool backrefs_hold(const long* caps, std::string_view subject) const;

  std::vector<inst> prog_;
  std::vector<std::bitset<256>> sets_;
  int slots_ = 0; ///< capture slots (two per group, two per back-reference)
  /// For each back-reference: the group's first slot and the first slot of
  /// the copy of the group that stands in for it.
  std::vector<std::pair<int, int>> backrefs_;
};

} // namespace natter::conform

#endif // NATTER_CONFORMANCE_LINE_REGEX_HPP
