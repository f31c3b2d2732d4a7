// natter-bench fanout --ports: the clients of one run spread over several
// nodes of a natter cluster (spec section 17), each node a port of --host.
#ifndef NATTER_BENCH_PORTS_HPP
#define NATTER_BENCH_PORTS_HPP

#include <cstddef>
#include <string_view>
#include <vector>

namespace natter::bench
{

/// Parses "P1,P2[,...]": at least one port, each 1 to 65535, no two the
/// same. Throws std::invalid_argument saying what is wrong.
std::vector<unsigned short> parse_ports(std::string_view text);

/// Parses --server-pid: "0" or "" (none: an empty list) or "PID1[,PID2...]",
/// each positive (up to 2^22, Linux's limit), no two the same. Throws
/// std::invalid_argument.
std::vector<int> parse_pids(std::string_view text);

/// The node (an index into the ports) of receiver or sender number `index`
/// when there are `nodes` of them: round-robin, receivers and senders each
/// from node 0, so with two nodes receiver 0 and sender 0 share node 0 and
/// sender 1 is on node 1.
constexpr std::size_t node_of(std::size_t index, std::size_t nodes) noexcept
{
  return nodes == 0 ? 0 : index % nodes;
}

} // namespace natter::bench

#endif // NATTER_BENCH_PORTS_HPP
