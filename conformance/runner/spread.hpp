// --peer: a multi-client case's clients spread over two addresses of one
// cluster (spec section 17), alternating in the order the case first names
// them: client 1 on the main address, client 2 on the peer, client 3 on the
// main address, ... A case with one client runs on the main address.
#ifndef NATTER_CONFORMANCE_SPREAD_HPP
#define NATTER_CONFORMANCE_SPREAD_HPP

#include "case_file.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace natter::conform
{

/// A chat address: host and port.
struct address
{
  std::string host;
  std::uint16_t port = 0;
};

/// Parses HOST:PORT ([V6]:PORT for an IPv6 literal). Throws case_error.
address parse_address(std::string_view text);

/// The names of a case's clients, in the order its steps (repeat bodies
/// included) first name them.
std::vector<std::string> client_names(const test_case& tc);

/// The names of those clients that connect to the peer: the 2nd, 4th, ...
/// of client_names(); none when the case has a single client.
std::vector<std::string> peer_clients(const test_case& tc);

} // namespace natter::conform

#endif // NATTER_CONFORMANCE_SPREAD_HPP
