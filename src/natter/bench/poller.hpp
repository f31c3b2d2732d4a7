// natter-bench: a thin epoll wrapper, the one the modes' event loops wait
// on.
#ifndef NATTER_BENCH_POLLER_HPP
#define NATTER_BENCH_POLLER_HPP

#include <sys/epoll.h>

#include <array>
#include <cstdint>
#include <span>

namespace natter::bench
{

/// epoll with a pointer per descriptor; level-triggered.
class poller
{
public:
  poller();
  ~poller();
  poller(const poller&) = delete;
  poller& operator=(const poller&) = delete;
  void add(int fd, void* tag, std::uint32_t events);
  void modify(int fd, void* tag, std::uint32_t events);
  void remove(int fd);
  /// Waits up to `timeout_ms`; returns the ready events.
  std::span<const epoll_event> wait(int timeout_ms);

private:
  int fd_ = -1;
  std::array<epoll_event, 512> events_{};
};

} // namespace natter::bench

#endif // NATTER_BENCH_POLLER_HPP
