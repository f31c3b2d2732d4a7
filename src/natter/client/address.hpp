// Parsing of the HOST[:PORT] operand of the natter command line.
#ifndef NATTER_CLIENT_ADDRESS_HPP
#define NATTER_CLIENT_ADDRESS_HPP

#include <cstdint>
#include <string>
#include <string_view>

namespace natter::client
{

/// Where to connect: a host name or address literal and a TCP port.
struct host_port
{
  std::string host;       ///< name or address, without IPv6 brackets
  std::uint16_t port = 0; ///< 1..65535
  std::string error;      ///< non-empty when parsing failed

  /// True when parsing succeeded.
  explicit operator bool() const noexcept { return error.empty(); }
};

/// Parses "HOST", "HOST:PORT", "[V6]", "[V6]:PORT" or a bare IPv6 literal
/// such as "::1" (which, having more than one colon, cannot carry a port).
/// `default_port` is used when no port is given. On failure the result's
/// `error` says what is wrong, for a one-line usage message.
host_port parse_host_port(std::string_view text, std::uint16_t default_port);

/// Formats `hp` back for messages: "host:port", or "[v6]:port" when the host
/// contains a colon.
std::string to_string(const host_port& hp);

} // namespace natter::client

#endif // NATTER_CLIENT_ADDRESS_HPP
