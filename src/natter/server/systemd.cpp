#include "natter/server/systemd.hpp"

#include "natter/server/log.hpp"

#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iterator>
#include <stdexcept>

namespace natter::server
{

namespace
{

// "chat, tls, echo and metrics", for the message that refuses a name.
std::string listed(std::initializer_list<std::string_view> names)
{
  std::string out;
  for (auto it = names.begin(); it != names.end(); ++it)
  {
    if (it != names.begin())
      out += std::next(it) == names.end() ? " and " : ", ";
    out += *it;
  }
  return out;
}

// One datagram to $NOTIFY_SOCKET (nothing without it). A failure is logged:
// systemd would otherwise only time natterd's start or reload out.
void tell(const std::string& message)
{
  if (const int r = sd_notify(0, message.c_str()); r < 0)
    log(log_level::warn, "cannot tell systemd " + message.substr(0, message.find('\n')) +
                             " ($NOTIFY_SOCKET): " + std::strerror(-r));
}

} // namespace

passed_sockets passed_sockets::from_environment(std::initializer_list<std::string_view> known)
{
  char** names = nullptr;
  const int n = sd_listen_fds_with_names(1, &names);
  if (n < 0)
    throw std::runtime_error(std::string("cannot take the sockets systemd passed ($LISTEN_FDS): ") +
                             std::strerror(-n));
  passed_sockets out;
  for (int i = 0; i < n; ++i)
  {
    out.fds_.emplace_back(names[i], SD_LISTEN_FDS_START + i);
    std::free(names[i]);
  }
  std::free(names);
  // Every descriptor is checked before any is used, so a unit file's
  // mistake stops natterd before it serves anything.
  for (std::size_t i = 0; i < out.fds_.size(); ++i)
  {
    const auto& [name, fd] = out.fds_[i];
    const std::string which = "the socket systemd passed as '" + name + "'";
    if (std::find(known.begin(), known.end(), name) == known.end())
      throw std::runtime_error(which + " is for no service of natterd's: name it " + listed(known) +
                               " (FileDescriptorName=)");
    for (std::size_t j = 0; j < i; ++j)
      if (out.fds_[j].first == name)
        throw std::runtime_error("systemd passed two sockets as '" + name +
                                 "': natterd takes one per service");
    if (sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0) <= 0)
      throw std::runtime_error(which + " is not a listening TCP socket (ListenStream= with an " +
                               "address or port, and Accept=no)");
  }
  return out;
}

passed_sockets::passed_sockets(passed_sockets&& other) noexcept : fds_(std::move(other.fds_))
{
  other.fds_.clear();
}

passed_sockets::~passed_sockets()
{
  for (const auto& [name, fd] : fds_)
    if (fd >= 0)
      ::close(fd);
}

int passed_sockets::take(std::string_view name)
{
  for (auto& [n, fd] : fds_)
    if (n == name)
      return std::exchange(fd, -1);
  return -1;
}

void passed_sockets::discard(std::string_view name, std::string_view why)
{
  const int fd = take(name);
  if (fd < 0)
    return;
  ::close(fd);
  log(log_level::warn, "the socket systemd passed as '" + std::string(name) + "' is not used (" +
                           std::string(why) + "): closed");
}

void notify_ready(std::string_view status)
{
  tell("READY=1\nSTATUS=" + std::string(status));
}

void notify_reloading()
{
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  const auto usec = static_cast<unsigned long long>(now.tv_sec) * 1000000ULL +
                    static_cast<unsigned long long>(now.tv_nsec) / 1000ULL;
  tell("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void notify_stopping()
{
  tell("STOPPING=1\nSTATUS=shutting down");
}

} // namespace natter::server
