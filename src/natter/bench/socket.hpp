// natter-bench: non-blocking client sockets, and enough descriptors for
// them.
#ifndef NATTER_BENCH_SOCKET_HPP
#define NATTER_BENCH_SOCKET_HPP

#include "natter/bench/endpoint.hpp"

#include <netinet/in.h>

#include <cstddef>

namespace natter::bench
{

/// Starts a non-blocking connect to `to`, bound first to `source` (IPv4
/// only, port chosen at connect time) when given. Returns the socket or -1
/// with errno set. TCP_NODELAY is set.
int start_connect(const endpoint& to, const in_addr* source);

/// Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the new
/// soft limit.
long raise_nofile_limit();

/// Raises RLIMIT_NOFILE as raise_nofile_limit() does and throws
/// std::runtime_error, naming `flag`, when `conns` connections (and a few
/// descriptors more) still do not fit.
void require_descriptors(std::size_t conns, const char* flag);

} // namespace natter::bench

#endif // NATTER_BENCH_SOCKET_HPP
