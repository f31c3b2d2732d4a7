// echo mode: every connection keeps `window` messages of `size` octets in
// flight and checks every octet that comes back against what it sent.
//
// The payload is a fixed pattern, period P (a multiple of the message
// size, at least 64 KiB), stored twice in a row so that any P octets from
// any offset are one contiguous slice: sends go straight from the pattern
// and a received chunk is checked with one memcmp. Each message is
// printable text ending in LF, so line-oriented servers see lines.
#include "natter/bench/modes.hpp"

#include "natter/bench/clock.hpp"
#include "natter/bench/endpoint.hpp"
#include "natter/bench/latency_histogram.hpp"
#include "natter/bench/poller.hpp"
#include "natter/bench/process_stats.hpp"
#include "natter/bench/progress.hpp"
#include "natter/bench/report.hpp"
#include "natter/bench/socket.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace natter::bench
{

namespace
{

struct echo_conn
{
  int fd = -1;
  bool connected = false;
  bool dead = false;
  bool want_out = false;
  std::uint64_t sent = 0;            // octets written
  std::uint64_t received = 0;        // octets read and verified
  std::uint64_t queued = 0;          // messages put in flight
  std::uint64_t done = 0;            // messages fully echoed
  std::vector<std::uint64_t> stamps; // queue time of message k at [k % window]
};

std::vector<char> make_pattern(std::size_t size, std::size_t& period)
{
  period = size >= 65536 ? size : size * ((65536 + size - 1) / size);
  std::vector<char> p(2 * period);
  std::uint64_t x = 0x9E3779B97F4A7C15u;
  for (std::size_t i = 0; i < period; ++i)
  {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p[i] = (i % size == size - 1) ? '\n' : static_cast<char>('!' + x % 94);
  }
  std::copy(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(period),
            p.begin() + static_cast<std::ptrdiff_t>(period));
  return p;
}

} // namespace

int run_echo(const echo_options& o)
{
  if (o.conns == 0 || o.size == 0 || o.window == 0)
    throw std::runtime_error("--conns, --size and --window must be positive");
  raise_nofile_limit();
  const endpoint ep = resolve_loopback(o.host, o.port);
  std::size_t period = 0;
  const std::vector<char> pattern = make_pattern(o.size, period);
  std::vector<char> rbuf(std::max<std::size_t>(256 * 1024, 2 * o.size));

  poller poll;
  std::vector<echo_conn> conns(o.conns);
  std::size_t connected = 0, failed = 0, verify_errors = 0, closed_early = 0;
  for (std::size_t i = 0; i < conns.size(); ++i)
  {
    echo_conn& c = conns[i];
    c.stamps.assign(o.window, 0);
    const in_addr src = spread_source(i);
    c.fd = start_connect(ep, o.conns > 20000 ? &src : nullptr);
    if (c.fd < 0)
    {
      c.dead = true;
      ++failed;
      continue;
    }
    poll.add(c.fd, &c, EPOLLOUT);
  }

  progress prog;
  const std::uint64_t setup_deadline = now_ns() + static_cast<std::uint64_t>(o.setup_timeout * 1e9);
  const std::uint64_t period_ns = static_cast<std::uint64_t>(o.duration * 1e9);
  enum class phase
  {
    connecting,
    running,
    draining,
    finished
  } ph = phase::connecting;
  std::uint64_t t_start = 0, t_end = 0, t_drain_end = 0;
  std::uint64_t bytes_at_end = 0, msgs_at_end = 0;
  latency_histogram rtt;
  cpu_meter cpu(o.server_pid);

  auto kill = [&](echo_conn& c)
  {
    if (c.dead)
      return;
    poll.remove(c.fd);
    ::close(c.fd);
    c.fd = -1;
    c.dead = true;
  };
  auto flush = [&](echo_conn& c)
  {
    const std::uint64_t target = c.queued * o.size;
    for (int rounds = 0; rounds < 8 && c.sent < target; ++rounds)
    {
      const std::size_t off = static_cast<std::size_t>(c.sent % period);
      const std::size_t len =
          static_cast<std::size_t>(std::min<std::uint64_t>(target - c.sent, period));
      const ssize_t w = ::send(c.fd, pattern.data() + off, len, MSG_NOSIGNAL);
      if (w > 0)
        c.sent += static_cast<std::uint64_t>(w);
      else if (w < 0 && errno == EINTR)
        continue;
      else if (w < 0 && errno == EAGAIN)
        break;
      else
      {
        ++closed_early;
        kill(c);
        return;
      }
    }
    const bool want = c.sent < target;
    if (want != c.want_out)
    {
      c.want_out = want;
      poll.modify(c.fd, &c, EPOLLIN | (want ? EPOLLOUT : 0u));
    }
  };
  auto fill_window = [&](echo_conn& c, std::uint64_t now)
  {
    while (c.queued < c.done + o.window)
    {
      c.stamps[c.queued % o.window] = now;
      ++c.queued;
    }
  };
  auto on_readable = [&](echo_conn& c, std::uint64_t now)
  {
    for (int rounds = 0; rounds < 4; ++rounds)
    {
      const ssize_t n = ::recv(c.fd, rbuf.data(), rbuf.size(), 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        break;
      if (n <= 0)
      {
        if (c.received < c.sent || ph == phase::running)
          ++closed_early;
        kill(c);
        return;
      }
      // Verify: never more back than was sent, and every octet as sent.
      std::size_t pos = 0;
      const auto got = static_cast<std::size_t>(n);
      if (c.received + got > c.sent)
      {
        ++verify_errors;
        kill(c);
        return;
      }
      while (pos < got)
      {
        const std::size_t off = static_cast<std::size_t>(c.received % period);
        const std::size_t len = std::min(got - pos, period);
        if (std::memcmp(rbuf.data() + pos, pattern.data() + off, len) != 0)
        {
          ++verify_errors;
          kill(c);
          return;
        }
        pos += len;
        c.received += len;
      }
      while (c.received >= (c.done + 1) * o.size)
      {
        if (ph == phase::running)
          rtt.record(now - c.stamps[c.done % o.window]);
        ++c.done;
      }
      if (got < rbuf.size())
        break;
    }
    if (ph == phase::running)
      fill_window(c, now);
    flush(c);
  };

  while (ph != phase::finished)
  {
    const auto events = poll.wait(ph == phase::connecting ? 50 : 10);
    const std::uint64_t now = now_ns();
    for (const epoll_event& ev : events)
    {
      auto& c = *static_cast<echo_conn*>(ev.data.ptr);
      if (c.dead)
        continue;
      if (!c.connected)
      {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0)
        {
          ++failed;
          kill(c);
          continue;
        }
        c.connected = true;
        ++connected;
        poll.modify(c.fd, &c, EPOLLIN);
        if (ph == phase::running)
        {
          fill_window(c, now);
          flush(c);
        }
        continue;
      }
      if (ev.events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        on_readable(c, now);
      if (!c.dead && (ev.events & EPOLLOUT))
        flush(c);
    }

    if (ph == phase::connecting && (connected + failed == conns.size() || now > setup_deadline))
    {
      ph = phase::running;
      t_start = now;
      cpu.start();
      for (echo_conn& c : conns)
        if (c.connected && !c.dead)
        {
          fill_window(c, now);
          flush(c);
        }
    }
    else if (ph == phase::running && now - t_start >= period_ns)
    {
      cpu.stop();
      t_end = now;
      for (const echo_conn& c : conns)
      {
        bytes_at_end += c.received;
        msgs_at_end += c.done;
      }
      ph = phase::draining;
      t_drain_end = now + static_cast<std::uint64_t>(o.drain * 1e9);
    }
    else if (ph == phase::draining)
    {
      bool all = true;
      for (const echo_conn& c : conns)
        if (!c.dead && c.received < c.sent)
          all = false;
      if (all || now > t_drain_end)
        ph = phase::finished;
    }

    if (prog.due(now))
    {
      char line[160];
      if (ph == phase::connecting)
        std::snprintf(line, sizeof line, "echo: connected %zu/%zu", connected, conns.size());
      else
      {
        std::uint64_t bytes = 0, msgs = 0;
        for (const echo_conn& c : conns)
        {
          bytes += c.received;
          msgs += c.done;
        }
        // Rates over at least 0.1 s: the first update comes right at the start.
        const double s = std::max(0.1, static_cast<double>(now - t_start) / 1e9);
        std::snprintf(line, sizeof line, "echo: %.1f s  %.1f MB/s  %.0f msg/s%s", s,
                      static_cast<double>(bytes) / 1e6 / s, static_cast<double>(msgs) / s,
                      ph == phase::draining ? "  draining" : "");
      }
      prog.show(now, line);
    }
  }
  prog.finish();

  std::uint64_t unanswered = 0;
  for (echo_conn& c : conns)
  {
    if (!c.dead)
      unanswered += c.sent - c.received;
    else if (c.connected)
      unanswered += c.sent - c.received;
    kill(c);
  }
  const double secs = t_end > t_start ? static_cast<double>(t_end - t_start) / 1e9 : 1;

  report r("echo");
  r.text("target", "target", o.host + ":" + std::to_string(o.port));
  r.number("conns", "connections", static_cast<double>(connected));
  r.number("failed", "failed to connect", static_cast<double>(failed));
  r.number("size", "message size", static_cast<double>(o.size), 0, "octets");
  r.number("window", "window", o.window, 0, "messages per connection");
  r.number("seconds", "measured", secs, 2, "s");
  r.number("mb_per_s", "echoed", static_cast<double>(bytes_at_end) / 1e6 / secs, 1, "MB/s");
  r.number("msgs_per_s", "messages", static_cast<double>(msgs_at_end) / secs, 0, "/s");
  report_latency(r, "rtt", "round trip", rtt);
  r.number("verify_errors", "corrupted", static_cast<double>(verify_errors));
  r.number("closed_early", "closed early", static_cast<double>(closed_early));
  r.number("unanswered_bytes", "not echoed after drain", static_cast<double>(unanswered), 0,
           "octets");
  report_cpu(r, cpu);
  r.print(o.json);
  return (verify_errors || closed_early || unanswered || failed || connected == 0) ? 1 : 0;
}

} // namespace natter::bench
