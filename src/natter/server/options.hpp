// natterd's command line (issue 3, spec/natter.md section 10).
#ifndef NATTER_SERVER_OPTIONS_HPP
#define NATTER_SERVER_OPTIONS_HPP

#include "natter/core/config.hpp"
#include "natter/server/log.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace natter::server
{

/// Everything natterd can be told on its command line.
struct options
{
  std::string bind = "::";
  std::optional<unsigned short> chat_port = core::limits::chat_port; ///< nullopt: "off"
  std::optional<unsigned short> echo_port = core::limits::echo_port; ///< nullopt: "off"
  std::size_t max_clients = core::limits::max_clients;
  std::size_t max_per_ip = core::limits::max_per_ip; ///< 0: no limit
  bool loopback_exempt = true;
  /// SO_SNDBUF of chat sockets (the kernel doubles it); 0: autotuned.
  std::size_t sndbuf = core::limits::sndbuf;
  /// TCP_USER_TIMEOUT of chat sockets; 0: the kernel's default.
  std::chrono::milliseconds tcp_user_timeout{core::limits::tcp_user_timeout};
  std::size_t echo_max_clients = core::limits::echo_max_clients;
  /// Echo output held for all echo connections together.
  std::size_t echo_max_total_sendq = core::limits::echo_max_total_sendq;
  std::chrono::milliseconds echo_idle_timeout{core::limits::echo_idle_timeout};
  /// The TLS port (spec 3.1).
  struct tls_options
  {
    std::optional<unsigned short> port; ///< nullopt: off
    std::string cert;                   ///< PEM chain
    std::string key;                    ///< PEM key
    std::chrono::milliseconds handshake_timeout{core::limits::tls_handshake_timeout};
    std::chrono::milliseconds check_interval{core::limits::tls_check_interval};
  } tls;
  /// Cluster mode (spec 17), on with --redis.
  struct cluster_options
  {
    std::string redis;   ///< the URL; empty: a single server
    std::string node_id; ///< empty: host name and chat port
    std::string prefix = "natter:";
    std::chrono::milliseconds node_timeout{core::limits::node_timeout};
    std::size_t backlog = core::limits::redis_backlog;
    std::size_t log = core::limits::redis_log;
  } cluster;
  /// --metrics: where natterd serves GET /metrics (spec 13.2).
  struct metrics_address
  {
    std::string address; ///< an IPv4 or IPv6 literal
    unsigned short port = 0;
  };
  std::optional<metrics_address> metrics; ///< nullopt: off
  unsigned threads = 1;
  /// --check-config: check everything as at start-up, serve nothing.
  bool check_config = false;
  log_level level = log_level::info;
  core::config chat; ///< line, send queue, rate and timeout limits

  /// --config's file, empty without one.
  std::string config_file;
  /// The arguments natterd was started with (argv without argv[0]): what a
  /// SIGHUP parses again with the file (N-SHUT-15).
  std::vector<std::string> command_line;
  /// Every flag's value as it was set, from the command line, the file or
  /// the default, by long name ("--max-per-ip" -> "16"): what a reload
  /// compares (N-SHUT-16).
  std::map<std::string, std::string, std::less<>> values;
};

/// Parses argv, and the file --config names. Returns an exit status when
/// natterd should exit at once (--help, --version, a bad flag or config
/// file: the message is already printed; 1 for any refusal with
/// --check-config).
std::optional<int> parse_options(int argc, char** argv, options& out);

/// Parses `command_line` (and its --config file, read again) as at start,
/// printing nothing: the cause of a refusal, in parse_options()'s words,
/// or nullopt with `out` set.
std::optional<std::string> parse_again(const std::vector<std::string>& command_line, options& out);

} // namespace natter::server

#endif // NATTER_SERVER_OPTIONS_HPP
