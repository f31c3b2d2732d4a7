// natterd's command line (issue 3, spec/natter.md section 10).
#ifndef NATTER_SERVER_OPTIONS_HPP
#define NATTER_SERVER_OPTIONS_HPP

#include "natter/core/config.hpp"
#include "natter/server/log.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

namespace natter::server
{

/// Everything natterd can be told on its command line.
struct options
{
  std::string bind = "::";
  std::optional<unsigned short> chat_port = 7777; ///< nullopt: "off"
  std::optional<unsigned short> echo_port = 7;    ///< nullopt: "off"
  std::size_t max_clients = 10000;
  std::size_t max_per_ip = 16; ///< 0: no limit
  bool loopback_exempt = true;
  std::size_t echo_max_clients = 1000;
  std::chrono::milliseconds echo_idle_timeout{std::chrono::seconds(300)};
  unsigned threads = 1;
  log_level level = log_level::info;
  core::config chat; ///< line, send queue, rate and timeout limits
};

/// Parses argv. Returns an exit status when natterd should exit at once
/// (--help, --version, a bad flag: the message is already printed).
std::optional<int> parse_options(int argc, char** argv, options& out);

} // namespace natter::server

#endif // NATTER_SERVER_OPTIONS_HPP
