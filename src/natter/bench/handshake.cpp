// handshake mode: new TLS connections to the server's TLS port, as fast as
// it takes them, --connections at a time, for --duration. Each connects,
// completes the handshake, reads the greeting (by then the server has done
// all its work for a new client, its session tickets included), sends a
// close_notify and closes; a new connection takes its place. Reported:
// handshakes per second, per second of server CPU, and the time from
// connect() to the greeting.
//
// With --no-greeting (servers that send nothing before the client speaks:
// IRC servers, ncat --chat) a connection sends its close_notify as soon as
// its handshake is complete and counts once the server has closed its end
// (close_notify or end of stream); whatever the server sent on the way,
// its TLS 1.3 tickets included, is read and ignored. The server has then
// done all its work for the connection too.
//
// With --resume every connection offers the session of the newest one
// that read its greeting (TLS 1.3 tickets arrive before the greeting), and
// the report says how many the server actually resumed. One connection
// alone comes first, unmeasured: it checks that TLS works at all and gives
// the first session, so every measured connection can offer one.
//
// Source addresses are spread over 127.0.0.0/8 (1000 connections per
// address, 1000 addresses in turn), so the sockets each close leaves in
// TIME_WAIT never exhaust one address's ephemeral ports.
#include "natter/bench/modes.hpp"

#include "natter/bench/chat_conn.hpp"
#include "natter/bench/clock.hpp"
#include "natter/bench/endpoint.hpp"
#include "natter/bench/latency_histogram.hpp"
#include "natter/bench/mode_driver.hpp"
#include "natter/bench/poller.hpp"
#include "natter/bench/process_stats.hpp"
#include "natter/bench/report.hpp"
#include "natter/bench/socket.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace natter::bench
{

namespace
{

struct session_free
{
  void operator()(SSL_SESSION* s) const noexcept { SSL_SESSION_free(s); }
};
using session_ptr = std::unique_ptr<SSL_SESSION, session_free>;

/// Source addresses cycle through this many connections' worth of spread
/// addresses (1000 per address).
constexpr std::size_t spread_cycle = 1'000'000;

/// The handshake mode (see mode_driver.hpp for the shape).
class handshake_mode
{
public:
  using options_type = handshake_options;
  static constexpr const char* name = "handshake";

  explicit handshake_mode(const handshake_options& o);

  poller& poll() noexcept { return poll_; }
  int wait_ms() const noexcept { return 5; }
  void start(std::uint64_t now);
  void on_event(const epoll_event& ev, std::uint64_t now);
  bool advance(std::uint64_t now, std::size_t ready);
  std::string status(std::uint64_t now) const;
  int finish(report& r);

private:
  enum class phase
  {
    warmup,  ///< one connection alone, unmeasured
    running, ///< --connections at a time, measured
    finished
  };

  void open(std::size_t slot, std::uint64_t now);
  void on_readable(chat_conn& c, std::uint64_t now);
  void greeted(chat_conn& c, std::string_view line, std::uint64_t now);
  void completed(chat_conn& c, std::uint64_t now);
  void fail(chat_conn& c, const std::string& why);
  void watch(chat_conn& c);

  const handshake_options& o_;
  endpoint ep_;
  tls_client tls_;
  poller poll_;
  std::vector<chat_conn> slots_;
  std::vector<std::uint64_t> opened_at_; // per slot: when connect() started
  std::vector<char> buf_;
  session_ptr session_; // --resume: the newest session
  std::size_t started_ = 0;
  std::uint64_t done_ = 0, resumed_ = 0, failed_ = 0;
  std::string error_, version_;
  latency_histogram latency_;
  cpu_meter cpu_;
  phase ph_ = phase::warmup;
  std::uint64_t t_start_ = 0, t_end_ = 0, deadline_ = 0;
  bool warmup_failed_ = false;
};

handshake_mode::handshake_mode(const handshake_options& o)
    : o_(o), ep_(resolve_loopback(o.host, o.port)), tls_(o.tls, o.host), slots_(o.connections),
      opened_at_(o.connections), buf_(read_buffer_size), cpu_(o.server_pids)
{
  if (o.connections == 0)
    throw std::runtime_error("--connections must be positive");
  require_descriptors(o.connections, "--connections");
}

void handshake_mode::start(std::uint64_t now)
{
  deadline_ = now + seconds_to_ns(o_.setup_timeout);
  open(0, now);
}

void handshake_mode::open(std::size_t slot, std::uint64_t now)
{
  chat_conn& c = slots_[slot];
  c = chat_conn{};
  const in_addr src = spread_source(started_++ % spread_cycle);
  if (!begin_connect(c, ep_, &src, poll_))
  {
    ++failed_;
    error_ = std::string("connect: ") + std::strerror(errno);
    return;
  }
  opened_at_[slot] = now;
}

void handshake_mode::watch(chat_conn& c)
{
  const bool want = has_output(c);
  if (want != c.want_out)
  {
    c.want_out = want;
    poll_.modify(c.fd, &c, EPOLLIN | (want ? EPOLLOUT : 0u));
  }
}

void handshake_mode::fail(chat_conn& c, const std::string& why)
{
  ++failed_;
  error_ = c.tls && !c.tls->error().empty() ? "TLS: " + c.tls->error() : why;
  close_conn(c, poll_);
}

void handshake_mode::on_event(const epoll_event& ev, std::uint64_t now)
{
  auto& c = *static_cast<chat_conn*>(ev.data.ptr);
  if (c.st == chat_conn::state::dead)
    return;
  if (c.st == chat_conn::state::connecting)
  {
    if (!connect_succeeded(c.fd))
      return fail(c, "connect failed");
    poll_.modify(c.fd, &c, EPOLLIN);
    if (!start_tls(c, tls_, o_.resume ? session_.get() : nullptr))
      return fail(c, "the ClientHello could not be sent");
    return watch(c);
  }
  if (ev.events & (EPOLLIN | EPOLLERR | EPOLLHUP))
  {
    on_readable(c, now);
    if (c.st == chat_conn::state::dead)
      return;
  }
  if ((ev.events & EPOLLOUT) && !flush(c))
    return fail(c, "send failed");
  watch(c);
}

void handshake_mode::on_readable(chat_conn& c, std::uint64_t now)
{
  const long n = read_lines(c, buf_.data(),
                            [&](std::string_view line)
                            {
                              if (!o_.no_greeting)
                                greeted(c, line, now);
                            });
  if (o_.no_greeting)
  {
    // "registering" stands for "close_notify sent, waiting for the close".
    if (n == 0 && c.st == chat_conn::state::registering)
      return completed(c, now);
    if (n == 0)
      return fail(c, "closed by the server during the handshake");
    if (n == -2)
      return fail(c, "the connection failed before the server closed");
    if (handshake_done(c))
    {
      c.st = chat_conn::state::registering;
      c.tls->close_notify();
    }
    return;
  }
  if (n == 0)
    fail(c, "closed by the server before its greeting");
  else if (n == -2)
    fail(c, "the connection failed before the greeting");
}

// The first line: the greeting, or the server's refusal.
void handshake_mode::greeted(chat_conn& c, std::string_view line, std::uint64_t now)
{
  if (!line.starts_with("220 "))
    return fail(c, "refused: " + std::string(line.substr(0, 80)));
  completed(c, now);
}

// The connection did what the mode asks of it: counted (once measuring),
// its session kept for --resume, closed.
void handshake_mode::completed(chat_conn& c, std::uint64_t now)
{
  const auto slot = static_cast<std::size_t>(&c - slots_.data());
  if (ph_ == phase::running)
  {
    ++done_;
    if (c.tls->resumed())
      ++resumed_;
    latency_.record(now - opened_at_[slot]);
  }
  else if (ph_ == phase::warmup)
  {
    version_ = c.tls->version();
    ph_ = phase::running;
    t_start_ = now;
    cpu_.start();
  }
  if (o_.resume)
  {
    // A server that closes as soon as it reads the close_notify may not
    // have sent its tickets first: keep the newest session that can be
    // resumed.
    session_ptr s(c.tls->session());
    if (s && SSL_SESSION_is_resumable(s.get()) == 1)
      session_ = std::move(s);
  }
  c.tls->close_notify();
  (void)flush(c); // a few octets on an idle socket; the close follows either way
  close_conn(c, poll_);
}

bool handshake_mode::advance(std::uint64_t now, std::size_t /*ready*/)
{
  switch (ph_)
  {
  case phase::warmup:
    if (slots_[0].st == chat_conn::state::dead || now > deadline_)
    {
      warmup_failed_ = true;
      if (error_.empty())
        error_ = "no greeting within --setup-timeout";
      ph_ = phase::finished;
    }
    break;
  case phase::running:
    if (now - t_start_ >= seconds_to_ns(o_.duration))
    {
      cpu_.stop();
      t_end_ = now;
      ph_ = phase::finished;
      break;
    }
    for (std::size_t i = 0; i < slots_.size(); ++i)
      if (slots_[i].st == chat_conn::state::dead || slots_[i].st == chat_conn::state::idle)
        open(i, now);
    break;
  case phase::finished: break;
  }
  return ph_ != phase::finished;
}

std::string handshake_mode::status(std::uint64_t now) const
{
  char text[160];
  if (ph_ == phase::warmup)
    return "handshake: first connection";
  const double s = std::max(0.1, ns_to_seconds(now - t_start_));
  std::snprintf(text, sizeof text, "handshake: %.1f s  %.0f handshakes/s  resumed %.1f%%", s,
                static_cast<double>(done_) / s,
                done_ ? 100.0 * static_cast<double>(resumed_) / static_cast<double>(done_) : 0.0);
  return text;
}

int handshake_mode::finish(report& r)
{
  for (chat_conn& c : slots_)
    close_conn(c, poll_);
  const double secs = t_end_ > t_start_ ? ns_to_seconds(t_end_ - t_start_) : 0;
  const auto done = static_cast<double>(done_);

  r.text("target", "target", o_.host + ":" + std::to_string(o_.port));
  r.text("tls_version", "TLS version", version_.empty() ? "-" : version_);
  r.text("resume", "offers a session", o_.resume ? "yes" : "no");
  r.text("greeting", "waits for", o_.no_greeting ? "the server's close" : "the greeting");
  r.number("connections", "connections at once", o_.connections);
  r.number("seconds", "measured", secs, 2, "s");
  r.number("handshakes",
           o_.no_greeting ? "handshakes (server closed)" : "handshakes (greeting read)", done);
  r.number("handshakes_per_s", "handshakes", secs > 0 ? done / secs : 0, 0, "/s");
  r.number("resumed", "resumed", static_cast<double>(resumed_));
  r.number("resumed_fraction", "resumed fraction", done_ ? static_cast<double>(resumed_) / done : 0,
           3);
  if (cpu_.server_seconds() > 0 && done_ > 0)
  {
    r.number("handshakes_per_server_cpu_s", "handshakes per server CPU second",
             done / cpu_.server_seconds(), 0, "/s");
    r.number("server_cpu_us_per_handshake", "server CPU per handshake",
             1e6 * cpu_.server_seconds() / done, 1, "us");
  }
  report_latency(r, "handshake",
                 o_.no_greeting ? "connect to server's close" : "connect to greeting", latency_);
  r.number("failed", "failed", static_cast<double>(failed_));
  if (!error_.empty())
    r.text("error", "  last failure", error_);
  report_cpu(r, cpu_);
  return (warmup_failed_ || failed_ > 0 || done_ == 0) ? 1 : 0;
}

} // namespace

int run_handshake(const handshake_options& o)
{
  return run_mode<handshake_mode>(o);
}

} // namespace natter::bench
