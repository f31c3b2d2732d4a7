// soak mode: a mixed workload held for --duration seconds against one
// natterd (started here on free loopback ports, or a running one), sampling
// the server every second and failing on loss, leak or latency.
//
// Clients, by slot (see role_of()):
//   steady   registered for the whole run, read everything, send MSG at
//            --rate in all ("K <seq> <ts>"), and now and then TELL, HISTORY
//            and WHO; every steady client that kept its connection must
//            receive every MSG of every steady sender, in order: that is
//            the loss check;
//   churn    connect, register under a new nick, do one thing (MSG, TELL,
//            HISTORY, WHO), and leave by QUIT or by closing the socket;
//   slow     read 256 octets a second (their queue grows; the server may
//            drop them, which is allowed);
//   flood    100 PINGs a second, past flood control;
//   garbage  a bad line a second: overlong, invalid UTF-8, NUL, telnet
//            IAC, unknown commands.
// Every --tls-every'th slot connects to the TLS port. Only steady clients
// are checked; the others may be closed by the server and come back.
//
// Once a second: the server's RSS and open descriptors from /proc, the
// total send queue (natter_send_queue_bytes from --metrics), and the p99 of
// that second's deliveries. The leak check is a least-squares slope over
// the samples after --warmup: RSS in KiB per minute and descriptors per
// minute, each against its bound.
#include "natter/bench/modes.hpp"

#include "natter/bench/chat_conn.hpp"
#include "natter/bench/clock.hpp"
#include "natter/bench/endpoint.hpp"
#include "natter/bench/free_port.hpp"
#include "natter/bench/latency_histogram.hpp"
#include "natter/bench/mode_driver.hpp"
#include "natter/bench/nick.hpp"
#include "natter/bench/parse_number.hpp"
#include "natter/bench/poller.hpp"
#include "natter/bench/process_stats.hpp"
#include "natter/bench/report.hpp"
#include "natter/bench/socket.hpp"

#include <arpa/inet.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace natter::bench
{

namespace
{

enum class role : std::uint8_t
{
  steady,
  churn,
  slow,
  flood,
  garbage
};

// Slots 0..steady-1 are steady; the rest cycle through the other roles.
role role_of(std::size_t i, std::size_t steady)
{
  if (i < steady)
    return role::steady;
  switch ((i - steady) % 16)
  {
  case 0: return role::slow;
  case 1: return role::flood;
  case 2: return role::garbage;
  default: return role::churn;
  }
}

/// natter_send_queue_bytes from GET /metrics; -1 when the scrape failed.
double scrape_send_queue(unsigned short port)
{
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  std::string body;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0)
  {
    const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
    if (::send(fd, req, sizeof req - 1, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof req - 1))
    {
      char buf[16384];
      for (int i = 0; i < 256; ++i)
      {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
          break;
        body.append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  ::close(fd);
  const std::string key = "\nnatter_send_queue_bytes ";
  const std::size_t at = body.find(key);
  if (at == std::string::npos)
    return -1;
  return std::strtod(body.c_str() + at + key.size(), nullptr);
}

/// Runs fiu-ctrl with `command` on `pid`; throws when it fails.
void fiu_ctrl(const std::string& command, int pid)
{
  const std::string cmd = "fiu-ctrl -c '" + command + "' " + std::to_string(pid);
  if (std::system(cmd.c_str()) != 0)
    throw std::runtime_error("failed: " + cmd);
}

/// "disable name=N" for "enable... name=N,...".
std::string fiu_disable(const std::string& command)
{
  const std::size_t at = command.find("name=");
  if (at == std::string::npos)
    throw std::runtime_error("--fiu without name=: " + command);
  return "disable " + command.substr(at, command.find(',', at) - at);
}

/// Least-squares slope of y over x.
double slope(const std::vector<double>& x, const std::vector<double>& y)
{
  const auto n = static_cast<double>(x.size());
  if (x.size() < 2)
    return 0;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < x.size(); ++i)
  {
    sx += x[i];
    sy += y[i];
    sxx += x[i] * x[i];
    sxy += x[i] * y[i];
  }
  const double d = n * sxx - sx * sx;
  return d == 0 ? 0 : (n * sxy - sx * sy) / d;
}

/// natterd started by the soak: a throwaway certificate, free ports, and
/// the process, stopped by its PID.
class server_process
{
public:
  explicit server_process(const soak_options& o)
  {
    char dir[] = "/tmp/natter-soak-XXXXXX";
    if (!::mkdtemp(dir))
      throw std::runtime_error("mkdtemp failed");
    dir_ = dir;
    const std::string gen =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
        "-subj /CN=localhost -keyout " +
        dir_ + "/key.pem -out " + dir_ + "/cert.pem 2>/dev/null";
    if (std::system(gen.c_str()) != 0)
      throw std::runtime_error("openssl req could not make a certificate");
    chat = free_port();
    tls = free_port();
    metrics = free_port();
    const std::string wrap = o.fiu.empty() ? o.wrap : "fiu-run -x " + o.wrap;
    const std::string cmd = "exec " + wrap + (wrap.empty() ? "" : " ") + o.natterd +
                            " --bind 127.0.0.1 --chat-port " + std::to_string(chat) +
                            " --echo-port off --tls-port " + std::to_string(tls) + " --tls-cert " +
                            dir_ + "/cert.pem --tls-key " + dir_ +
                            "/key.pem --metrics 127.0.0.1:" + std::to_string(metrics) +
                            " --log-level error " + o.natterd_args;
    std::fprintf(stderr, "soak: %s\n", cmd.c_str());
    pid = ::fork();
    if (pid < 0)
      throw std::runtime_error("fork failed");
    if (pid == 0)
    {
      ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Ready when the metrics port answers (it is bound last of the three
    // or not: any answer with the gauge will do). At most 20 s.
    for (int i = 0; i < 200 && scrape_send_queue(metrics) < 0; ++i)
    {
      if (exited())
        throw std::runtime_error("natterd exited at start");
      ::usleep(100000);
    }
  }
  ~server_process()
  {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  bool exited()
  {
    if (pid <= 0)
      return true;
    int st = 0;
    if (::waitpid(pid, &st, WNOHANG) == pid)
    {
      status = st;
      pid = -1;
      return true;
    }
    return false;
  }
  /// SIGTERM, up to 10 s, then SIGKILL. Returns the wait status.
  int stop()
  {
    if (pid > 0)
    {
      ::kill(pid, SIGTERM);
      for (int i = 0; i < 100 && !exited(); ++i)
        ::usleep(100000);
      if (pid > 0)
      {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        pid = -1;
      }
    }
    return status;
  }

  int pid = -1;
  int status = -1;
  unsigned short chat = 0, tls = 0, metrics = 0;

private:
  std::string dir_;
};

struct slot : chat_conn
{
  role r = role::steady;
  bool use_tls = false;
  bool closed = false; ///< a steady client the server closed
  std::uint64_t next_action = 0;
};

class soak_mode
{
public:
  using options_type = soak_options;
  static constexpr const char* name = "soak";

  explicit soak_mode(const soak_options& o);

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
    setup,
    barrier,
    running,
    end_barrier,
    draining,
    finished
  };
  void connect(slot& c);
  void on_connected(slot& c);
  void register_conn(slot& c);
  void on_line(slot& c, std::string_view line, std::uint64_t now);
  void on_readable(slot& c, std::uint64_t now);
  void kill(slot& c);
  void want_out(slot& c);
  void send(slot& c, std::string_view bytes);
  void produce(std::uint64_t now);
  void act(slot& c, std::uint64_t now);
  void sample(std::uint64_t now);
  std::size_t steady_alive() const;
  bool drained() const;
  std::uint64_t expected(std::size_t j) const;
  slot& random_steady();

  const soak_options& o_;
  std::unique_ptr<server_process> server_;
  int pid_ = 0;
  unsigned short metrics_ = 0;
  endpoint plain_, tls_ep_;
  std::unique_ptr<tls_client> tls_;
  nick_tag tag_ = this_run_tag();
  poller poll_;
  std::vector<slot> conns_;
  std::size_t steady_ = 0, started_ = 0, in_setup_ = 0, ready_ = 0, failed_ = 0;
  std::size_t barrier_left_ = 0;
  std::uint32_t generation_ = 0;
  std::vector<std::uint32_t> next_; // steady receiver x steady sender
  std::vector<std::uint64_t> sent_;
  std::uint64_t gaps_ = 0, deliveries_ = 0, scheduled_ = 0;
  std::uint64_t tells_ = 0, histories_ = 0, whos_ = 0, churn_connects_ = 0, garbage_ = 0;
  std::uint64_t floods_ = 0, others_closed_ = 0, steady_closed_ = 0;
  std::vector<char> buf_;
  latency_histogram latency_, second_;
  cpu_meter cpu_;
  std::mt19937_64 rng_{42};
  phase ph_ = phase::setup;
  std::uint64_t t0_ = 0, t_start_ = 0, deadline_ = 0, next_sample_ = 0;
  std::string why_; // the first reason to fail
  // Samples after the start of the run: seconds, RSS KiB, descriptors.
  std::vector<double> ts_, rss_, fds_, sendq_, p99_;
  bool server_died_ = false;
  bool faults_;
};

soak_mode::soak_mode(const soak_options& o)
    : o_(o), buf_(read_buffer_size), cpu_({}), faults_(o.faults || !o.fiu.empty())
{
  if (!o.fiu.empty() && o.natterd.empty())
    throw std::runtime_error("--fiu needs --natterd");
  if (o.clients < 20)
    throw std::runtime_error("--clients must be at least 20");
  raise_nofile_limit();
  require_descriptors(o.clients + 64, "--clients");
  unsigned short chat = o.port, tls = o.tls_port;
  pid_ = o.server_pids.empty() ? 0 : o.server_pids.front(); // RSS and descriptors of one
  metrics_ = o.metrics_port;
  if (!o.natterd.empty())
  {
    server_ = std::make_unique<server_process>(o);
    chat = server_->chat;
    tls = server_->tls;
    metrics_ = server_->metrics;
    pid_ = server_->pid;
  }
  if (chat == 0)
    throw std::runtime_error("give --natterd, or --port of a running natterd");
  cpu_ = cpu_meter(pid_ > 0 ? std::vector<int>{pid_} : std::vector<int>{});
  plain_ = resolve_loopback(o.host, chat);
  if (tls != 0)
  {
    tls_ep_ = resolve_loopback(o.host, tls);
    tls_ = std::make_unique<tls_client>(tls_options{true, {}, true}, o.host);
  }
  conns_.resize(o.clients);
  steady_ = o.clients * 4 / 5;
  next_.assign(steady_ * steady_, 0);
  sent_.assign(steady_, 0);
  for (std::size_t i = 0; i < conns_.size(); ++i)
  {
    conns_[i].index = static_cast<std::uint32_t>(i);
    conns_[i].r = role_of(i, steady_);
    // Slow readers read plaintext octets themselves: never TLS.
    conns_[i].use_tls =
        tls_ && o.tls_every > 0 && i % o.tls_every == 1 && conns_[i].r != role::slow;
  }
}

void soak_mode::start(std::uint64_t now)
{
  t0_ = now;
  deadline_ = now + seconds_to_ns(o_.setup_timeout);
  next_sample_ = now;
}

void soak_mode::connect(slot& c)
{
  c.closed = false;
  c.held = 0;
  c.barrier = false;
  c.out.clear();
  c.out_off = 0;
  c.want_out = false;
  if (!begin_connect(c, c.use_tls ? tls_ep_ : plain_, nullptr, poll_))
  {
    if (c.r == role::steady)
    {
      ++failed_;
      c.closed = true;
    }
    return;
  }
  ++in_setup_;
}

void soak_mode::kill(slot& c)
{
  if (c.st == chat_conn::state::dead || c.st == chat_conn::state::idle)
    return;
  if (c.barrier)
  {
    c.barrier = false;
    --barrier_left_;
  }
  if (c.st != chat_conn::state::ready)
  {
    --in_setup_;
    if (c.r == role::steady)
    {
      ++failed_;
      c.closed = true; // never checked: it sends nothing and is owed nothing
    }
  }
  else if (c.r == role::steady)
  {
    c.closed = true;
    if (ph_ != phase::finished)
      ++steady_closed_;
  }
  else if (ph_ != phase::finished)
    ++others_closed_;
  close_conn(c, poll_);
}

void soak_mode::want_out(slot& c)
{
  const bool want = has_output(c);
  if (want != c.want_out && c.st != chat_conn::state::dead)
  {
    c.want_out = want;
    const std::uint32_t in = c.r == role::slow && c.st == chat_conn::state::ready ? 0u : EPOLLIN;
    poll_.modify(c.fd, &c, in | (want ? EPOLLOUT : 0u));
  }
}

void soak_mode::send(slot& c, std::string_view bytes)
{
  if (c.st != chat_conn::state::ready)
    return;
  if (c.out.size() - c.out_off > 256 * 1024)
    return; // the server is not reading it (flood control, soft mark)
  if (c.out_off > 0 && c.out_off == c.out.size())
  {
    c.out.clear();
    c.out_off = 0;
  }
  if (!queue_and_flush(c, bytes))
    kill(c);
  else
    want_out(c);
}

void soak_mode::on_event(const epoll_event& ev, std::uint64_t now)
{
  auto& c = *static_cast<slot*>(ev.data.ptr);
  dispatch_event(
      c, ev.events, [&] { on_connected(c); }, [&] { on_readable(c, now); }, [&] { kill(c); },
      [&] { want_out(c); });
}

void soak_mode::on_connected(slot& c)
{
  if (!connect_succeeded(c.fd))
  {
    kill(c);
    return;
  }
  poll_.modify(c.fd, &c, EPOLLIN);
  if (c.use_tls)
  {
    if (!start_tls(c, *tls_))
      kill(c);
    else
      want_out(c);
    return;
  }
  register_conn(c);
}

void soak_mode::register_conn(slot& c)
{
  c.st = chat_conn::state::registering;
  const std::string nick =
      c.r == role::steady ? make_nick(false, tag_, c.index) : make_nick(true, tag_, generation_++);
  if (!send_registration(c, dialect::natter, nick))
    kill(c);
  else
    want_out(c);
}

void soak_mode::on_readable(slot& c, std::uint64_t now)
{
  read_rounds(
      c, buf_.data(), [&](std::string_view line) { on_line(c, line, now); }, [&] { kill(c); },
      [&] { register_conn(c); }, [&] { want_out(c); });
}

// "MSG <nick> K <seq> <ts>" from a steady sender "r<tag><j>".
void soak_mode::on_line(slot& c, std::string_view line, std::uint64_t now)
{
  if (c.st != chat_conn::state::ready)
  {
    switch (setup_line(line, dialect::natter))
    {
    case setup_event::registered:
      c.st = chat_conn::state::ready;
      --in_setup_;
      if (c.r == role::steady)
        ++ready_;
      if (c.r == role::slow)
        poll_.modify(c.fd, &c, c.want_out ? EPOLLOUT : 0u);
      return;
    case setup_event::failed: kill(c); return;
    default: return;
    }
  }
  if (ends_barrier(c, line))
  {
    --barrier_left_;
    return;
  }
  if (c.r != role::steady || !line.starts_with("MSG r") || line.size() < 8 || line[5] != tag_[0] ||
      line[6] != tag_[1])
    return;
  std::string_view rest = line.substr(7);
  std::uint64_t j = 0, seq = 0, ts = 0;
  if (!parse_u64(rest, j) || !rest.starts_with(" K ") || j >= steady_)
    return;
  rest.remove_prefix(3);
  if (!parse_u64(rest, seq) || !rest.starts_with(" ") || (rest.remove_prefix(1), false) ||
      !parse_u64(rest, ts))
    return;
  ++deliveries_;
  if (now > ts)
  {
    latency_.record(now - ts);
    second_.record(now - ts);
  }
  std::uint32_t& next = next_[std::size_t{c.index} * steady_ + j];
  if (seq > next)
  {
    gaps_ += seq - next;
    if (why_.empty())
      why_ = "lost message: steady client " + std::to_string(c.index) + " missed seq " +
             std::to_string(next) + " of sender " + std::to_string(j);
  }
  if (seq >= next)
    next = static_cast<std::uint32_t>(seq + 1);
}

slot& soak_mode::random_steady()
{
  return conns_[rng_() % steady_];
}

// Rate-driven actions of steady clients: MSG at --rate, TELL at a fifth of
// it, HISTORY and WHO rarely.
void soak_mode::produce(std::uint64_t now)
{
  const auto due = static_cast<std::uint64_t>(ns_to_seconds(now - t_start_) * o_.rate);
  char line[96];
  while (scheduled_ < due)
  {
    ++scheduled_;
    slot& s = random_steady();
    if (s.st != chat_conn::state::ready)
      continue;
    const std::size_t j = s.index;
    const int len = std::snprintf(line, sizeof line, "MSG K %llu %llu\r\n",
                                  static_cast<unsigned long long>(sent_[j]),
                                  static_cast<unsigned long long>(now));
    send(s, std::string_view(line, static_cast<std::size_t>(len)));
    ++sent_[j];
    if (s.st != chat_conn::state::ready)
      continue;
    if (scheduled_ % 5 == 0)
    {
      send(s, "TELL " + make_nick(false, tag_, random_steady().index) + " hello there\r\n");
      ++tells_;
    }
    if (scheduled_ % 40 == 0)
    {
      send(s, "HISTORY 20\r\n");
      ++histories_;
    }
    if (scheduled_ % 200 == 0)
    {
      send(s, "WHO\r\n");
      ++whos_;
    }
  }
}

// What a non-steady slot does when its time comes.
void soak_mode::act(slot& c, std::uint64_t now)
{
  if (c.st == chat_conn::state::idle || c.st == chat_conn::state::dead)
  {
    ++churn_connects_;
    connect(c);
    c.next_action = now + seconds_to_ns(1 + static_cast<double>(rng_() % 2000) / 100);
    return;
  }
  if (c.st != chat_conn::state::ready)
    return;
  switch (c.r)
  {
  case role::churn:
  {
    const auto pick = rng_() % 6;
    if (pick == 0)
      send(c, "MSG just passing through\r\n");
    else if (pick == 1)
      send(c, "TELL " + make_nick(false, tag_, random_steady().index) + " hi\r\n");
    else if (pick == 2)
      send(c, "HISTORY 10\r\n");
    else if (pick == 3)
      send(c, "WHO\r\n");
    else if (pick == 4)
      send(c, "QUIT bye\r\n");
    else
      kill(c);
    c.next_action = now + seconds_to_ns(1 + static_cast<double>(rng_() % 1000) / 100);
    return;
  }
  case role::slow:
  {
    // One small read: the rest stays in the socket and the server's queue.
    const ssize_t n = ::recv(c.fd, buf_.data(), 256, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
      kill(c);
    break;
  }
  case role::flood:
  {
    std::string burst;
    for (int i = 0; i < 100; ++i)
      burst += "PING f\r\n";
    send(c, burst);
    ++floods_;
    break;
  }
  case role::garbage:
  {
    static const char* const bad[] = {"FROB nicate\r\n",    "\xff\xfe\xc0\x80 bad utf-8\r\n",
                                      "MSG a\0b\r\n",       "\xff\xf4\xff\xfd\x06\r\n",
                                      "\r\r\r\n",           "NICK\r\n",
                                      "HISTORY AFTER x\r\n"};
    const auto pick = rng_() % 8;
    if (pick == 7)
      send(c, std::string(2000, 'x') + "\r\n");
    else
      send(c, std::string_view(bad[pick],
                               std::char_traits<char>::length(bad[pick]) + (pick == 2 ? 6 : 0)));
    ++garbage_;
    break;
  }
  case role::steady: break;
  }
  c.next_action = now + seconds_to_ns(1);
}

void soak_mode::sample(std::uint64_t now)
{
  if (server_ && server_->exited())
  {
    server_died_ = true;
    if (why_.empty())
      why_ = "natterd exited during the run (wait status " + std::to_string(server_->status) + ")";
    ph_ = phase::finished;
    return;
  }
  if (pid_ <= 0)
    return;
  ts_.push_back(ns_to_seconds(now - t_start_));
  rss_.push_back(static_cast<double>(rss_kib(pid_)));
  fds_.push_back(static_cast<double>(open_fds(pid_)));
  sendq_.push_back(metrics_ ? scrape_send_queue(metrics_) : -1);
  p99_.push_back(static_cast<double>(second_.quantile(0.99)) / 1e6);
  second_ = latency_histogram{};
}

std::size_t soak_mode::steady_alive() const
{
  std::size_t n = 0;
  for (std::size_t i = 0; i < steady_; ++i)
    n += conns_[i].st == chat_conn::state::ready;
  return n;
}

// What steady receivers must have of sender j: all it sent while it is
// connected (its end barrier passed), else the most any receiver got.
std::uint64_t soak_mode::expected(std::size_t j) const
{
  if (!conns_[j].closed)
    return sent_[j];
  std::uint64_t most = 0;
  for (std::size_t r = 0; r < steady_; ++r)
    most = std::max<std::uint64_t>(most, next_[r * steady_ + j]);
  return most;
}

bool soak_mode::drained() const
{
  for (std::size_t j = 0; j < steady_; ++j)
  {
    const std::uint64_t want = expected(j);
    for (std::size_t r = 0; r < steady_; ++r)
      if (r != j && conns_[r].st == chat_conn::state::ready && next_[r * steady_ + j] < want)
        return false;
  }
  return true;
}

bool soak_mode::advance(std::uint64_t now, std::size_t /*ready*/)
{
  switch (ph_)
  {
  case phase::setup:
    while (started_ < steady_ && in_setup_ < 200)
      connect(conns_[started_++]);
    if (ready_ + failed_ == steady_ && started_ == steady_)
    {
      // Under fault injection a few may fail (and are not checked).
      if (failed_ > (faults_ ? steady_ / 10 : 0))
      {
        why_ = std::to_string(failed_) + " steady clients could not register";
        ph_ = phase::finished;
        break;
      }
      ph_ = phase::barrier;
      for (std::size_t i = 0; i < steady_; ++i)
        if (start_barrier(conns_[i]))
        {
          ++barrier_left_;
          want_out(conns_[i]);
        }
        else
          kill(conns_[i]);
    }
    else if (now > deadline_)
    {
      why_ = "setup timed out";
      ph_ = phase::finished;
    }
    break;
  case phase::barrier:
    if (barrier_left_ == 0)
    {
      ph_ = phase::running;
      if (server_)
        for (const std::string& f : o_.fiu)
          fiu_ctrl(f, pid_);
      t_start_ = now;
      next_sample_ = now;
      cpu_.start();
    }
    else if (now > deadline_)
    {
      why_ = "setup barrier timed out";
      ph_ = phase::finished;
    }
    break;
  case phase::running:
    produce(now);
    for (std::size_t i = steady_; i < conns_.size(); ++i)
      if (now >= conns_[i].next_action)
        act(conns_[i], now);
    if (now - t_start_ >= seconds_to_ns(o_.duration))
    {
      cpu_.stop();
      if (server_)
        for (const std::string& f : o_.fiu)
          fiu_ctrl(fiu_disable(f), pid_);
      ph_ = phase::end_barrier;
      deadline_ = now + seconds_to_ns(o_.drain);
      for (std::size_t i = 0; i < steady_; ++i)
        if (conns_[i].st == chat_conn::state::ready && start_barrier(conns_[i]))
        {
          ++barrier_left_;
          want_out(conns_[i]);
        }
    }
    break;
  case phase::end_barrier:
    if (barrier_left_ == 0)
      ph_ = phase::draining;
    else if (now > deadline_)
    {
      why_ = std::to_string(barrier_left_) + " steady clients got no PONG at the end";
      ph_ = phase::finished;
    }
    break;
  case phase::draining:
    if (drained())
      ph_ = phase::finished;
    else if (now > deadline_)
      ph_ = phase::finished;
    break;
  case phase::finished: break;
  }
  if (ph_ != phase::finished && ph_ != phase::setup && ph_ != phase::barrier && now >= next_sample_)
  {
    next_sample_ += seconds_to_ns(1);
    sample(now);
  }
  return ph_ != phase::finished;
}

std::string soak_mode::status(std::uint64_t now) const
{
  char text[200];
  if (ph_ == phase::setup || ph_ == phase::barrier)
    std::snprintf(text, sizeof text, "soak: registered %zu/%zu", ready_, steady_);
  else
    std::snprintf(text, sizeof text,
                  "soak: %.0f s  steady %zu  rss %.0f KiB  fds %.0f  sendq %.0f  p99 %.1f ms",
                  ns_to_seconds(now - t_start_), steady_alive(), rss_.empty() ? 0 : rss_.back(),
                  fds_.empty() ? 0 : fds_.back(), sendq_.empty() ? 0 : sendq_.back(),
                  p99_.empty() ? 0 : p99_.back());
  return text;
}

int soak_mode::finish(report& rep)
{
  // Loss: a steady receiver that kept its connection and has less of a
  // steady sender than it should.
  std::uint64_t lost = gaps_;
  if (ph_ == phase::finished && !server_died_ && why_.empty())
    for (std::size_t j = 0; j < steady_; ++j)
    {
      const std::uint64_t want = expected(j);
      for (std::size_t r = 0; r < steady_; ++r)
        if (r != j && conns_[r].st == chat_conn::state::ready && next_[r * steady_ + j] < want)
        {
          lost += want - next_[r * steady_ + j];
          if (why_.empty())
            why_ = "lost message: steady client " + std::to_string(r) + " has " +
                   std::to_string(next_[r * steady_ + j]) + " of sender " + std::to_string(j) +
                   "'s " + std::to_string(want);
        }
    }
  const std::size_t alive = steady_alive();
  ph_ = phase::finished;
  for (slot& c : conns_)
    kill(c);

  // Slopes over the samples after the warm-up, per minute.
  std::vector<double> x, rss, fds;
  double sendq_max = 0, p99_max = 0;
  for (std::size_t i = 0; i < ts_.size(); ++i)
  {
    sendq_max = std::max(sendq_max, sendq_[i]);
    if (ts_[i] < o_.warmup)
      continue;
    x.push_back(ts_[i] / 60);
    rss.push_back(rss_[i]);
    fds.push_back(fds_[i]);
    p99_max = std::max(p99_max, p99_[i]);
  }
  const double rss_slope = slope(x, rss), fd_slope = slope(x, fds);
  const double p99 = static_cast<double>(latency_.quantile(0.99)) / 1e6;
  if (why_.empty() && x.size() < 2 && pid_ > 0)
    why_ = "fewer than 2 samples after the warm-up";
  if (why_.empty() && rss_slope > o_.max_rss_slope)
    why_ = "RSS grows " + std::to_string(rss_slope) + " KiB/min after the warm-up (bound " +
           std::to_string(o_.max_rss_slope) + ")";
  if (why_.empty() && fd_slope > o_.max_fd_slope)
    why_ = "descriptors grow " + std::to_string(fd_slope) + "/min after the warm-up (bound " +
           std::to_string(o_.max_fd_slope) + ")";
  if (why_.empty() && p99 > o_.max_p99_ms)
    why_ = "p99 " + std::to_string(p99) + " ms above the bound " + std::to_string(o_.max_p99_ms);
  if (why_.empty() && !faults_ && steady_closed_ > 0)
    why_ = std::to_string(steady_closed_) + " steady clients were disconnected";
  if (why_.empty() && deliveries_ == 0)
    why_ = "no message was delivered";
  int server_status = -1;
  if (server_)
  {
    server_status = server_->stop();
    if (why_.empty() && !(WIFEXITED(server_status) && WEXITSTATUS(server_status) == 0))
      why_ =
          "natterd did not exit 0 on SIGTERM (wait status " + std::to_string(server_status) + ")";
  }

  std::uint64_t sent = 0;
  for (const std::uint64_t s : sent_)
    sent += s;
  rep.number("clients", "clients", static_cast<double>(conns_.size()));
  rep.number("steady", "steady clients", static_cast<double>(steady_));
  rep.number("setup_failed", "steady clients that could not register",
             static_cast<double>(failed_));
  rep.number("seconds", "run", o_.duration, 0, "s");
  rep.number("warmup", "warm-up", o_.warmup, 0, "s");
  rep.number("samples", "samples after warm-up", static_cast<double>(x.size()));
  rep.number("sent", "steady MSGs sent", static_cast<double>(sent));
  rep.number("deliveries", "steady MSGs delivered", static_cast<double>(deliveries_));
  rep.number("tells", "TELLs", static_cast<double>(tells_));
  rep.number("histories", "HISTORYs", static_cast<double>(histories_));
  rep.number("whos", "WHOs", static_cast<double>(whos_));
  rep.number("churn_connects", "churn connections", static_cast<double>(churn_connects_));
  rep.number("floods", "flood bursts (100 PINGs)", static_cast<double>(floods_));
  rep.number("garbage", "garbage lines", static_cast<double>(garbage_));
  rep.number("others_closed", "churn/slow/flood/garbage closed by the server",
             static_cast<double>(others_closed_));
  rep.number("steady_closed", "steady clients closed by the server",
             static_cast<double>(steady_closed_));
  rep.number("steady_alive", "steady clients connected at the end", static_cast<double>(alive));
  rep.number("lost", "lost (steady, still connected)", static_cast<double>(lost));
  report_latency(rep, "latency", "send to receipt", latency_);
  rep.number("p99_second_max_ms", "worst per-second p99 after warm-up", p99_max, 2, "ms");
  rep.number("rss_first_kib", "server RSS after warm-up", rss.empty() ? 0 : rss.front(), 0, "KiB");
  rep.number("rss_last_kib", "server RSS at the end", rss.empty() ? 0 : rss.back(), 0, "KiB");
  rep.number("rss_slope_kib_per_min", "RSS slope", rss_slope, 1, "KiB/min");
  rep.number("fds_last", "server descriptors at the end", fds.empty() ? 0 : fds.back());
  rep.number("fd_slope_per_min", "descriptor slope", fd_slope, 2, "/min");
  rep.number("sendq_max_bytes", "largest total send queue", sendq_max, 0, "B");
  for (const std::string& f : o_.fiu)
    rep.text("fiu", "libfiu", f);
  report_cpu(rep, cpu_);
  if (server_)
    rep.number("server_status", "natterd wait status", server_status);
  rep.text("verdict", "verdict", why_.empty() ? "ok" : "FAIL: " + why_);
  return why_.empty() ? 0 : 1;
}

} // namespace

int run_soak(const soak_options& o)
{
  return run_mode<soak_mode>(o);
}

} // namespace natter::bench
