// The text language of conformance cases (conformance/README.md): escapes,
// variables and line patterns. Pure functions, no I/O, so the self-tests in
// tests/conformance can hold them to tables (as irctest's self_tests do).
#ifndef NATTER_CONFORMANCE_MATCHER_HPP
#define NATTER_CONFORMANCE_MATCHER_HPP

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace natter::conform
{

/// A malformed case: bad escape, unknown variable form, bad pattern.
struct case_error : std::runtime_error
{
  using std::runtime_error::runtime_error;
};

/// What `$name` and `${...}` refer to while a case runs.
class variables
{
public:
  virtual ~variables() = default;
  /// The value of nick variable `name`; `length` (0 = any) fixes its length
  /// in octets the first time it is used.
  virtual std::string nick(std::string_view name, std::size_t length) = 0;
  /// The innermost `repeat` counter, from 1; throws case_error outside one.
  virtual long counter() const = 0;
  /// The server's line limit L in octets.
  virtual long max_line() const = 0;
  /// The server's idle timeout T in seconds (natter-conform --idle-timeout);
  /// throws case_error when it is not known.
  virtual long idle_timeout() const = 0;
  /// The server's registration timeout R in seconds (its `reg` advert);
  /// throws case_error when it is not known.
  virtual long registration_timeout() const
  {
    throw case_error("R: the server's registration timeout is not known");
  }
  /// The server's per-address limit P (natter-conform --max-per-ip);
  /// throws case_error when it is not known.
  virtual long max_per_ip() const
  {
    throw case_error("P: the server's per-address limit is not known (--max-per-ip)");
  }
};

/// Expands escapes (\r \n \t \0 \\ \$ \{ \} \xNN) and variables ($name,
/// ${name}, ${name:upper}, ${name:lower}, ${name:N}, ${i}, ${L}, ${T},
/// ${R}, ${P}, ${expr:E}, ${fill:E}, ${fill:E:STR}) into octets. Throws
/// case_error.
std::string expand(std::string_view src, variables& vars);

/// Splits `src` at SP octets and expands each word (see expand()).
std::vector<std::string> expand_words(std::string_view src, variables& vars);

/// A compiled line pattern: literal octets, {*} (any octets, possibly none)
/// and {a|b|c} (one of the alternatives, each expanded like expand()).
struct pattern
{
  struct element
  {
    enum class kind
    {
      literal,
      any,
      choice,
    };
    kind what = kind::literal;
    std::string text;                 ///< literal
    std::vector<std::string> choices; ///< choice
  };
  std::vector<element> elements;

  /// The pattern written back in case syntax, for messages.
  std::string to_string() const;
};

/// Compiles an expectation. Throws case_error.
pattern compile_pattern(std::string_view src, variables& vars);

/// True when the whole of `subject` matches `p`.
bool matches(const pattern& p, std::string_view subject);

/// A line seen as part of a multi-line reply of one code (N-REPLY-3).
struct reply_part
{
  enum class kind
  {
    more,  ///< `C-TEXT`: a line before the last
    last,  ///< `C TEXT`: the last line
    other, ///< any other line
  };
  kind what = kind::other;
  std::string_view text; ///< after the code and its separator
};

/// Which part of a multi-line reply of `code` (three digits) `line` is.
reply_part split_reply(std::string_view line, std::string_view code);

/// The `words` that begin none of `texts`, in the order given. A word
/// begins a text that is the word, or the word and a SP and more.
std::vector<std::string> words_not_leading(const std::vector<std::string>& texts,
                                           const std::vector<std::string>& words);

/// For `<~` expectations: expands only variables (regex-escaped), leaving
/// the regex syntax itself alone.
std::string expand_regex(std::string_view src, variables& vars);

/// Evaluates an integer expression of numbers, L, T, R, P and i joined by + - * /
/// (integer division; * and / bind tighter than + and -).
long eval_expr(std::string_view expr, variables& vars);

/// The value of the hex digit `c`, or -1 when it is none.
int hex_value(char c);

/// Octets shown safely on one terminal line: valid text stays (TAB as \t),
/// anything else is escaped as \r, \n, \0 or \xNN.
std::string printable(std::string_view bytes);

} // namespace natter::conform

#endif // NATTER_CONFORMANCE_MATCHER_HPP
