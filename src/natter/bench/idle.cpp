// idle mode: open N connections, register each (natter: NICK; IRC: NICK +
// USER), hold them, and report how many made it and what the server's
// resident memory grew by. Source addresses are spread over 127.0.0.0/8
// (1000 connections per address) so the ephemeral port range of one address
// is never the limit.
#include "natter/bench/chat_conn.hpp"
#include "natter/bench/modes.hpp"

#include "natter/bench/clock.hpp"
#include "natter/bench/endpoint.hpp"
#include "natter/bench/poller.hpp"
#include "natter/bench/process_stats.hpp"
#include "natter/bench/progress.hpp"
#include "natter/bench/report.hpp"
#include "natter/bench/socket.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <vector>

namespace natter::bench
{

int run_idle(const idle_options& o)
{
  const dialect d = parse_dialect(o.dialect);
  const long nofile = raise_nofile_limit();
  const endpoint ep = resolve_loopback(o.host, o.port);
  if (nofile > 0 && o.conns + 64 > static_cast<unsigned long>(nofile))
    throw std::runtime_error("--conns " + std::to_string(o.conns) +
                             " needs more descriptors than RLIMIT_NOFILE allows (" +
                             std::to_string(nofile) + ")");
  char tag[2];
  const auto p = static_cast<unsigned>(::getpid());
  tag[0] = static_cast<char>('a' + (p / 7) % 26);
  tag[1] = static_cast<char>('a' + (p / 182) % 26);

  poller poll;
  std::vector<chat_conn> conns(o.conns);
  std::vector<char> buf(read_buffer_size);
  for (std::size_t i = 0; i < conns.size(); ++i)
    conns[i].index = static_cast<std::uint32_t>(i);
  std::size_t started = 0, in_setup = 0, ready = 0, failed = 0, dropped = 0;
  std::size_t barrier_left = 0; // connections whose barrier PONG is still due
  // Why connections failed: connect() refused or failed, the server refused
  // the registration (a 4xx/5xx or ERROR line), or it closed the connection.
  std::size_t failed_connect = 0, failed_refused = 0, failed_closed = 0;
  int connect_errno = 0;
  const long rss_before = rss_kib(o.server_pid);

  auto kill = [&](chat_conn& c)
  {
    if (c.st == chat_conn::state::dead)
      return;
    if (c.barrier)
    {
      c.barrier = false;
      --barrier_left;
    }
    if (c.st == chat_conn::state::ready)
    {
      --ready;
      ++dropped;
    }
    else if (c.st != chat_conn::state::idle)
    {
      --in_setup;
      ++failed;
    }
    close_conn(c, poll);
  };
  auto start_next = [&]
  {
    while (in_setup < o.concurrency && started < conns.size())
    {
      const in_addr src = spread_source(started);
      if (begin_connect(conns[started], ep, o.spread ? &src : nullptr, poll))
        ++in_setup;
      else
      {
        ++failed;
        ++failed_connect;
        connect_errno = errno;
      }
      ++started;
    }
  };
  auto on_event = [&](chat_conn& c, std::uint32_t events)
  {
    if (c.st == chat_conn::state::connecting)
    {
      if (!connect_succeeded(c.fd))
      {
        ++failed_connect;
        return kill(c);
      }
      c.st = chat_conn::state::registering;
      poll.modify(c.fd, &c, EPOLLIN);
      if (!send_registration(c, d, make_nick(false, tag, c.index)))
        kill(c);
      return;
    }
    if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
      return;
    const long n = read_lines(c, buf.data(),
                              [&](std::string_view line)
                              {
                                if (d == dialect::irc && answer_ping(c, line))
                                  return;
                                if (ends_barrier(c, line))
                                {
                                  --barrier_left;
                                  return;
                                }
                                if (c.st != chat_conn::state::registering)
                                  return;
                                switch (setup_line(line, d))
                                {
                                case setup_event::registered:
                                case setup_event::joined:
                                  c.st = chat_conn::state::ready;
                                  --in_setup;
                                  ++ready;
                                  break;
                                case setup_event::failed:
                                  ++failed_refused;
                                  kill(c);
                                  break;
                                case setup_event::none: break;
                                }
                              });
    if (n == 0 || n == -2)
    {
      if (c.st != chat_conn::state::ready)
        ++failed_closed;
      kill(c);
    }
  };

  progress prog;
  const std::uint64_t t0 = now_ns();
  const std::uint64_t setup_deadline = t0 + static_cast<std::uint64_t>(o.setup_timeout * 1e9);
  std::uint64_t t_ready = 0, hold_end = 0;
  long rss_held = -1;
  start_next();
  for (;;)
  {
    const auto events = poll.wait(20);
    const std::uint64_t now = now_ns();
    for (const epoll_event& ev : events)
    {
      auto& c = *static_cast<chat_conn*>(ev.data.ptr);
      if (c.st != chat_conn::state::dead)
        on_event(c, ev.events);
    }
    if (t_ready == 0 && events.size() > 64)
    {
      // Registered clients receive a JOIN line for every later registration
      // (natter). Letting them pile up for a few milliseconds turns a read
      // per line into a read per hundred lines.
      timespec pause{0, 5'000'000};
      ::nanosleep(&pause, nullptr);
    }
    if (t_ready == 0)
    {
      start_next();
      if ((started == conns.size() && in_setup == 0) || now > setup_deadline)
      {
        t_ready = now;
        // The hold starts once every client has the PONG to a PING sent
        // now: the server queued it behind everything setup left queued
        // (natter's JOIN storm), so its memory is measured at rest.
        for (chat_conn& c : conns)
        {
          if (c.st != chat_conn::state::ready || d == dialect::raw)
            continue;
          if (!start_barrier(c))
          {
            kill(c);
            continue;
          }
          ++barrier_left;
        }
      }
    }
    else if (hold_end == 0)
    {
      if (barrier_left == 0 || now > setup_deadline)
        hold_end = now + static_cast<std::uint64_t>(o.duration * 1e9);
    }
    else if (now >= hold_end)
    {
      rss_held = rss_kib(o.server_pid); // at the end of the hold: after any lazy growth
      break;
    }
    if (prog.due(now))
    {
      char text[128];
      std::snprintf(text, sizeof text, "idle: registered %zu/%zu%s", ready, conns.size(),
                    t_ready ? "  holding" : "");
      prog.show(now, text);
    }
  }
  prog.finish();
  const std::size_t held = ready;
  const std::size_t dropped_while_held = dropped;
  for (chat_conn& c : conns)
    kill(c);

  report r("idle");
  r.text("target", "target", o.host + ":" + std::to_string(o.port));
  r.text("dialect", "dialect", o.dialect);
  r.number("requested", "requested", o.conns);
  r.number("registered", "registered and held", static_cast<double>(held));
  r.number("failed", "failed", static_cast<double>(failed));
  r.number("failed_connect", "  connect failed", static_cast<double>(failed_connect));
  if (connect_errno != 0)
    r.text("connect_error", "  connect error", std::strerror(connect_errno));
  r.number("failed_refused", "  refused by the server", static_cast<double>(failed_refused));
  r.number("failed_closed", "  closed by the server", static_cast<double>(failed_closed));
  r.number("dropped", "dropped while held", static_cast<double>(dropped_while_held));
  r.number("setup_s", "time to register all", static_cast<double>(t_ready - t0) / 1e9, 2, "s");
  if (rss_before >= 0 && rss_held >= 0)
  {
    r.number("server_rss_before_kib", "server RSS before", static_cast<double>(rss_before), 0,
             "KiB");
    r.number("server_rss_kib", "server RSS holding them", static_cast<double>(rss_held), 0, "KiB");
    r.number("rss_per_client_kib", "server RSS per client",
             held ? static_cast<double>(rss_held - rss_before) / static_cast<double>(held) : 0, 3,
             "KiB");
  }
  r.print(o.json);
  return (held == o.conns && dropped_while_held == 0) ? 0 : 1;
}

} // namespace natter::bench
