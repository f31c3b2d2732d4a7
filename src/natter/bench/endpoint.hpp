// natter-bench: loopback-only server addresses, and the source addresses
// that spread many connections over 127.0.0.0/8.
#ifndef NATTER_BENCH_ENDPOINT_HPP
#define NATTER_BENCH_ENDPOINT_HPP

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <string>

namespace natter::bench
{

/// A resolved server address. Construction refuses anything but loopback
/// (127.0.0.0/8, ::1): natter-bench is a load generator and only ever
/// loads this machine.
struct endpoint
{
  sockaddr_storage addr{};
  socklen_t len = 0;
  bool v4 = true;
};

/// Resolves `host` numerically or by name; throws std::runtime_error for a
/// non-loopback address or a failed lookup.
endpoint resolve_loopback(const std::string& host, unsigned short port);

/// The source address for connection number `i` when spreading over
/// 127.0.0.0/8: 1000 connections per address from 127.1.0.1 upwards.
in_addr spread_source(std::size_t i);

} // namespace natter::bench

#endif // NATTER_BENCH_ENDPOINT_HPP
