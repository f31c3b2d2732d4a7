// Test support: a TCP socket listening on 127.0.0.1 at an ephemeral port,
// for tests that play a peer themselves. Connections wait in its backlog
// until accepted; every wait is bounded.
#ifndef NATTER_TESTS_SUPPORT_LOOPBACK_LISTENER_HPP
#define NATTER_TESTS_SUPPORT_LOOPBACK_LISTENER_HPP

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>

namespace natter::test
{

class loopback_listener
{
public:
  /// Listens with a backlog of `backlog`; port() is 0 when that failed.
  explicit loopback_listener(int backlog = 16)
  {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) == 0 &&
        ::listen(fd_, backlog) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port_ = ntohs(a.sin_port);
  }
  ~loopback_listener()
  {
    if (fd_ >= 0)
      ::close(fd_);
  }
  loopback_listener(const loopback_listener&) = delete;
  loopback_listener& operator=(const loopback_listener&) = delete;

  std::uint16_t port() const noexcept { return port_; }

  /// The next connection's descriptor (the caller closes it), waiting at
  /// most `timeout`; -1 when none came.
  int accept(std::chrono::milliseconds timeout = std::chrono::seconds(5)) const
  {
    pollfd p{fd_, POLLIN, 0};
    if (port_ == 0 || ::poll(&p, 1, static_cast<int>(timeout.count())) <= 0)
      return -1;
    return ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  }

private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

} // namespace natter::test

#endif
