#include "natter/bench/chat_conn.hpp"

#include "natter/bench/socket.hpp"
#include "natter/proto/reply.hpp"
#include "natter/proto/server_line.hpp"

#include <unistd.h>

#include <memory>
#include <stdexcept>

namespace natter::bench
{

tls_client::tls_client(const tls_options& o, const std::string& host_name)
    : ctx(tls::client_settings{!o.insecure, o.ca_file}), host(host_name)
{
}

dialect parse_dialect(const std::string& name)
{
  if (name == "natter")
    return dialect::natter;
  if (name == "irc")
    return dialect::irc;
  if (name == "raw")
    return dialect::raw;
  throw std::runtime_error("--dialect must be natter, irc or raw, not " + name);
}

bool begin_connect(chat_conn& c, const endpoint& to, const in_addr* source, poller& poll)
{
  c.fd = start_connect(to, source);
  if (c.fd < 0)
  {
    c.st = chat_conn::state::dead;
    return false;
  }
  c.st = chat_conn::state::connecting;
  poll.add(c.fd, &c, EPOLLOUT);
  return true;
}

start_failures start_connections(std::span<chat_conn> conns, std::size_t& started,
                                 std::size_t& in_setup, std::size_t concurrency,
                                 std::span<const endpoint> to, bool spread, poller& poll)
{
  start_failures failed;
  for (; in_setup < concurrency && started < conns.size(); ++started)
  {
    const in_addr src = spread_source(started);
    if (begin_connect(conns[started], to[conns[started].node], spread ? &src : nullptr, poll))
      ++in_setup;
    else
    {
      ++failed.count;
      failed.error = errno; // as begin_connect() left it
    }
  }
  return failed;
}

bool connect_succeeded(int fd) noexcept
{
  int err = 0;
  socklen_t len = sizeof err;
  return ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
}

bool start_tls(chat_conn& c, const tls_client& t, SSL_SESSION* resume)
{
  c.tls =
      std::make_unique<tls::channel>(t.ctx.native(), tls::channel::role::client, t.host, resume);
  c.st = chat_conn::state::handshaking;
  c.tls->connect();
  return flush(c);
}

void close_conn(chat_conn& c, poller& poll) noexcept
{
  c.st = chat_conn::state::dead;
  if (!c.reading)
    c.tls.reset();
  if (c.fd >= 0)
  {
    poll.remove(c.fd);
    ::close(c.fd);
    c.fd = -1;
  }
}

namespace
{

// Sends what the socket takes of `data` now: the octets taken, or -1 when
// the socket failed.
ssize_t send_some(int fd, std::string_view data)
{
  std::size_t done = 0;
  while (done < data.size())
  {
    const ssize_t w = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (w > 0)
      done += static_cast<std::size_t>(w);
    else if (w < 0 && errno == EINTR)
      continue;
    else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    else
      return -1;
  }
  return static_cast<ssize_t>(done);
}

} // namespace

bool flush(chat_conn& c)
{
  if (c.tls)
  {
    // Everything queued becomes records of up to 16 KiB at once; before
    // the handshake is complete it waits.
    if (c.out_off < c.out.size() && c.tls->established())
    {
      c.tls->encrypt(std::string_view(c.out).substr(c.out_off));
      c.out.clear();
      c.out_off = 0;
    }
    const ssize_t w = send_some(c.fd, c.tls->pending());
    if (w > 0)
      c.tls->sent(static_cast<std::size_t>(w));
    return w >= 0;
  }
  const ssize_t w = send_some(c.fd, std::string_view(c.out).substr(c.out_off));
  if (w < 0)
    return false;
  c.out_off += static_cast<std::size_t>(w);
  if (c.out_off == c.out.size())
  {
    c.out.clear(); // keeps the capacity: no allocation in the steady state
    c.out_off = 0;
  }
  return true;
}

bool queue_and_flush(chat_conn& c, std::string_view bytes)
{
  c.out.append(bytes);
  return flush(c);
}

bool send_registration(chat_conn& c, dialect d, const std::string& nick)
{
  if (d == dialect::raw)
    return true;
  if (d == dialect::natter)
    return queue_and_flush(c, "NICK " + nick + "\r\n");
  return queue_and_flush(c, "NICK " + nick + "\r\nUSER " + nick + " 0 * :natter-bench\r\n");
}

namespace
{

constexpr std::string_view barrier_token = "natter-bench-barrier";
constexpr std::string_view barrier_ping = "PING natter-bench-barrier\r\n";

// The command of an IRC line (after an optional ":prefix ").
std::string_view irc_command(std::string_view line, std::string_view* rest = nullptr)
{
  if (!line.empty() && line.front() == ':')
  {
    const std::size_t sp = line.find(' ');
    line = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
  }
  const std::size_t sp = line.find(' ');
  if (rest)
    *rest = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
  return line.substr(0, sp);
}

} // namespace

setup_event setup_line(std::string_view line, dialect d)
{
  if (d == dialect::natter)
  {
    using proto::reply_code;
    const proto::server_line l = proto::parse_server_line(line);
    if (l.what != proto::server_line::kind::reply)
      return setup_event::none;
    const auto code = static_cast<reply_code>(l.code);
    if (code == reply_code::nick_accepted)
      return setup_event::registered;
    if (code == reply_code::nick_in_use || code == reply_code::invalid_nick ||
        proto::closes_connection(code))
      return setup_event::failed;
    return setup_event::none;
  }
  const std::string_view cmd = irc_command(line);
  if (cmd == "001")
    return setup_event::registered;
  if (cmd == "366")
    return setup_event::joined;
  if (cmd == "ERROR" || cmd == "432" || cmd == "433" || cmd == "465" || cmd == "471" ||
      cmd == "473" || cmd == "474" || cmd == "475")
    return setup_event::failed;
  return setup_event::none;
}

bool answer_ping(chat_conn& c, std::string_view line)
{
  std::string_view rest;
  if (irc_command(line, &rest) != "PING")
    return false;
  c.out.append("PONG ");
  c.out.append(rest);
  c.out.append("\r\n");
  flush(c);
  return true;
}

bool start_barrier(chat_conn& c)
{
  if (!queue_and_flush(c, barrier_ping))
    return false;
  c.barrier = true;
  return true;
}

bool ends_barrier(chat_conn& c, std::string_view line)
{
  if (!c.barrier)
    return false;
  std::string_view rest;
  if (irc_command(line, &rest) != "PONG" || !rest.ends_with(barrier_token))
    return false;
  c.barrier = false;
  return true;
}

} // namespace natter::bench
