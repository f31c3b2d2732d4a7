// natterd under systemd (spec 13.1): the listening sockets a socket unit
// passes (sd_listen_fds(3)), taken by name in place of the ports the flags
// name, and the state told to the service manager (sd_notify(3)) for
// Type=notify. Without $LISTEN_FDS and $NOTIFY_SOCKET, nothing of this
// does anything.
#ifndef NATTER_SERVER_SYSTEMD_HPP
#define NATTER_SERVER_SYSTEMD_HPP

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace natter::server
{

/// The sockets systemd passed to natterd, each named by the
/// FileDescriptorName= of its socket unit. Those not taken are closed with
/// it.
class passed_sockets
{
public:
  /// Takes the descriptors $LISTEN_FDS passes to this process (and unsets
  /// $LISTEN_FDS, $LISTEN_PID and $LISTEN_FDNAMES). Throws
  /// std::runtime_error when one has a name not in `known`, when two have
  /// the same name, or when one is not a listening TCP socket (a socket
  /// unit with Accept=yes, a datagram or a unix socket). None passed: empty.
  static passed_sockets from_environment(std::initializer_list<std::string_view> known);

  passed_sockets() = default;
  passed_sockets(passed_sockets&& other) noexcept;
  passed_sockets& operator=(passed_sockets&&) = delete;
  passed_sockets(const passed_sockets&) = delete;
  passed_sockets& operator=(const passed_sockets&) = delete;
  ~passed_sockets();

  /// The descriptor passed as `name`, now the caller's; -1 when none was.
  int take(std::string_view name);

  /// Closes the descriptor passed as `name`, if any, with a warning that
  /// natterd does not use it and `why` ("--echo-port is off").
  void discard(std::string_view name, std::string_view why);

private:
  std::vector<std::pair<std::string, int>> fds_;
};

/// Tells the service manager that natterd serves, and `status` (the
/// listeners: "chat [::]:7777, echo [::]:7").
void notify_ready(std::string_view status);

/// Tells the service manager that natterd is reloading (SIGHUP), with the
/// CLOCK_MONOTONIC time that systemd 253's Type=notify-reload asks for.
/// notify_ready() ends the reload.
void notify_reloading();

/// Tells the service manager that natterd's shutdown has begun.
void notify_stopping();

} // namespace natter::server

#endif // NATTER_SERVER_SYSTEMD_HPP
