#include "pump.hpp"

namespace natter::conform
{

std::optional<frame> take_frame(std::string& buffer)
{
  if (buffer.empty())
    return std::nullopt;
  if (static_cast<unsigned char>(buffer[0]) == 0xFF)
  {
    if (buffer.size() < 3)
      return std::nullopt;
    frame f{true, buffer.substr(0, 3)};
    buffer.erase(0, 3);
    return f;
  }
  const std::size_t lf = buffer.find('\n');
  if (lf == std::string::npos)
    return std::nullopt;
  const bool crlf = lf > 0 && buffer[lf - 1] == '\r';
  frame f{false, buffer.substr(0, crlf ? lf - 1 : lf), crlf};
  buffer.erase(0, lf + 1);
  return f;
}

std::string pump::connect(const std::string& host, std::uint16_t port, clock::time_point deadline,
                          int rcvbuf, const std::string& source)
{
  std::string err = sock_.connect(host, port, deadline, rcvbuf, source);
  opened_ = err.empty();
  return err;
}

arrival pump::wait_for_input(clock::time_point until)
{
  if (over())
    return arrival::nothing;
  switch (sock_.read_some(received_, until))
  {
  case io_status::ok: return arrival::octets;
  case io_status::timeout: return arrival::nothing;
  case io_status::eof: eof_ = true; return arrival::end;
  case io_status::reset: reset_ = true; return arrival::end;
  }
  return arrival::nothing;
}

bool pump::write(std::string_view bytes, clock::time_point deadline, std::size_t max_received)
{
  return sock_.write_all(bytes, received_, deadline, max_received) != io_status::timeout;
}

tcp_socket::stall_result pump::write_until_stalled(std::string_view unit, std::size_t limit,
                                                   std::chrono::milliseconds stall,
                                                   clock::time_point deadline)
{
  return sock_.write_until_stalled(unit, limit, stall, deadline);
}

tcp_socket::drop pump::wait_dropped(clock::time_point deadline, std::size_t& unread)
{
  const tcp_socket::drop how = sock_.wait_dropped(deadline, unread);
  if (how == tcp_socket::drop::reset)
    reset_ = true;
  else if (how == tcp_socket::drop::closed)
    eof_ = true;
  return how;
}

void pump::close(bool reset) noexcept
{
  sock_.close(reset);
  closed_ = true;
}

void pump::shutdown_send() noexcept
{
  sock_.shutdown_send();
  shut_ = true;
}

} // namespace natter::conform
