// What natter-conform knows of the server it tests (conformance/README.md,
// "Server settings"): the adverts of the greeting of its first connection,
// checked against what its flags say, and from both whether a case can run.
#ifndef NATTER_CONFORMANCE_SETTINGS_HPP
#define NATTER_CONFORMANCE_SETTINGS_HPP

#include "case_file.hpp"
#include "engine.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace natter::conform
{

/// Settings given on the runner's command line, to be held to the adverts.
struct told_settings
{
  std::optional<long> max_line;                          ///< --max-line
  std::optional<std::chrono::milliseconds> idle_timeout; ///< --idle-timeout
};

/// Connects to the chat service and returns its first line (without CRLF),
/// or nothing with `error` set.
std::optional<std::string> first_line(const run_options& opt, std::string& error);

/// Takes L, T and R from the adverts of `greeting` (the first line of the
/// runner's first connection) into `opt`, and records every advert in
/// opt.adverts. A setting the runner was told must agree with its advert;
/// without the advert the told value stands, and L is 1024 without either.
/// Returns one line per disagreement (the run must not go on), and adds
/// to `notes` what the report should say (an advert missing, say).
std::vector<std::string> apply_greeting(std::string_view greeting, const told_settings& told,
                                        run_options& opt, std::vector<std::string>& notes);

/// The settings the runner uses, in one line for the report:
/// "line=1024 nick=16 ... (advertised); max-per-ip=3 (told)".
std::string describe(const run_options& opt);

/// True when `condition` is a condition of meta "requires": "defaults",
/// or KEY=N or KEY>N with KEY an advert key or "max-per-ip".
bool is_setting_condition(std::string_view condition);

/// Why `tc` cannot run against the server `opt` describes (its service,
/// timeouts, limits and source addresses, and its "requires"), or ""
/// when it can.
std::string skip_reason(const test_case& tc, const run_options& opt);

/// "127.0.0.2" or a range "127.0.0.2-127.0.0.9" (IPv4, at most 256
/// addresses): the addresses, in order. Throws case_error.
std::vector<std::string> parse_sources(const std::string& spec);

} // namespace natter::conform

#endif // NATTER_CONFORMANCE_SETTINGS_HPP
