// Every limit and default of natterd in one place (spec/natter.md section
// 10): the typed values the core, natterd's flags and its --help use, and a
// table of how the README's flag table and the spec's table of limits write
// each default. tests/core/limits_test.cpp holds the typed values, the table
// and both documents to each other.
#ifndef NATTER_CORE_LIMITS_HPP
#define NATTER_CORE_LIMITS_HPP

#include "natter/proto/limits.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>

namespace natter::core::limits
{

inline constexpr std::size_t kib = 1024;
inline constexpr std::size_t mib = 1024 * kib;

// ---- chat connections ----
inline constexpr std::size_t max_clients = 10000;
inline constexpr std::size_t max_per_ip = 16; ///< 0: no limit
inline constexpr std::size_t max_line = proto::default_max_line;
inline constexpr std::size_t max_sendq = 1 * mib;           ///< a registered client
inline constexpr std::size_t unregistered_sendq = 64 * kib; ///< before NICK (fixed)
inline constexpr std::size_t soft_sendq = 64 * kib;         ///< above it, reading stops (fixed)
inline constexpr std::size_t max_total_sendq = 256 * mib;   ///< all clients together
inline constexpr double rate = 20;                          ///< lines per second; 0: off
inline constexpr double burst = 100;                        ///< the bucket (fixed)
inline constexpr std::chrono::seconds registration_timeout{60};
inline constexpr std::chrono::seconds idle_timeout{0}; ///< 0: none
inline constexpr std::size_t sndbuf = 64 * kib;        ///< SO_SNDBUF; 0: autotuned
inline constexpr std::chrono::seconds tcp_user_timeout{120};
inline constexpr std::chrono::seconds keepalive_idle{60}; ///< fixed, as the next two
inline constexpr std::chrono::seconds keepalive_interval{10};
inline constexpr int keepalive_probes = 6;
inline constexpr std::chrono::seconds flush_deadline{3}; ///< a closing connection (fixed)
inline constexpr std::chrono::seconds linger_time{1};    ///< after a final line (fixed)
inline constexpr std::size_t history = 100;              ///< room messages kept; 0: none
/// What natterd adds to a line limit to bound a HISTORY line (N-REPLY-1):
/// "212-", a 20-digit id, the 24-octet time, a 16-octet nick, three SP and
/// CRLF come to 63 octets beyond the longest MSG text (L - 6).
inline constexpr std::size_t history_line_overhead = 64;
/// "212 end of history" CR LF, the reply's final line.
inline constexpr std::size_t history_end_line = 20;

/// The largest --history natterd accepts with a line limit of `line` and a
/// send queue limit of `sendq`: N x (line + 64) + 20 <= sendq, so the whole
/// reply, queued at once (N-REPLY-4), fits a send queue (963 at the defaults).
constexpr std::size_t max_history(std::size_t line, std::size_t sendq) noexcept
{
  return sendq < history_end_line ? 0 : (sendq - history_end_line) / (line + history_line_overhead);
}

// ---- the TLS port (spec 3.1) ----
inline constexpr std::uint16_t tls_port =
    proto::default_tls_port; ///< the conventional port; natterd's is off
inline constexpr std::chrono::seconds tls_handshake_timeout{10};
/// How often natterd looks at --tls-cert and --tls-key for a renewal.
inline constexpr std::chrono::seconds tls_check_interval{30};

// ---- a cluster (spec 17) ----
/// MSGs a node holds for Redis at most (N-CLU-18).
inline constexpr std::size_t redis_backlog = 256;
/// Entries of the room's log Redis keeps (N-CLU-23).
inline constexpr std::size_t redis_log = 100000;
/// How long a node keeps its nicks without renewing them (N-CLU-12).
inline constexpr std::chrono::seconds node_timeout{15};

// ---- echo connections ----
inline constexpr std::size_t echo_max_clients = 1000;
inline constexpr std::chrono::seconds echo_idle_timeout{300};
inline constexpr std::size_t echo_max_total_sendq = 64 * mib;

// ---- the process ----
inline constexpr std::uint16_t chat_port = proto::default_chat_port;
inline constexpr std::uint16_t echo_port = proto::default_echo_port;
/// How long shutdown waits for clients to take their 521 (N-SHUT-4: 5 s
/// in all).
inline constexpr std::chrono::seconds shutdown_deadline{4};

/// A default as the documents write it: the flag (empty for a fixed
/// limit), the limit's name in the spec's table (empty when the spec's
/// table does not list it), and the default as the README's flag table
/// writes it, with which the spec's cell starts.
struct shown
{
  std::string_view flag;
  std::string_view spec_limit;
  std::string_view value;
};

inline constexpr std::array<shown, 39> table{{
    {"--config", "", "none"},
    {"--check-config", "", "off"},
    {"--bind", "", "::"},
    {"--chat-port", "", "7777"},
    {"--echo-port", "", "7"},
    {"--max-clients", "chat connections in all", "10000"},
    {"--max-per-ip", "chat connections per client address", "16"},
    {"--max-line", "line length, terminator included", "1024"},
    {"--max-sendq", "pending output of a registered client", "1 MiB"},
    {"--max-total-sendq", "pending output of all clients together", "256 MiB"},
    {"--rate", "flood control rate", "20"},
    {"--registration-timeout", "registration timeout", "60"},
    {"--idle-timeout", "idle timeout", "0"},
    {"--history", "room messages kept for HISTORY", "100"},
    {"--sndbuf", "kernel send buffer per chat socket", "64 KiB"},
    {"--tcp-user-timeout", "output unacknowledged or behind a shut window", "120"},
    {"--tls-port", "", "off"},
    {"--tls-cert", "", "none"},
    {"--tls-key", "", "none"},
    {"--tls-handshake-timeout", "TLS handshake time", "10"},
    {"--tls-check-interval", "", "30"},
    {"--redis", "", "none"},
    {"--node-id", "", "HOST:PORT"},
    {"--redis-prefix", "", "natter:"},
    {"--node-timeout", "time a cluster node keeps its nicks without renewing them", "15"},
    {"--redis-backlog", "a cluster node's messages held for Redis", "256"},
    {"--redis-log", "a cluster's log kept in Redis", "100000"},
    {"--echo-max-clients", "echo connections", "1000"},
    {"--echo-idle-timeout", "echo idle timeout", "300"},
    {"--echo-max-total-sendq", "echo output held, all echo connections", "64 MiB"},
    {"--metrics", "", "off"},
    {"--threads", "", "cores"},
    {"--log-level", "", "info"},
    {"", "nick length", "16"},
    {"", "pending output of an unregistered client", "64 KiB"},
    {"", "soft mark of pending output", "64 KiB"},
    {"", "TCP keepalive", "60 s idle, 10 s interval, 6 probes"},
    {"", "time a closing connection has to flush", "3 s"},
    {"--no-loopback-exempt", "", "exempt"},
}};

/// The table's row for `flag`, if it has one.
constexpr std::optional<shown> for_flag(std::string_view flag)
{
  for (const shown& s : table)
    if (s.flag == flag)
      return s;
  return std::nullopt;
}

} // namespace natter::core::limits

#endif // NATTER_CORE_LIMITS_HPP
