// Conformance case files (conformance/README.md): Markdown, one file per
// spec section, one `###` heading per case, a meta comment with its id, the
// quoted requirement with its [N-...] IDs, and a ```session block of steps.
#ifndef NATTER_CONFORMANCE_CASE_FILE_HPP
#define NATTER_CONFORMANCE_CASE_FILE_HPP

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace natter::conform
{

/// One step of a session block.
struct step
{
  enum class kind
  {
    send_line,    ///< c> text      : text + CRLF
    send_raw,     ///< c>> octets   : exactly these octets
    expect_line,  ///< c< pattern   : the next line matches
    expect_regex, ///< c<~ regex    : the next line matches (line_regex.hpp)
    expect_bytes, ///< c<< octets   : telnet answer (chat) or echoed octets
    action,       ///< c: verb args : connect, register, nothing, closed, ...
    repeat,       ///< repeat N ... end (N a number or ${expr:E})
    mark,         ///< mark         : start the stopwatch
    elapsed,      ///< elapsed >= MS, elapsed < MS
    open,         ///< open N from K: N silent chat connections from source K
    udp_silent,   ///< udp-silent   : no UDP echo on the echo port
    uncork_all,   ///< uncork A B.. : corked clients write at the same moment
  };

  kind what = kind::action;
  std::string client; ///< the client's name (empty for repeat/mark/...)
  std::string verb;   ///< action verb
  /// payload or action argument, unexpanded; E of `repeat ${expr:E}`; the
  /// client names of `uncork A B ...`, one SP between them
  std::string arg;
  /// repeat and skipped: the count (0: evaluate arg); elapsed, wait and
  /// reset within: milliseconds; connect rcvbuf: octets (0: none); reply:
  /// the code (arg: the words it must name); backpressure: the limit in
  /// octets (arg: the octets to send, empty for the default)
  long count = 0;
  /// connect and open: the source address, from 1 (0: the default one);
  /// elapsed: 1 for "<" (sooner than), 0 for ">="
  int source = 0;
  int line = 0;           ///< line in the case file
  std::vector<step> body; ///< repeat body
};

/// One case.
struct test_case
{
  std::string id;    ///< "7.2/3", unique in the suite
  std::string title; ///< the ### heading
  std::string level = "MUST";
  std::string file;                      ///< path of the case file
  std::string section;                   ///< the file's # heading, "7.2 NICK"
  int line = 0;                          ///< line of the heading
  std::vector<std::string> requirements; ///< "N-NICK-2", in order, unique
  std::string quote;                     ///< the quoted spec text
  std::vector<step> steps;
  bool needs_echo = false;         ///< uses the echo service
  bool needs_idle_timeout = false; ///< uses the server's idle timeout (`idle`, T)
  bool alone = false;              ///< meta "alone": runs by itself, after the others
  bool tls = false;                ///< meta "tls": about TLS itself, runs only with --tls
  bool plain = false;              ///< meta "plain": about the plain port, skipped with --tls
  /// It shows that something does not arrive (a `nothing` step): it settles
  /// before its final barriers, so a line sent late is still seen.
  bool negative = false;
  bool needs_registration_timeout = false; ///< uses R or `reg-timeout`
  bool needs_echo_idle_timeout = false;    ///< `idle` on an echo client
  bool needs_max_per_ip = false;           ///< uses P, the per-address limit
  int needs_sources = 0;                   ///< the highest source address it connects from
  /// meta "requires": conditions on the server's settings, "rate=0",
  /// "max-per-ip>0", "defaults" (see settings.hpp)
  std::vector<std::string> requires_settings;
};

/// Parses the text of one case file. `path` is used in messages and in
/// test_case::file. Throws case_error("path:line: why") on any mistake.
std::vector<test_case> parse_case_file(std::string_view text, const std::string& path);

/// Loads every *.md file under each path (a file or a directory), in name
/// order; checks that ids are unique. Throws case_error.
std::vector<test_case> load_cases(const std::vector<std::string>& paths);

/// What a PING barrier (the steps `nothing` and `sync`, and the runner's
/// final check) relies on; every case that uses one cites these.
inline constexpr std::array<const char*, 2> barrier_requirements{"N-FRAME-16", "N-FRAME-17"};

/// Every requirement ID tagged in a spec text: "[N-AREA-n]" occurrences.
std::vector<std::string> requirement_ids(std::string_view text);

} // namespace natter::conform

#endif // NATTER_CONFORMANCE_CASE_FILE_HPP
