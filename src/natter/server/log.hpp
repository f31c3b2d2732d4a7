// Logging to stderr, one line per event, with levels (natterd --log-level).
// When stderr is the systemd journal, each line starts with its syslog
// priority instead of natterd's name, so the journal files it by level.
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

/// Writes "natterd: <level>: <text>" as one line; safe from any thread. On
/// the journal: "<N><level>: <text>", N the syslog priority (7 debug, 6
/// info, 4 warn, 3 error).
void log(log_level level, std::string_view text);

/// Writes "natterd: <text>" (on the journal "<3><text>") whatever the log
/// level: why natterd cannot start, or why its configuration is refused.
void log_failure(std::string_view text);

/// Makes std::terminate say why before natterd aborts, in one line that
/// allocates nothing: "natterd: fatal: out of memory" when an allocation
/// failed where no code could go on without it (a failed allocation is
/// fatal: the service manager restarts natterd), "natterd: fatal: <what>"
/// for another exception nothing caught; on the journal "<2>fatal: ...".
void install_fatal_handler() noexcept;
/// True when stderr is the journal: $JOURNAL_STREAM names the device and
/// inode of descriptor 2 (systemd.exec(5)). Looked at once.
bool log_to_journal() noexcept;

} // namespace natter::server

#endif // NATTER_SERVER_LOG_HPP
