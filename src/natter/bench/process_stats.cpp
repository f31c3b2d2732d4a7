#include "natter/bench/process_stats.hpp"

#include "natter/bench/clock.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <system_error>
#include <unordered_map>

namespace natter::bench
{

namespace
{

// ppid, utime + stime and cutime + cstime (ticks) of one /proc/<pid>/stat.
struct stat_fields
{
  int ppid = 0;
  long long own = 0;      // utime + stime: every thread's, exited ones too
  long long children = 0; // cutime + cstime: children reaped
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
  out.own = f[14] + f[15];
  out.children = f[16] + f[17];
  return true;
}

// Seconds on CPU of `pid`: the sum of its threads' schedstat, exact where
// utime/stime (whole ticks) round a short run down to nothing (100 socat
// children that each echo a few hundred lines a second show 0 ticks); but
// utime + stime when that is more, since they keep the time of threads
// that have exited, which schedstat no longer lists (stunnel runs a thread
// per connection, and one per handshake in the handshake mode).
double process_cpu_seconds(int pid)
{
  stat_fields st;
  const double ticks =
      read_stat(pid, st) ? static_cast<double>(st.own) / static_cast<double>(::sysconf(_SC_CLK_TCK))
                         : 0;
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
  return std::max(static_cast<double>(ns) / 1e9, ticks);
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

long rss_kib(const std::vector<int>& pids)
{
  long sum = pids.empty() ? -1 : 0;
  for (const int pid : pids)
  {
    const long k = rss_kib(pid);
    if (k < 0)
      return -1;
    sum += k;
  }
  return sum;
}

double process_tree_cpu_seconds(const std::vector<int>& pids)
{
  double sum = pids.empty() ? -1 : 0;
  for (const int pid : pids)
  {
    const double s = pid > 0 ? process_tree_cpu_seconds(pid) : -1;
    if (s < 0)
      return -1;
    sum += s;
  }
  return sum;
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
  server0_ = process_tree_cpu_seconds(pids_);
}

void cpu_meter::stop()
{
  wall_ = static_cast<double>(now_ns() - t0_) / 1e9;
  self_ = self_cpu_seconds() - self0_;
  if (server0_ >= 0)
  {
    const double s = process_tree_cpu_seconds(pids_);
    server_ = s >= 0 ? s - server0_ : -1;
  }
}

long open_fds(int pid)
{
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/fd", pid);
  DIR* d = ::opendir(path);
  if (!d)
    return -1;
  long n = 0;
  while (const dirent* e = ::readdir(d))
    if (e->d_name[0] != '.')
      ++n;
  ::closedir(d);
  return n;
}

} // namespace natter::bench
