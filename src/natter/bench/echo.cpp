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
#include "natter/bench/mode_driver.hpp"
#include "natter/bench/poller.hpp"
#include "natter/bench/process_stats.hpp"
#include "natter/bench/report.hpp"
#include "natter/bench/socket.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
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

/// The echo mode (see mode_driver.hpp for the shape).
class echo_mode
{
public:
  using options_type = echo_options;
  static constexpr const char* name = "echo";

  explicit echo_mode(const echo_options& o);

  poller& poll() noexcept { return poll_; }
  int wait_ms() const noexcept { return ph_ == phase::connecting ? 50 : 10; }
  void start(std::uint64_t now);
  void on_event(const epoll_event& ev, std::uint64_t now);
  bool advance(std::uint64_t now, std::size_t ready);
  std::string status(std::uint64_t now) const;
  int finish(report& r);

private:
  enum class phase
  {
    connecting,
    running,
    draining,
    finished
  };

  void connect_all();
  void on_connected(echo_conn& c, std::uint64_t now);
  void on_readable(echo_conn& c, std::uint64_t now);
  bool verify(echo_conn& c, std::size_t got);
  void complete_messages(echo_conn& c, std::uint64_t now);
  void fill_window(echo_conn& c, std::uint64_t now);
  void flush(echo_conn& c);
  void kill(echo_conn& c);
  void start_running(std::uint64_t now);
  void stop_running(std::uint64_t now);
  bool all_answered() const;

  const echo_options& o_;
  endpoint ep_;
  std::size_t period_ = 0;
  std::vector<char> pattern_;
  std::vector<char> rbuf_;
  poller poll_;
  std::vector<echo_conn> conns_;
  std::size_t connected_ = 0, failed_ = 0, verify_errors_ = 0, closed_early_ = 0;
  phase ph_ = phase::connecting;
  std::uint64_t setup_deadline_ = 0, t_start_ = 0, t_end_ = 0, t_drain_end_ = 0;
  std::uint64_t bytes_at_end_ = 0, msgs_at_end_ = 0;
  latency_histogram rtt_;
  cpu_meter cpu_;
};

echo_mode::echo_mode(const echo_options& o) : o_(o), cpu_(o.server_pids)
{
  if (o.conns == 0 || o.size == 0 || o.window == 0)
    throw std::runtime_error("--conns, --size and --window must be positive");
  raise_nofile_limit();
  ep_ = resolve_loopback(o.host, o.port);
  pattern_ = make_pattern(o.size, period_);
  rbuf_.resize(std::max<std::size_t>(256 * 1024, 2 * o.size));
  conns_.resize(o.conns);
  connect_all();
}

// Starts every connection at once; the connecting phase waits for all of
// them, up to --setup-timeout.
void echo_mode::connect_all()
{
  for (std::size_t i = 0; i < conns_.size(); ++i)
  {
    echo_conn& c = conns_[i];
    c.stamps.assign(o_.window, 0);
    const in_addr src = spread_source(i);
    c.fd = start_connect(ep_, o_.conns > 20000 ? &src : nullptr);
    if (c.fd < 0)
    {
      c.dead = true;
      ++failed_;
      continue;
    }
    poll_.add(c.fd, &c, EPOLLOUT);
  }
}

void echo_mode::start(std::uint64_t now)
{
  setup_deadline_ = now + seconds_to_ns(o_.setup_timeout);
}

void echo_mode::on_event(const epoll_event& ev, std::uint64_t now)
{
  auto& c = *static_cast<echo_conn*>(ev.data.ptr);
  if (c.dead)
    return;
  if (!c.connected)
  {
    on_connected(c, now);
    return;
  }
  if (ev.events & (EPOLLIN | EPOLLERR | EPOLLHUP))
    on_readable(c, now);
  if (!c.dead && (ev.events & EPOLLOUT))
    flush(c);
}

void echo_mode::on_connected(echo_conn& c, std::uint64_t now)
{
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0)
  {
    ++failed_;
    kill(c);
    return;
  }
  c.connected = true;
  ++connected_;
  poll_.modify(c.fd, &c, EPOLLIN);
  if (ph_ == phase::running)
  {
    fill_window(c, now);
    flush(c);
  }
}

void echo_mode::on_readable(echo_conn& c, std::uint64_t now)
{
  for (int rounds = 0; rounds < 4; ++rounds)
  {
    const ssize_t n = ::recv(c.fd, rbuf_.data(), rbuf_.size(), 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      break;
    if (n <= 0)
    {
      if (c.received < c.sent || ph_ == phase::running)
        ++closed_early_;
      kill(c);
      return;
    }
    const auto got = static_cast<std::size_t>(n);
    if (!verify(c, got))
    {
      ++verify_errors_;
      kill(c);
      return;
    }
    complete_messages(c, now);
    if (got < rbuf_.size())
      break;
  }
  if (ph_ == phase::running)
    fill_window(c, now);
  flush(c);
}

// Checks the `got` octets just read into rbuf_, counting them into
// c.received as they pass: never more back than was sent, and every octet
// as sent. False at the first difference.
bool echo_mode::verify(echo_conn& c, std::size_t got)
{
  if (c.received + got > c.sent)
    return false;
  std::size_t pos = 0;
  while (pos < got)
  {
    const std::size_t off = static_cast<std::size_t>(c.received % period_);
    const std::size_t len = std::min(got - pos, period_);
    if (std::memcmp(rbuf_.data() + pos, pattern_.data() + off, len) != 0)
      return false;
    pos += len;
    c.received += len;
  }
  return true;
}

// Every message now wholly back is done; its round trip counts only while
// measuring.
void echo_mode::complete_messages(echo_conn& c, std::uint64_t now)
{
  while (c.received >= (c.done + 1) * o_.size)
  {
    if (ph_ == phase::running)
      rtt_.record(now - c.stamps[c.done % o_.window]);
    ++c.done;
  }
}

void echo_mode::fill_window(echo_conn& c, std::uint64_t now)
{
  while (c.queued < c.done + o_.window)
  {
    c.stamps[c.queued % o_.window] = now;
    ++c.queued;
  }
}

void echo_mode::flush(echo_conn& c)
{
  const std::uint64_t target = c.queued * o_.size;
  for (int rounds = 0; rounds < 8 && c.sent < target; ++rounds)
  {
    const std::size_t off = static_cast<std::size_t>(c.sent % period_);
    const std::size_t len =
        static_cast<std::size_t>(std::min<std::uint64_t>(target - c.sent, period_));
    const ssize_t w = ::send(c.fd, pattern_.data() + off, len, MSG_NOSIGNAL);
    if (w > 0)
      c.sent += static_cast<std::uint64_t>(w);
    else if (w < 0 && errno == EINTR)
      continue;
    else if (w < 0 && errno == EAGAIN)
      break;
    else
    {
      ++closed_early_;
      kill(c);
      return;
    }
  }
  const bool want = c.sent < target;
  if (want != c.want_out)
  {
    c.want_out = want;
    poll_.modify(c.fd, &c, EPOLLIN | (want ? EPOLLOUT : 0u));
  }
}

void echo_mode::kill(echo_conn& c)
{
  if (c.dead)
    return;
  poll_.remove(c.fd);
  ::close(c.fd);
  c.fd = -1;
  c.dead = true;
}

bool echo_mode::advance(std::uint64_t now, std::size_t /*ready*/)
{
  switch (ph_)
  {
  case phase::connecting:
    if (connected_ + failed_ == conns_.size() || now > setup_deadline_)
      start_running(now);
    break;
  case phase::running:
    if (now - t_start_ >= seconds_to_ns(o_.duration))
      stop_running(now);
    break;
  case phase::draining:
    if (all_answered() || now > t_drain_end_)
      ph_ = phase::finished;
    break;
  case phase::finished: break;
  }
  return ph_ != phase::finished;
}

void echo_mode::start_running(std::uint64_t now)
{
  ph_ = phase::running;
  t_start_ = now;
  cpu_.start();
  for (echo_conn& c : conns_)
    if (c.connected && !c.dead)
    {
      fill_window(c, now);
      flush(c);
    }
}

// The measurement ends here; the drain that follows only tells whether the
// last messages come back at all.
void echo_mode::stop_running(std::uint64_t now)
{
  cpu_.stop();
  t_end_ = now;
  for (const echo_conn& c : conns_)
  {
    bytes_at_end_ += c.received;
    msgs_at_end_ += c.done;
  }
  ph_ = phase::draining;
  t_drain_end_ = now + seconds_to_ns(o_.drain);
}

bool echo_mode::all_answered() const
{
  for (const echo_conn& c : conns_)
    if (!c.dead && c.received < c.sent)
      return false;
  return true;
}

std::string echo_mode::status(std::uint64_t now) const
{
  char line[160];
  if (ph_ == phase::connecting)
    std::snprintf(line, sizeof line, "echo: connected %zu/%zu", connected_, conns_.size());
  else
  {
    std::uint64_t bytes = 0, msgs = 0;
    for (const echo_conn& c : conns_)
    {
      bytes += c.received;
      msgs += c.done;
    }
    // Rates over at least 0.1 s: the first update comes right at the start.
    const double s = std::max(0.1, ns_to_seconds(now - t_start_));
    std::snprintf(line, sizeof line, "echo: %.1f s  %.1f MB/s  %.0f msg/s%s", s,
                  static_cast<double>(bytes) / 1e6 / s, static_cast<double>(msgs) / s,
                  ph_ == phase::draining ? "  draining" : "");
  }
  return line;
}

int echo_mode::finish(report& r)
{
  std::uint64_t unanswered = 0;
  for (echo_conn& c : conns_)
  {
    if (!c.dead)
      unanswered += c.sent - c.received;
    else if (c.connected)
      unanswered += c.sent - c.received;
    kill(c);
  }
  const double secs = t_end_ > t_start_ ? ns_to_seconds(t_end_ - t_start_) : 1;

  r.text("target", "target", o_.host + ":" + std::to_string(o_.port));
  r.number("conns", "connections", static_cast<double>(connected_));
  r.number("failed", "failed to connect", static_cast<double>(failed_));
  r.number("size", "message size", static_cast<double>(o_.size), 0, "octets");
  r.number("window", "window", o_.window, 0, "messages per connection");
  r.number("seconds", "measured", secs, 2, "s");
  r.number("mb_per_s", "echoed", static_cast<double>(bytes_at_end_) / 1e6 / secs, 1, "MB/s");
  r.number("msgs_per_s", "messages", static_cast<double>(msgs_at_end_) / secs, 0, "/s");
  report_latency(r, "rtt", "round trip", rtt_);
  r.number("verify_errors", "corrupted", static_cast<double>(verify_errors_));
  r.number("closed_early", "closed early", static_cast<double>(closed_early_));
  r.number("unanswered_bytes", "not echoed after drain", static_cast<double>(unanswered), 0,
           "octets");
  report_cpu(r, cpu_);
  return (verify_errors_ || closed_early_ || unanswered || failed_ || connected_ == 0) ? 1 : 0;
}

} // namespace

int run_echo(const echo_options& o)
{
  return run_mode<echo_mode>(o);
}

} // namespace natter::bench
