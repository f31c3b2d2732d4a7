// Logging to stderr, one line per event, with levels (natterd --log-level).
#ifndef NATTER_SERVER_LOG_HPP
#define NATTER_SERVER_LOG_HPP

#include <string_view>

namespace natter::server
{

/// Severity of a log line; lines below the configured level are dropped.
enum class log_level
{
  debug,
  info,
  warn,
  error,
  off,
};

/// Parses "debug", "info", "warn", "error" or "off". Returns false otherwise.
bool parse_log_level(std::string_view name, log_level& out) noexcept;

/// Sets the lowest level written. Call before any thread starts.
void set_log_level(log_level level) noexcept;

/// True when a line of `level` would be written (to skip building it).
bool log_enabled(log_level level) noexcept;

/// Writes "natterd: <level>: <text>" as one line; safe from any thread.
void log(log_level level, std::string_view text);

} // namespace natter::server

#endif // NATTER_SERVER_LOG_HPP
