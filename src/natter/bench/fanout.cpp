// fanout mode: N receivers and K senders in one room (natter) or channel
// (IRC). Each message carries the sender's sequence number and its send
// time; receivers check order per sender, and after the senders stop the
// run drains until every receiver has every message (or time runs out), so
// what is missing then is lost.
//
// Without --rate each sender keeps at most --window messages "in flight":
// sent but not yet seen by every live receiver. That keeps the load at the
// server's pace without overrunning any server's output queue limit
// (ngIRCd drops a client whose write buffer passes 32 KiB), so what is
// measured is delivery, not overflow. With --rate the senders share a fixed
// total rate (round robin), still capped by the window.
//
// Message text: natter "MSG <seq> <ts>", IRC "PRIVMSG #chan :<seq> <ts>"
// (the server adds the sender's nick); raw "<nick> <seq> <ts>" (a relay
// such as ncat --chat adds a prefix of its own, so receivers read the last
// three words).
//
// With --ports (a cluster's nodes, spec section 17) receivers and senders
// spread over the nodes round-robin (ports.hpp); the latency is also
// reported apart for a message received on its sender's node and on
// another node.
//
// With --tls every client connects to the server's TLS port: the
// handshake first, then registration as on the plain port; senders'
// batches are encrypted into records of up to 16 KiB, receivers decrypt
// what they read and parse it as plain lines.
#include "natter/bench/modes.hpp"

#include "natter/bench/chat_conn.hpp"
#include "natter/bench/clock.hpp"
#include "natter/bench/endpoint.hpp"
#include "natter/bench/latency_histogram.hpp"
#include "natter/bench/mode_driver.hpp"
#include "natter/bench/nick.hpp"
#include "natter/bench/parse_number.hpp"
#include "natter/bench/poller.hpp"
#include "natter/bench/ports.hpp"
#include "natter/bench/process_stats.hpp"
#include "natter/bench/report.hpp"
#include "natter/bench/socket.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace natter::bench
{

namespace
{

// Parses "<seq> <ts>" (the message text).
bool parse_payload(std::string_view text, std::uint64_t& seq, std::uint64_t& ts)
{
  if (!parse_u64(text, seq) || text.empty() || text.front() != ' ')
    return false;
  text.remove_prefix(1);
  return parse_u64(text, ts);
}

/// The fanout mode (see mode_driver.hpp for the shape).
class fanout_mode
{
public:
  using options_type = fanout_options;
  static constexpr const char* name = "fanout";

  explicit fanout_mode(const fanout_options& o);

  poller& poll() noexcept { return poll_; }
  int wait_ms() const noexcept { return ph_ == phase::running && o_.rate > 0 ? 1 : 10; }
  void start(std::uint64_t now);
  void on_event(const epoll_event& ev, std::uint64_t now);
  bool advance(std::uint64_t now, std::size_t ready);
  std::string status(std::uint64_t now) const;
  int finish(report& r);

private:
  enum class phase
  {
    setup,
    barrier,
    running,
    draining,
    finished
  };

  // Setup: connect, register, join, then the barrier.
  void start_next();
  void on_connected(chat_conn& c);
  void register_conn(chat_conn& c);
  void on_setup_line(chat_conn& c, std::string_view line);
  void set_ready(chat_conn& c);
  void end_setup(std::uint64_t now);
  void send_barriers(std::uint64_t now);
  void end_barrier(std::uint64_t now);
  // Receiving: one line, by dialect, down to deliver().
  void on_readable(chat_conn& c, std::uint64_t now);
  void on_line(chat_conn& c, std::string_view line, std::uint64_t now);
  void on_chat_line(chat_conn& c, std::string_view line, std::uint64_t now);
  void on_raw_line(chat_conn& c, std::string_view line, std::uint64_t now);
  void on_natter_line(chat_conn& c, std::string_view line, std::uint64_t now);
  void on_irc_line(chat_conn& c, std::string_view line, std::uint64_t now);
  void deliver(chat_conn& r, std::string_view nick, std::string_view text, std::uint64_t now);
  void advance_window(std::size_t j);
  // Sending.
  void produce(std::uint64_t now);
  void enqueue(std::size_t j, std::uint64_t now);
  void flush_senders();
  void stop_running(std::uint64_t now);
  bool all_acked() const;
  // Connections.
  void kill(chat_conn& c);
  void want_out(chat_conn& c);

  const fanout_options& o_;
  dialect d_;
  std::vector<unsigned short> ports_;
  std::vector<endpoint> eps_; // one per node (a single one without --ports)
  nick_tag tag_ = this_run_tag();
  std::unique_ptr<tls_client> tls_; // with --tls
  poller poll_;
  std::vector<chat_conn> conns_;
  std::size_t started_ = 0, in_setup_ = 0, ready_ = 0, failed_ = 0;
  std::string tls_error_;        // the last TLS failure in setup
  std::size_t barrier_left_ = 0; // connections whose barrier PONG is still due
  std::uint32_t live_receivers_ = 0;
  std::size_t disconnected_ = 0;
  // Per (receiver, sender): the next sequence number expected, and the
  // number of messages received.
  std::vector<std::uint64_t> next_, got_;
  std::vector<std::uint64_t> sent_, acked_;
  std::vector<std::uint32_t> ring_; // per sender: receivers that have message seq % window
  std::uint64_t deliveries_ = 0, reordered_ = 0, deliveries_at_start_ = 0, deliveries_at_end_ = 0;
  std::uint64_t scheduled_ = 0; // rate mode: messages due so far
  std::vector<char> buf_;
  latency_histogram latency_;
  latency_histogram same_node_, cross_node_; // with several nodes
  cpu_meter cpu_;
  phase ph_ = phase::setup;
  std::uint64_t t_start_ = 0, t_end_ = 0, deadline_ = 0;
  bool setup_failed_ = false;
  char line_[64]{};
  std::vector<std::string> nicks_; // raw dialect: the senders' names
};

fanout_mode::fanout_mode(const fanout_options& o)
    : o_(o), d_(parse_dialect(o.dialect)), conns_(o.receivers + o.senders),
      next_(std::size_t{o.receivers} * o.senders), got_(std::size_t{o.receivers} * o.senders),
      sent_(o.senders), acked_(o.senders), ring_(std::size_t{o.senders} * o.window),
      buf_(read_buffer_size), cpu_(o.server_pids)
{
  if (o.receivers == 0 || o.senders == 0 || o.window == 0)
    throw std::runtime_error("--receivers, --senders and --window must be positive");
  raise_nofile_limit();
  if (!o.ports.empty())
    ports_ = parse_ports(o.ports);
  else if (o.port != 0)
    ports_.push_back(o.port);
  else
    throw std::runtime_error("fanout needs --port or --ports");
  for (const unsigned short p : ports_)
    eps_.push_back(resolve_loopback(o.host, p));
  if (o.tls.on)
    tls_ = std::make_unique<tls_client>(o.tls, o.host);
  for (std::size_t i = 0; i < conns_.size(); ++i)
  {
    conns_[i].sender = i >= o.receivers;
    conns_[i].index = static_cast<std::uint32_t>(conns_[i].sender ? i - o.receivers : i);
    conns_[i].node = static_cast<std::uint16_t>(node_of(conns_[i].index, eps_.size()));
    if (conns_[i].sender)
      conns_[i].out.reserve(64 * 1024);
  }
  live_receivers_ = o.receivers;
  for (std::uint32_t j = 0; j < o.senders; ++j)
    nicks_.push_back(make_nick(true, tag_, j));
}

void fanout_mode::start(std::uint64_t now)
{
  deadline_ = now + seconds_to_ns(o_.setup_timeout);
  start_next();
}

void fanout_mode::start_next()
{
  failed_ +=
      start_connections(conns_, started_, in_setup_, o_.concurrency, eps_, false, poll_).count;
}

void fanout_mode::kill(chat_conn& c)
{
  if (c.st == chat_conn::state::dead)
    return;
  if (c.barrier)
  {
    c.barrier = false;
    --barrier_left_;
  }
  const bool was_ready = c.st == chat_conn::state::ready;
  if (!was_ready && c.st != chat_conn::state::idle)
  {
    --in_setup_;
    ++failed_;
    if (c.tls && !c.tls->error().empty())
      tls_error_ = c.tls->error();
  }
  close_conn(c, poll_);
  if (was_ready && ph_ != phase::finished)
  {
    ++disconnected_;
    if (!c.sender)
    {
      --live_receivers_;
      for (std::size_t j = 0; j < o_.senders; ++j)
        advance_window(j);
    }
  }
}

void fanout_mode::want_out(chat_conn& c)
{
  const bool want = has_output(c);
  if (want != c.want_out && c.st != chat_conn::state::dead)
  {
    c.want_out = want;
    poll_.modify(c.fd, &c, EPOLLIN | (want ? EPOLLOUT : 0u));
  }
}

void fanout_mode::advance_window(std::size_t j)
{
  std::uint32_t* ring = ring_.data() + j * o_.window;
  while (acked_[j] < sent_[j] && ring[acked_[j] % o_.window] >= live_receivers_)
  {
    ring[acked_[j] % o_.window] = 0;
    ++acked_[j];
  }
}

void fanout_mode::deliver(chat_conn& r, std::string_view nick, std::string_view text,
                          std::uint64_t now)
{
  std::uint64_t j = 0, seq = 0, ts = 0;
  if (!parse_sender_nick(nick, tag_, j) || j >= o_.senders || !parse_payload(text, seq, ts))
    return;
  ++deliveries_;
  if (now > ts)
  {
    latency_.record(now - ts);
    if (eps_.size() > 1)
      (r.node == conns_[o_.receivers + j].node ? same_node_ : cross_node_).record(now - ts);
  }
  const std::size_t k = std::size_t{r.index} * o_.senders + j;
  if (seq == next_[k])
    ++next_[k];
  else if (seq > next_[k])
    next_[k] = seq + 1;
  else
    ++reordered_;
  ++got_[k];
  if (seq >= acked_[j] && seq < sent_[j])
  {
    ++ring_[j * o_.window + seq % o_.window];
    advance_window(j);
  }
}

// Registration leaves the server with a backlog: every JOIN (natter) or
// channel JOIN (IRC) went to every client registered before. Measuring only
// starts once every connection has received the PONG to a PING sent after
// setup, which the server queues behind that backlog (the protocol's barrier,
// spec section 4.3), so no run measures the tail of its own setup. The raw
// dialect's relays send nothing on connect and need no barrier.
void fanout_mode::send_barriers(std::uint64_t now)
{
  deadline_ = now + seconds_to_ns(o_.setup_timeout);
  for (chat_conn& c : conns_)
  {
    if (c.st != chat_conn::state::ready)
      continue;
    if (!start_barrier(c))
    {
      kill(c);
      continue;
    }
    want_out(c);
    ++barrier_left_;
  }
}

void fanout_mode::on_line(chat_conn& c, std::string_view line, std::uint64_t now)
{
  if (c.st == chat_conn::state::ready)
    on_chat_line(c, line, now);
  else
    on_setup_line(c, line);
}

void fanout_mode::on_chat_line(chat_conn& c, std::string_view line, std::uint64_t now)
{
  if (ends_barrier(c, line))
  {
    --barrier_left_;
    return;
  }
  switch (d_)
  {
  case dialect::raw: on_raw_line(c, line, now); return;
  case dialect::natter: on_natter_line(c, line, now); return;
  case dialect::irc: on_irc_line(c, line, now); return;
  }
}

// "<relay's prefix> <nick> <seq> <ts>": the last three words.
void fanout_mode::on_raw_line(chat_conn& c, std::string_view line, std::uint64_t now)
{
  if (c.sender)
    return;
  const std::size_t b = line.rfind(' ');
  if (b == std::string_view::npos || b == 0)
    return;
  const std::size_t a = line.rfind(' ', b - 1);
  if (a == std::string_view::npos || a == 0)
    return;
  const std::size_t n = line.rfind(' ', a - 1);
  const std::size_t start = n == std::string_view::npos ? 0 : n + 1;
  deliver(c, line.substr(start, a - start), line.substr(a + 1), now);
}

// "MSG <nick> <text>"
void fanout_mode::on_natter_line(chat_conn& c, std::string_view line, std::uint64_t now)
{
  if (!c.sender && line.size() > 4 && line.starts_with("MSG "))
  {
    line.remove_prefix(4);
    const std::size_t sp = line.find(' ');
    if (sp != std::string_view::npos)
      deliver(c, line.substr(0, sp), line.substr(sp + 1), now);
  }
}

// ":nick!user@host PRIVMSG #chan :<text>"; anything else without a prefix
// may be a PING.
void fanout_mode::on_irc_line(chat_conn& c, std::string_view line, std::uint64_t now)
{
  if (!line.empty() && line.front() == ':')
  {
    const std::size_t sp = line.find(' ');
    if (sp == std::string_view::npos)
      return;
    std::string_view prefix = line.substr(1, sp - 1);
    std::string_view rest = line.substr(sp + 1);
    if (!rest.starts_with("PRIVMSG "))
      return;
    if (c.sender)
      return;
    const std::size_t colon = rest.find(" :");
    if (colon == std::string_view::npos)
      return;
    deliver(c, prefix.substr(0, prefix.find('!')), rest.substr(colon + 2), now);
    return;
  }
  if (answer_ping(c, line))
    want_out(c);
}

void fanout_mode::on_setup_line(chat_conn& c, std::string_view line)
{
  if (d_ == dialect::irc && answer_ping(c, line))
  {
    want_out(c);
    return;
  }
  switch (setup_line(line, d_))
  {
  case setup_event::registered:
    if (d_ == dialect::irc)
    {
      c.st = chat_conn::state::joining;
      if (!queue_and_flush(c, "JOIN " + o_.channel + "\r\n"))
        kill(c);
      else
        want_out(c);
      return;
    }
    [[fallthrough]];
  case setup_event::joined:
    if (c.st == chat_conn::state::registering || c.st == chat_conn::state::joining)
      set_ready(c);
    return;
  case setup_event::failed: kill(c); return;
  case setup_event::none: return;
  }
}

void fanout_mode::set_ready(chat_conn& c)
{
  c.st = chat_conn::state::ready;
  --in_setup_;
  ++ready_;
}

void fanout_mode::on_event(const epoll_event& ev, std::uint64_t now)
{
  auto& c = *static_cast<chat_conn*>(ev.data.ptr);
  dispatch_event(
      c, ev.events, [&] { on_connected(c); }, [&] { on_readable(c, now); }, [&] { kill(c); },
      [&] { want_out(c); });
}

void fanout_mode::on_connected(chat_conn& c)
{
  if (!connect_succeeded(c.fd))
  {
    kill(c);
    return;
  }
  poll_.modify(c.fd, &c, EPOLLIN);
  if (tls_)
  {
    if (!start_tls(c, *tls_))
      kill(c);
    else
      want_out(c);
    return;
  }
  register_conn(c);
}

// Connected (and, with TLS, the handshake complete): registration.
void fanout_mode::register_conn(chat_conn& c)
{
  c.st = chat_conn::state::registering;
  if (d_ == dialect::raw)
  {
    set_ready(c);
    return;
  }
  const std::string nick = make_nick(c.sender, tag_, c.index);
  if (!send_registration(c, d_, nick))
    kill(c);
  else
    want_out(c);
}

void fanout_mode::on_readable(chat_conn& c, std::uint64_t now)
{
  read_rounds(
      c, buf_.data(), [&](std::string_view line) { on_line(c, line, now); }, [&] { kill(c); },
      [&] { register_conn(c); }, [&] { want_out(c); });
}

void fanout_mode::enqueue(std::size_t j, std::uint64_t now)
{
  chat_conn& s = conns_[o_.receivers + j];
  char* p = line_;
  char* const end = line_ + sizeof line_;
  p = std::to_chars(p, end, sent_[j]).ptr;
  *p++ = ' ';
  p = std::to_chars(p, end, now).ptr;
  *p++ = '\r';
  *p++ = '\n';
  if (d_ == dialect::natter)
    s.out.append("MSG ");
  else if (d_ == dialect::raw)
  {
    s.out.append(nicks_[j]);
    s.out.push_back(' ');
  }
  else
  {
    s.out.append("PRIVMSG ");
    s.out.append(o_.channel);
    s.out.append(" :");
  }
  s.out.append(line_, static_cast<std::size_t>(p - line_));
  ++sent_[j];
}

// Queues the messages due now: with --rate, those the schedule has reached
// (round robin over the senders); without, enough to fill every window.
void fanout_mode::produce(std::uint64_t now)
{
  if (o_.rate > 0)
  {
    const auto due = static_cast<std::uint64_t>(ns_to_seconds(now - t_start_) * o_.rate);
    while (scheduled_ < due)
    {
      const std::size_t j = scheduled_ % o_.senders;
      if (conns_[o_.receivers + j].st != chat_conn::state::ready ||
          sent_[j] - acked_[j] >= o_.window)
        break; // the window caps the rate; the schedule resumes when it opens
      enqueue(j, now);
      ++scheduled_;
    }
  }
  else
  {
    for (std::size_t j = 0; j < o_.senders; ++j)
      if (conns_[o_.receivers + j].st == chat_conn::state::ready)
        while (sent_[j] - acked_[j] < o_.window)
          enqueue(j, now);
  }
}

void fanout_mode::flush_senders()
{
  for (std::size_t j = 0; j < o_.senders; ++j)
  {
    chat_conn& s = conns_[o_.receivers + j];
    if (s.st == chat_conn::state::ready && has_output(s))
    {
      if (!flush(s))
        kill(s);
      else
        want_out(s);
    }
  }
}

bool fanout_mode::advance(std::uint64_t now, std::size_t /*ready*/)
{
  switch (ph_)
  {
  case phase::setup:
    start_next();
    if (ready_ + failed_ == conns_.size() || now > deadline_)
      end_setup(now);
    break;
  case phase::barrier:
    if (barrier_left_ > 0 && now > deadline_)
    {
      setup_failed_ = true;
      ph_ = phase::finished;
    }
    else if (barrier_left_ == 0)
      end_barrier(now);
    break;
  case phase::running:
    produce(now);
    flush_senders();
    if (now - t_start_ >= seconds_to_ns(o_.duration))
      stop_running(now);
    break;
  case phase::draining:
    flush_senders(); // what the senders still hold
    if (all_acked() || now > deadline_)
      ph_ = phase::finished;
    break;
  case phase::finished: break;
  }
  return ph_ != phase::finished;
}

// Every client set up (or the time is up): on to the barrier, or give up.
void fanout_mode::end_setup(std::uint64_t now)
{
  if (ready_ != conns_.size())
  {
    setup_failed_ = true;
    ph_ = phase::finished;
    return;
  }
  ph_ = phase::barrier;
  if (d_ != dialect::raw)
    send_barriers(now);
}

void fanout_mode::end_barrier(std::uint64_t now)
{
  ph_ = phase::running;
  t_start_ = now;
  cpu_.start();
  deliveries_at_start_ = deliveries_;
}

// The measurement ends here; the drain that follows finds what was lost.
void fanout_mode::stop_running(std::uint64_t now)
{
  cpu_.stop();
  t_end_ = now;
  deliveries_at_end_ = deliveries_;
  ph_ = phase::draining;
  deadline_ = now + seconds_to_ns(o_.drain);
}

bool fanout_mode::all_acked() const
{
  for (std::size_t j = 0; j < o_.senders; ++j)
    if (acked_[j] < sent_[j])
      return false;
  return true;
}

std::string fanout_mode::status(std::uint64_t now) const
{
  char text[160];
  if (ph_ == phase::setup || ph_ == phase::barrier)
    std::snprintf(text, sizeof text, "fanout: registered %zu/%zu", ready_, conns_.size());
  else
  {
    const double s = std::max(0.1, ns_to_seconds(now - t_start_));
    std::snprintf(text, sizeof text, "fanout: %.1f s  %.0f deliveries/s  p50 %.2f ms%s", s,
                  static_cast<double>(deliveries_ - deliveries_at_start_) / s,
                  static_cast<double>(latency_.quantile(0.5)) / 1e6,
                  ph_ == phase::draining ? "  draining" : "");
  }
  return text;
}

int fanout_mode::finish(report& rep)
{
  std::uint64_t lost = 0, sent = 0;
  for (const std::uint64_t s : sent_)
    sent += s;
  for (std::size_t r = 0; r < o_.receivers; ++r)
    for (std::size_t j = 0; j < o_.senders; ++j)
    {
      const std::size_t k = r * o_.senders + j;
      if (got_[k] < sent_[j])
        lost += sent_[j] - got_[k];
    }
  for (chat_conn& c : conns_)
    kill(c);
  const double secs = t_end_ > t_start_ ? ns_to_seconds(t_end_ - t_start_) : 0;
  const auto in_window = static_cast<double>(deliveries_at_end_ - deliveries_at_start_);

  std::string target = o_.host + ":";
  for (std::size_t k = 0; k < ports_.size(); ++k)
    target += (k == 0 ? "" : ",") + std::to_string(ports_[k]);
  rep.text("target", "target", target);
  rep.number("nodes", "nodes", static_cast<double>(ports_.size()));
  rep.text("dialect", "dialect", o_.dialect);
  rep.text("tls", "TLS", tls_ ? "yes" : "no");
  rep.number("receivers", "receivers", o_.receivers);
  rep.number("senders", "senders", o_.senders);
  rep.number("registered", "registered", static_cast<double>(ready_));
  rep.number("rate", "offered rate", o_.rate, 0, o_.rate > 0 ? "msg/s" : "msg/s (0 = max)");
  rep.number("window", "window", o_.window, 0, "messages per sender");
  rep.number("seconds", "measured", secs, 2, "s");
  rep.number("sent", "messages sent", static_cast<double>(sent));
  rep.number("deliveries_per_s", "deliveries", secs > 0 ? in_window / secs : 0, 0, "/s");
  if (cpu_.server_seconds() > 0)
    rep.number("deliveries_per_server_cpu_s", "deliveries per server CPU second",
               in_window / cpu_.server_seconds(), 0, "/s");
  report_latency(rep, "latency", "send to receipt", latency_);
  if (eps_.size() > 1)
  {
    report_latency(rep, "same_node_latency", "  on the sender's node", same_node_);
    report_latency(rep, "cross_node_latency", "  on another node", cross_node_);
  }
  rep.number("lost", "lost", static_cast<double>(lost));
  rep.number("reordered", "reordered", static_cast<double>(reordered_));
  rep.number("disconnected", "disconnected", static_cast<double>(disconnected_));
  rep.number("setup_failed", "failed to register", static_cast<double>(failed_));
  if (!tls_error_.empty())
    rep.text("tls_error", "  TLS error", tls_error_);
  report_cpu(rep, cpu_);
  return (setup_failed_ || lost || reordered_ || disconnected_ || sent == 0) ? 1 : 0;
}

} // namespace

int run_fanout(const fanout_options& o)
{
  return run_mode<fanout_mode>(o);
}

} // namespace natter::bench
