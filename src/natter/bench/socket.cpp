#include "natter/bench/socket.hpp"

#include <netinet/tcp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>

namespace natter::bench
{

int start_connect(const endpoint& to, const in_addr* source)
{
  const int fd =
      ::socket(to.v4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (source && to.v4)
  {
    // Let connect() choose the port per 4-tuple, so every source address
    // has the whole ephemeral range.
    ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr = *source;
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&src), sizeof src) != 0)
    {
      const int e = errno;
      ::close(fd);
      errno = e;
      return -1;
    }
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&to.addr), to.len) != 0 &&
      errno != EINPROGRESS)
  {
    const int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

long raise_nofile_limit()
{
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return -1;
  rl.rlim_cur = rl.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &rl);
  ::getrlimit(RLIMIT_NOFILE, &rl);
  return static_cast<long>(rl.rlim_cur);
}

void require_descriptors(std::size_t conns, const char* flag)
{
  const long nofile = raise_nofile_limit();
  if (nofile > 0 && conns + 64 > static_cast<unsigned long>(nofile))
    throw std::runtime_error(std::string(flag) + " " + std::to_string(conns) +
                             " needs more descriptors than RLIMIT_NOFILE allows (" +
                             std::to_string(nofile) + ")");
}

} // namespace natter::bench
