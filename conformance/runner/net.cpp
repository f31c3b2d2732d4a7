#include "net.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

namespace natter::conform
{

namespace
{

int ms_until(clock::time_point deadline)
{
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
  if (left.count() <= 0)
    return 0;
  return static_cast<int>(std::min<long long>(left.count(), 60'000));
}

bool set_nonblocking(int fd)
{
  const int flags = ::fcntl(fd, F_GETFL, 0);
  return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

struct addrinfo_deleter
{
  void operator()(addrinfo* ai) const noexcept { ::freeaddrinfo(ai); }
};
using addrinfo_ptr = std::unique_ptr<addrinfo, addrinfo_deleter>;

addrinfo_ptr resolve(const std::string& host, std::uint16_t port, int socktype, std::string& error)
{
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = socktype;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0)
  {
    error = "cannot resolve " + host + ": " + ::gai_strerror(rc);
    return nullptr;
  }
  return addrinfo_ptr(res);
}

/// Binds `fd` to the IPv4 address `source` (any port). False, with `error`
/// set, when it is not one or cannot be bound.
bool bind_source(int fd, const std::string& source, std::string& error)
{
  sockaddr_in a{};
  a.sin_family = AF_INET;
  if (::inet_pton(AF_INET, source.c_str(), &a.sin_addr) != 1)
  {
    error = "source " + source + " is not an IPv4 address";
    return false;
  }
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0)
    return true;
  error = "bind to source " + source + ": " + std::strerror(errno);
  return false;
}

io_status classify(int err)
{
  return (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) ? io_status::ok : io_status::reset;
}

} // namespace

tcp_socket::tcp_socket(tcp_socket&& other) noexcept : fd_(other.fd_)
{
  other.fd_ = -1;
}

tcp_socket& tcp_socket::operator=(tcp_socket&& other) noexcept
{
  if (this != &other)
  {
    close();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

tcp_socket::~tcp_socket()
{
  close();
}

std::string tcp_socket::connect(const std::string& host, std::uint16_t port,
                                clock::time_point deadline, int rcvbuf, const std::string& source)
{
  close();
  std::string error;
  const addrinfo_ptr list = resolve(host, port, SOCK_STREAM, error);
  if (!list)
    return error;
  for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next)
  {
    if (!source.empty() && ai->ai_family != AF_INET)
      continue;
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0 || !set_nonblocking(fd))
    {
      error = std::string("socket: ") + std::strerror(errno);
      if (fd >= 0)
        ::close(fd);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (rcvbuf > 0 && ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) != 0)
    {
      error = std::string("setsockopt SO_RCVBUF: ") + std::strerror(errno);
      ::close(fd);
      continue;
    }
    if (!source.empty() && !bind_source(fd, source, error))
    {
      ::close(fd);
      continue;
    }
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS)
    {
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, ms_until(deadline));
      int soerr = 0;
      socklen_t len = sizeof soerr;
      if (rc == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0)
        rc = 0;
      else
      {
        errno = rc == 0 ? ETIMEDOUT : soerr;
        rc = -1;
      }
    }
    if (rc == 0)
    {
      fd_ = fd;
      return {};
    }
    error = "connect to " + host + " port " + std::to_string(port) + ": " + std::strerror(errno);
    ::close(fd);
  }
  return error.empty() ? "no address for " + host : error;
}

io_status tcp_socket::read_some(std::string& out, clock::time_point deadline)
{
  if (fd_ < 0)
    return io_status::reset;
  char buf[65536];
  for (;;)
  {
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0)
    {
      out.append(buf, static_cast<std::size_t>(n));
      return io_status::ok;
    }
    if (n == 0)
      return io_status::eof;
    if (classify(errno) == io_status::reset)
      return io_status::reset;
    pollfd p{fd_, POLLIN, 0};
    const int rc = ::poll(&p, 1, ms_until(deadline));
    if (rc == 0)
      return io_status::timeout;
    if (rc < 0 && errno != EINTR)
      return io_status::reset;
  }
}

io_status tcp_socket::write_all(std::string_view bytes, std::string& readback,
                                clock::time_point deadline, std::size_t readback_limit)
{
  if (fd_ < 0)
    return io_status::reset;
  bool peer_done = false;
  while (!bytes.empty())
  {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0)
    {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && classify(errno) == io_status::reset)
      return io_status::reset;
    peer_done = peer_done || readback.size() >= readback_limit;
    pollfd p{fd_, static_cast<short>(POLLOUT | (peer_done ? 0 : POLLIN)), 0};
    const int rc = ::poll(&p, 1, ms_until(deadline));
    if (rc == 0)
      return io_status::timeout;
    if (rc < 0 && errno != EINTR)
      return io_status::reset;
    if (!peer_done && (p.revents & (POLLIN | POLLHUP)) != 0)
    {
      char buf[65536];
      const ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
      if (r > 0)
        readback.append(buf, static_cast<std::size_t>(r));
      else if (r == 0)
        peer_done = true;
    }
  }
  return io_status::ok;
}

tcp_socket::stall_result tcp_socket::write_until_stalled(std::string_view unit, std::size_t limit,
                                                         std::chrono::milliseconds stall,
                                                         clock::time_point deadline)
{
  // About 64 KiB of whole units at a time, the last piece cut at `limit`.
  std::string chunk;
  while (chunk.size() < 65536)
    chunk += unit;
  std::size_t given = 0;
  return write_until_stalled(
      [&]
      {
        const std::size_t n = std::min(chunk.size(), limit - given);
        given += n;
        return std::string_view(chunk).substr(0, n);
      },
      stall, deadline);
}

tcp_socket::stall_result
tcp_socket::write_until_stalled(const std::function<std::string_view()>& next,
                                std::chrono::milliseconds stall, clock::time_point deadline)
{
  using end = stall_result::end;
  stall_result r;
  std::string_view piece; // what is left of what next() gave
  if (fd_ < 0)
    r.how = end::failed;
  while (fd_ >= 0 && clock::now() < deadline)
  {
    if (piece.empty() && (piece = next()).empty())
    {
      r.how = end::limit;
      break;
    }
    const ssize_t n = ::send(fd_, piece.data(), piece.size(), MSG_NOSIGNAL);
    if (n > 0)
    {
      r.written += static_cast<std::size_t>(n);
      piece.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && classify(errno) == io_status::reset)
    {
      r.how = end::failed;
      break;
    }
    pollfd p{fd_, POLLOUT, 0};
    const bool cut = deadline < clock::now() + stall; // the deadline comes first
    const int rc = ::poll(&p, 1, cut ? ms_until(deadline) : static_cast<int>(stall.count()));
    if (rc == 0 && !cut)
    {
      r.how = end::stalled; // no progress for `stall`: the peer stopped reading
      break;
    }
    if (rc > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0)
    {
      r.how = end::failed;
      break;
    }
  }
  return r;
}

tcp_socket::drop tcp_socket::wait_dropped(clock::time_point deadline, std::size_t& unread)
{
  unread = 0;
  if (fd_ < 0)
    return drop::reset;
#ifdef POLLRDHUP
  constexpr short fin_event = POLLRDHUP;
#else
  constexpr short fin_event = 0;
#endif
  drop how = drop::timeout;
  for (;;)
  {
    // POLLERR and POLLHUP are reported whatever is asked for; POLLIN is
    // not asked for, so octets waiting to be read do not count.
    pollfd p{fd_, fin_event, 0};
    const int rc = ::poll(&p, 1, ms_until(deadline));
    if (rc < 0 && errno == EINTR)
      continue;
    if (rc < 0 || (p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0)
      how = drop::reset;
    else if (rc > 0 && (p.revents & fin_event) != 0)
      how = drop::closed;
    else if (clock::now() < deadline)
      continue;
    break;
  }
  int queued = 0;
  if (::ioctl(fd_, FIONREAD, &queued) == 0 && queued > 0)
    unread = static_cast<std::size_t>(queued);
  return how;
}

void tcp_socket::shutdown_send() noexcept
{
  if (fd_ >= 0)
    ::shutdown(fd_, SHUT_WR);
}

void tcp_socket::close(bool reset) noexcept
{
  if (fd_ < 0)
    return;
  if (reset)
  {
    linger lg{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  ::close(fd_);
  fd_ = -1;
}

bool udp_answers(const std::string& host, std::uint16_t port, std::string_view payload,
                 std::chrono::milliseconds wait)
{
  std::string error;
  const addrinfo_ptr list = resolve(host, port, SOCK_DGRAM, error);
  if (!list)
    return false;
  bool answered = false;
  for (const addrinfo* ai = list.get(); ai != nullptr && !answered; ai = ai->ai_next)
  {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
      continue;
    // Connected, so an ICMP port unreachable shows as ECONNREFUSED.
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
        ::send(fd, payload.data(), payload.size(), 0) >= 0)
    {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(wait.count())) == 1)
      {
        char buf[2048];
        answered = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT) >= 0;
      }
    }
    ::close(fd);
  }
  return answered;
}

} // namespace natter::conform
