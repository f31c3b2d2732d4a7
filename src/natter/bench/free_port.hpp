// A loopback port for a server that must be told its port before it
// starts (natterd under the soak, redis-server and systemd-socket-activate
// in the tests). Header-only: the tests use it without natter-bench's code.
#ifndef NATTER_BENCH_FREE_PORT_HPP
#define NATTER_BENCH_FREE_PORT_HPP

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace natter::bench
{

/// A port of 127.0.0.1 the kernel just gave out and took back: free unless
/// someone takes it in the moment before the server binds it.
inline std::uint16_t free_port()
{
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
  {
    const int e = errno;
    if (fd >= 0)
      ::close(fd);
    throw std::runtime_error(std::string("cannot find a free port: ") + std::strerror(e));
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

} // namespace natter::bench

#endif // NATTER_BENCH_FREE_PORT_HPP
