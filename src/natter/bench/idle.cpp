// idle mode: open N connections, register each (natter: NICK; IRC: NICK +
// USER), hold them, and report how many made it and what the server's
// resident memory grew by. Source addresses are spread over 127.0.0.0/8
// (1000 connections per address) so the ephemeral port range of one address
// is never the limit. With --tls each connection completes a TLS handshake
// on the server's TLS port before it registers, so the figure is what an
// idle TLS client costs.
#include "natter/bench/modes.hpp"

#include "natter/bench/chat_conn.hpp"
#include "natter/bench/clock.hpp"
#include "natter/bench/endpoint.hpp"
#include "natter/bench/mode_driver.hpp"
#include "natter/bench/nick.hpp"
#include "natter/bench/poller.hpp"
#include "natter/bench/process_stats.hpp"
#include "natter/bench/report.hpp"
#include "natter/bench/socket.hpp"

#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace natter::bench
{

namespace
{

/// The idle mode (see mode_driver.hpp for the shape).
class idle_mode
{
public:
  using options_type = idle_options;
  static constexpr const char* name = "idle";

  explicit idle_mode(const idle_options& o);

  poller& poll() noexcept { return poll_; }
  int wait_ms() const noexcept { return 20; }
  void start(std::uint64_t now);
  void on_event(const epoll_event& ev, std::uint64_t now);
  bool advance(std::uint64_t now, std::size_t ready);
  std::string status(std::uint64_t now) const;
  int finish(report& r);

private:
  enum class phase
  {
    registering, ///< connecting and registering, --concurrency at a time
    settling,    ///< waiting for every client's barrier PONG
    holding,     ///< all set up; holding them for --duration
    finished
  };

  void start_next();
  void on_connected(chat_conn& c);
  void register_conn(chat_conn& c);
  void on_readable(chat_conn& c);
  void on_line(chat_conn& c, std::string_view line);
  void send_barriers();
  void kill(chat_conn& c);

  const idle_options& o_;
  dialect d_;
  endpoint ep_;
  nick_tag tag_ = this_run_tag();
  std::unique_ptr<tls_client> tls_; // with --tls
  poller poll_;
  std::vector<chat_conn> conns_;
  std::vector<char> buf_;
  std::size_t started_ = 0, in_setup_ = 0, ready_ = 0, failed_ = 0, dropped_ = 0;
  std::size_t barrier_left_ = 0; // connections whose barrier PONG is still due
  // Why connections failed: connect() refused or failed, the server refused
  // the registration (a 4xx/5xx or ERROR line), it closed the connection,
  // or TLS failed (the handshake, the certificate's verification, a record).
  std::size_t failed_connect_ = 0, failed_refused_ = 0, failed_closed_ = 0, failed_tls_ = 0;
  int connect_errno_ = 0;
  std::string tls_error_; // the last TLS failure
  long rss_before_ = -1, rss_held_ = -1;
  phase ph_ = phase::registering;
  std::uint64_t t0_ = 0, setup_deadline_ = 0, t_ready_ = 0, hold_end_ = 0;
};

idle_mode::idle_mode(const idle_options& o) : o_(o), d_(parse_dialect(o.dialect))
{
  require_descriptors(o.conns, "--conns");
  ep_ = resolve_loopback(o.host, o.port);
  if (o.tls.on)
    tls_ = std::make_unique<tls_client>(o.tls, o.host);
  conns_.resize(o.conns);
  buf_.resize(read_buffer_size);
  for (std::size_t i = 0; i < conns_.size(); ++i)
    conns_[i].index = static_cast<std::uint32_t>(i);
  rss_before_ = rss_kib(o.server_pids);
}

void idle_mode::start(std::uint64_t now)
{
  t0_ = now;
  setup_deadline_ = now + seconds_to_ns(o_.setup_timeout);
  start_next();
}

void idle_mode::start_next()
{
  const start_failures f =
      start_connections(conns_, started_, in_setup_, o_.concurrency, {&ep_, 1}, o_.spread, poll_);
  failed_ += f.count;
  failed_connect_ += f.count;
  if (f.count > 0)
    connect_errno_ = f.error;
}

void idle_mode::on_event(const epoll_event& ev, std::uint64_t /*now*/)
{
  auto& c = *static_cast<chat_conn*>(ev.data.ptr);
  if (c.st == chat_conn::state::dead)
    return;
  if (c.st == chat_conn::state::connecting)
    on_connected(c);
  else if (ev.events & (EPOLLIN | EPOLLERR | EPOLLHUP))
    on_readable(c);
}

void idle_mode::on_connected(chat_conn& c)
{
  if (!connect_succeeded(c.fd))
  {
    ++failed_connect_;
    kill(c);
    return;
  }
  poll_.modify(c.fd, &c, EPOLLIN);
  if (tls_)
  {
    if (!start_tls(c, *tls_))
      kill(c);
    return;
  }
  register_conn(c);
}

// Connected (and, with TLS, the handshake complete): NICK (and USER).
void idle_mode::register_conn(chat_conn& c)
{
  c.st = chat_conn::state::registering;
  if (!send_registration(c, d_, make_nick(false, tag_, c.index)))
    kill(c);
}

void idle_mode::on_readable(chat_conn& c)
{
  const long n = read_lines(c, buf_.data(), [&](std::string_view line) { on_line(c, line); });
  if (n == 0 || n == -2)
  {
    const bool tls_failed = c.tls && !c.tls->error().empty();
    if (tls_failed)
      tls_error_ = c.tls->error();
    if (c.st != chat_conn::state::ready)
      ++(tls_failed ? failed_tls_ : failed_closed_);
    kill(c);
  }
  else if (handshake_done(c))
    register_conn(c);
}

void idle_mode::on_line(chat_conn& c, std::string_view line)
{
  if (d_ == dialect::irc && answer_ping(c, line))
    return;
  if (ends_barrier(c, line))
  {
    --barrier_left_;
    return;
  }
  if (c.st != chat_conn::state::registering)
    return;
  switch (setup_line(line, d_))
  {
  case setup_event::registered:
  case setup_event::joined:
    c.st = chat_conn::state::ready;
    --in_setup_;
    ++ready_;
    break;
  case setup_event::failed:
    ++failed_refused_;
    kill(c);
    break;
  case setup_event::none: break;
  }
}

void idle_mode::kill(chat_conn& c)
{
  if (c.st == chat_conn::state::dead)
    return;
  if (c.barrier)
  {
    c.barrier = false;
    --barrier_left_;
  }
  if (c.st == chat_conn::state::ready)
  {
    --ready_;
    ++dropped_;
  }
  else if (c.st != chat_conn::state::idle)
  {
    --in_setup_;
    ++failed_;
  }
  close_conn(c, poll_);
}

bool idle_mode::advance(std::uint64_t now, std::size_t ready)
{
  switch (ph_)
  {
  case phase::registering:
    if (ready > 64)
    {
      // Registered clients receive a JOIN line for every later registration
      // (natter). Letting them pile up for a few milliseconds turns a read
      // per line into a read per hundred lines.
      timespec pause{0, 5'000'000};
      ::nanosleep(&pause, nullptr);
    }
    start_next();
    if ((started_ == conns_.size() && in_setup_ == 0) || now > setup_deadline_)
    {
      t_ready_ = now;
      send_barriers();
      ph_ = phase::settling;
    }
    break;
  case phase::settling:
    if (barrier_left_ == 0 || now > setup_deadline_)
    {
      hold_end_ = now + seconds_to_ns(o_.duration);
      ph_ = phase::holding;
    }
    break;
  case phase::holding:
    if (now >= hold_end_)
    {
      rss_held_ = rss_kib(o_.server_pids); // at the end of the hold: after any lazy growth
      ph_ = phase::finished;
    }
    break;
  case phase::finished: break;
  }
  return ph_ != phase::finished;
}

// The hold starts once every client has the PONG to a PING sent now: the
// server queued it behind everything setup left queued (natter's JOIN
// storm), so its memory is measured at rest.
void idle_mode::send_barriers()
{
  for (chat_conn& c : conns_)
  {
    if (c.st != chat_conn::state::ready || d_ == dialect::raw)
      continue;
    if (!start_barrier(c))
    {
      kill(c);
      continue;
    }
    ++barrier_left_;
  }
}

std::string idle_mode::status(std::uint64_t /*now*/) const
{
  char text[128];
  std::snprintf(text, sizeof text, "idle: registered %zu/%zu%s", ready_, conns_.size(),
                ph_ != phase::registering ? "  holding" : "");
  return text;
}

int idle_mode::finish(report& r)
{
  const std::size_t held = ready_;
  const std::size_t dropped_while_held = dropped_;
  for (chat_conn& c : conns_)
    kill(c);

  r.text("target", "target", o_.host + ":" + std::to_string(o_.port));
  r.text("dialect", "dialect", o_.dialect);
  r.text("tls", "TLS", tls_ ? "yes" : "no");
  r.number("requested", "requested", o_.conns);
  r.number("registered", "registered and held", static_cast<double>(held));
  r.number("failed", "failed", static_cast<double>(failed_));
  r.number("failed_connect", "  connect failed", static_cast<double>(failed_connect_));
  if (connect_errno_ != 0)
    r.text("connect_error", "  connect error", std::strerror(connect_errno_));
  r.number("failed_refused", "  refused by the server", static_cast<double>(failed_refused_));
  r.number("failed_closed", "  closed by the server", static_cast<double>(failed_closed_));
  if (tls_)
    r.number("failed_tls", "  TLS failed", static_cast<double>(failed_tls_));
  if (!tls_error_.empty())
    r.text("tls_error", "  TLS error", tls_error_);
  r.number("dropped", "dropped while held", static_cast<double>(dropped_while_held));
  r.number("setup_s", "time to register all", ns_to_seconds(t_ready_ - t0_), 2, "s");
  if (rss_before_ >= 0 && rss_held_ >= 0)
  {
    r.number("server_rss_before_kib", "server RSS before", static_cast<double>(rss_before_), 0,
             "KiB");
    r.number("server_rss_kib", "server RSS holding them", static_cast<double>(rss_held_), 0, "KiB");
    r.number("rss_per_client_kib", "server RSS per client",
             held ? static_cast<double>(rss_held_ - rss_before_) / static_cast<double>(held) : 0, 3,
             "KiB");
  }
  return (held == o_.conns && dropped_while_held == 0) ? 0 : 1;
}

} // namespace

int run_idle(const idle_options& o)
{
  return run_mode<idle_mode>(o);
}

} // namespace natter::bench
