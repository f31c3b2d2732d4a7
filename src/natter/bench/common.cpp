#include "natter/bench/common.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <unordered_map>

namespace natter::bench
{

std::uint64_t now_ns() noexcept
{
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

std::uint64_t latency_histogram::quantile(double q) const noexcept
{
  if (count_ == 0)
    return 0;
  auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_));
  if (rank >= count_)
    rank = count_ - 1;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i)
  {
    seen += counts_[i];
    if (seen > rank)
    {
      if (i < (1u << sub_bits))
        return i;
      const std::size_t shift = (i >> sub_bits) - 1;
      const std::uint64_t low = ((1u << sub_bits) + (i & ((1u << sub_bits) - 1))) << shift;
      const std::uint64_t mid = low + ((std::uint64_t{1} << shift) >> 1);
      return mid < max_ ? mid : max_;
    }
  }
  return max_;
}

namespace
{

// ppid and cutime + cstime (ticks: children reaped) of one /proc/<pid>/stat.
struct stat_fields
{
  int ppid = 0;
  long long children = 0; // cutime + cstime
};

bool read_stat(int pid, stat_fields& out)
{
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  char buf[1024];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0)
    return false;
  buf[n] = '\0';
  // The command name is in parentheses and may hold spaces: skip past the last ')'.
  const char* p = std::strrchr(buf, ')');
  if (!p)
    return false;
  // Fields after ')': 3 state, 4 ppid, ... 14 utime, 15 stime, 16 cutime, 17 cstime.
  long long f[18] = {};
  int field = 3;
  ++p;
  while (*p && field <= 17)
  {
    while (*p == ' ')
      ++p;
    const char* start = p;
    while (*p && *p != ' ')
      ++p;
    if (field >= 4)
      std::from_chars(start, p, f[field]);
    ++field;
  }
  out.ppid = static_cast<int>(f[4]);
  out.children = f[16] + f[17];
  return true;
}

// Nanoseconds on CPU of every thread of `pid`, from schedstat: exact, where
// the tick-sampled utime/stime miss short runs (100 socat children that each
// echo a few hundred lines a second show 0 ticks).
double process_cpu_seconds(int pid)
{
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/task", pid);
  DIR* d = ::opendir(path);
  if (!d)
    return -1;
  unsigned long long ns = 0;
  while (dirent* e = ::readdir(d))
  {
    if (e->d_name[0] < '0' || e->d_name[0] > '9')
      continue;
    char file[320];
    std::snprintf(file, sizeof file, "/proc/%d/task/%s/schedstat", pid, e->d_name);
    if (std::FILE* f = std::fopen(file, "r"))
    {
      unsigned long long run = 0;
      if (std::fscanf(f, "%llu", &run) == 1)
        ns += run;
      std::fclose(f);
    }
  }
  ::closedir(d);
  return static_cast<double>(ns) / 1e9;
}

} // namespace

double process_tree_cpu_seconds(int pid)
{
  stat_fields root;
  if (pid <= 0 || !read_stat(pid, root))
    return -1;
  // One pass over /proc for the parent of every process, then the subtree's
  // CPU; children the root has reaped count through cutime + cstime.
  std::unordered_map<int, int> parent;
  if (DIR* d = ::opendir("/proc"))
  {
    while (dirent* e = ::readdir(d))
    {
      int p = 0;
      const char* name = e->d_name;
      const auto [end, ec] = std::from_chars(name, name + std::strlen(name), p);
      if (ec != std::errc{} || *end != '\0' || p == pid)
        continue;
      stat_fields s;
      if (read_stat(p, s))
        parent[p] = s.ppid;
    }
    ::closedir(d);
  }
  double seconds = process_cpu_seconds(pid) +
                   static_cast<double>(root.children) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  for (const auto& [p, pp] : parent)
  {
    int up = pp;
    for (int depth = 0; up > 1 && depth < 64; ++depth)
    {
      if (up == pid)
      {
        const double c = process_cpu_seconds(p);
        if (c > 0)
          seconds += c;
        break;
      }
      const auto it = parent.find(up);
      if (it == parent.end())
        break;
      up = it->second;
    }
  }
  return seconds;
}

long rss_kib(int pid)
{
  if (pid <= 0)
    return -1;
  // smaps_rollup is exact; VmRSS in status lags by up to 64 pages per
  // thread (the kernel batches its RSS counters), too coarse for a per-client
  // figure.
  for (const char* file : {"/smaps_rollup", "/status"})
  {
    std::ifstream in("/proc/" + std::to_string(pid) + file);
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("Rss:", 0) == 0 || line.rfind("VmRSS:", 0) == 0)
        return std::strtol(line.c_str() + line.find(':') + 1, nullptr, 10);
  }
  return -1;
}

namespace
{

double self_cpu_seconds()
{
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& tv)
  { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

} // namespace

void cpu_meter::start()
{
  t0_ = now_ns();
  self0_ = self_cpu_seconds();
  server0_ = pid_ > 0 ? process_tree_cpu_seconds(pid_) : -1;
}

void cpu_meter::stop()
{
  wall_ = static_cast<double>(now_ns() - t0_) / 1e9;
  self_ = self_cpu_seconds() - self0_;
  if (pid_ > 0 && server0_ >= 0)
  {
    const double s = process_tree_cpu_seconds(pid_);
    server_ = s >= 0 ? s - server0_ : -1;
  }
}

endpoint resolve_loopback(const std::string& host, unsigned short port)
{
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0)
    throw std::runtime_error("cannot resolve " + host + ": " + ::gai_strerror(rc));
  endpoint ep;
  bool found = false;
  for (addrinfo* ai = res; ai && !found; ai = ai->ai_next)
  {
    if (ai->ai_family == AF_INET)
    {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(ai->ai_addr);
      if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127)
        continue;
      ep.v4 = true;
    }
    else if (ai->ai_family == AF_INET6)
    {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(ai->ai_addr);
      if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
        continue;
      ep.v4 = false;
    }
    else
      continue;
    std::memcpy(&ep.addr, ai->ai_addr, ai->ai_addrlen);
    ep.len = static_cast<socklen_t>(ai->ai_addrlen);
    found = true;
  }
  ::freeaddrinfo(res);
  if (!found)
    throw std::runtime_error(host + " is not a loopback address: natter-bench only loads "
                                    "127.0.0.0/8 and ::1");
  return ep;
}

int start_connect(const endpoint& to, const in_addr* source)
{
  const int fd =
      ::socket(to.v4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (source && to.v4)
  {
    // Let connect() choose the port per 4-tuple, so every source address
    // has the whole ephemeral range.
    ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr = *source;
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&src), sizeof src) != 0)
    {
      const int e = errno;
      ::close(fd);
      errno = e;
      return -1;
    }
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&to.addr), to.len) != 0 &&
      errno != EINPROGRESS)
  {
    const int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

in_addr spread_source(std::size_t i)
{
  in_addr a{};
  a.s_addr = htonl(0x7F010001u + static_cast<std::uint32_t>(i / 1000));
  return a;
}

long raise_nofile_limit()
{
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return -1;
  rl.rlim_cur = rl.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &rl);
  ::getrlimit(RLIMIT_NOFILE, &rl);
  return static_cast<long>(rl.rlim_cur);
}

poller::poller() : fd_(::epoll_create1(EPOLL_CLOEXEC))
{
  if (fd_ < 0)
    throw std::system_error(errno, std::generic_category(), "epoll_create1");
}

poller::~poller()
{
  ::close(fd_);
}

void poller::add(int fd, void* tag, std::uint32_t events)
{
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = tag;
  if (::epoll_ctl(fd_, EPOLL_CTL_ADD, fd, &ev) != 0)
    throw std::system_error(errno, std::generic_category(), "epoll_ctl add");
}

void poller::modify(int fd, void* tag, std::uint32_t events)
{
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = tag;
  ::epoll_ctl(fd_, EPOLL_CTL_MOD, fd, &ev);
}

void poller::remove(int fd)
{
  ::epoll_ctl(fd_, EPOLL_CTL_DEL, fd, nullptr);
}

std::span<const epoll_event> poller::wait(int timeout_ms)
{
  const int n = ::epoll_wait(fd_, events_.data(), static_cast<int>(events_.size()), timeout_ms);
  return {events_.data(), n > 0 ? static_cast<std::size_t>(n) : 0u};
}

progress::progress() : enabled_(::isatty(STDERR_FILENO) == 1) {}

void progress::show(std::uint64_t now, const std::string& text)
{
  std::fprintf(stderr, "\r\033[K%s", text.c_str());
  std::fflush(stderr);
  shown_ = true;
  next_ = now + 250'000'000u;
}

void progress::finish()
{
  if (shown_)
  {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  }
  shown_ = false;
}

void report::number(std::string key, std::string label, double value, int precision,
                    std::string unit)
{
  char shown[64];
  char json[64];
  std::snprintf(shown, sizeof shown, "%.*f", precision, value);
  std::snprintf(json, sizeof json, "%.*f", precision < 3 ? 3 : precision, value);
  if (precision == 0 && value == static_cast<double>(static_cast<long long>(value)))
    std::snprintf(json, sizeof json, "%lld", static_cast<long long>(value));
  std::string s = shown;
  if (!unit.empty())
    s += " " + unit;
  rows_.push_back({std::move(key), std::move(label), std::move(s), json});
}

void report::text(std::string key, std::string label, std::string value)
{
  std::string json = "\"";
  for (const char c : value)
  {
    if (c == '"' || c == '\\')
      json += '\\';
    if (static_cast<unsigned char>(c) >= 0x20)
      json += c;
  }
  json += '"';
  rows_.push_back({std::move(key), std::move(label), std::move(value), std::move(json)});
}

void report::print(bool json) const
{
  if (json)
  {
    std::printf("{\"mode\": \"%s\"", mode_.c_str());
    for (const row& r : rows_)
      std::printf(", \"%s\": %s", r.key.c_str(), r.json.c_str());
    std::printf("}\n");
  }
  else
  {
    std::size_t width = 0;
    for (const row& r : rows_)
      width = std::max(width, r.label.size());
    std::printf("natter-bench %s\n", mode_.c_str());
    for (const row& r : rows_)
      std::printf("  %-*s  %s\n", static_cast<int>(width), r.label.c_str(), r.shown.c_str());
  }
  std::fflush(stdout);
}

void report_cpu(report& r, const cpu_meter& m)
{
  const double wall = m.wall_seconds() > 0 ? m.wall_seconds() : 1;
  r.number("bench_cpu_pct", "natter-bench CPU", 100 * m.self_seconds() / wall, 1, "% of a core");
  if (m.server_seconds() >= 0)
    r.number("server_cpu_pct", "server CPU", 100 * m.server_seconds() / wall, 1, "% of a core");
}

void report_latency(report& r, const std::string& prefix, const std::string& what,
                    const latency_histogram& h)
{
  r.number(prefix + "_p50_ms", what + " p50", static_cast<double>(h.quantile(0.50)) / 1e6, 3, "ms");
  r.number(prefix + "_p99_ms", what + " p99", static_cast<double>(h.quantile(0.99)) / 1e6, 3, "ms");
  r.number(prefix + "_max_ms", what + " max", static_cast<double>(h.max()) / 1e6, 3, "ms");
}

std::size_t write_some(int fd, const char* data, std::size_t n) noexcept
{
  std::size_t done = 0;
  while (done < n)
  {
    const ssize_t w = ::send(fd, data + done, n - done, MSG_NOSIGNAL);
    if (w > 0)
      done += static_cast<std::size_t>(w);
    else if (w < 0 && errno == EINTR)
      continue;
    else
      break;
  }
  return done;
}

} // namespace natter::bench
