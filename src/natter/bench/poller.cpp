#include "natter/bench/poller.hpp"

#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace natter::bench
{

poller::poller() : fd_(::epoll_create1(EPOLL_CLOEXEC))
{
  if (fd_ < 0)
    throw std::system_error(errno, std::generic_category(), "epoll_create1");
}

poller::~poller()
{
  ::close(fd_);
}

void poller::add(int fd, void* tag, std::uint32_t events)
{
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = tag;
  if (::epoll_ctl(fd_, EPOLL_CTL_ADD, fd, &ev) != 0)
    throw std::system_error(errno, std::generic_category(), "epoll_ctl add");
}

void poller::modify(int fd, void* tag, std::uint32_t events)
{
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = tag;
  ::epoll_ctl(fd_, EPOLL_CTL_MOD, fd, &ev);
}

void poller::remove(int fd)
{
  ::epoll_ctl(fd_, EPOLL_CTL_DEL, fd, nullptr);
}

std::span<const epoll_event> poller::wait(int timeout_ms)
{
  const int n = ::epoll_wait(fd_, events_.data(), static_cast<int>(events_.size()), timeout_ms);
  return {events_.data(), n > 0 ? static_cast<std::size_t>(n) : 0u};
}

} // namespace natter::bench
