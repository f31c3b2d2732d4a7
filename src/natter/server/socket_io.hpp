// What natterd's connections share at the socket: one read buffer per
// thread, and a write that never blocks.
#ifndef NATTER_SERVER_SOCKET_IO_HPP
#define NATTER_SERVER_SOCKET_IO_HPP

#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <span>
#include <string_view>

namespace natter::server
{

/// The calling thread's read buffer (64 KiB). Reads go through it, so an
/// idle connection owns no read buffer: its socket waits for readability,
/// then the bytes are handed on, and only what cannot be used yet is kept.
std::span<char> read_buffer() noexcept;

/// send(2) of `bytes` on a non-blocking socket, retried on EINTR: the
/// octets taken, or -1 with errno set (EAGAIN when none fit).
inline ssize_t send_now(int fd, std::string_view bytes) noexcept
{
  ssize_t n;
  do
    n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n;
}

} // namespace natter::server

#endif // NATTER_SERVER_SOCKET_IO_HPP
