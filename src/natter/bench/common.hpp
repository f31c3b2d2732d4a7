// natter-bench: pieces shared by the three modes. Clocks, a fixed-size
// latency histogram, CPU and memory readings from /proc, loopback-only
// address resolution, non-blocking sockets, a thin epoll wrapper, the
// progress line and the report (a human table or one JSON object).
#ifndef NATTER_BENCH_COMMON_HPP
#define NATTER_BENCH_COMMON_HPP

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace natter::bench
{

/// Options every mode takes.
struct common_options
{
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  double duration = 5;       ///< seconds of measurement (echo, fanout) or hold (idle)
  double setup_timeout = 60; ///< seconds allowed to connect and register
  bool json = false;
  int server_pid = 0; ///< 0: server CPU and memory are not reported
};

/// CLOCK_MONOTONIC in nanoseconds.
std::uint64_t now_ns() noexcept;

/// Log-linear histogram of nanosecond values: 32 sub-buckets per power of
/// two (under 3.2% error), 16 KiB, no allocation when recording.
class latency_histogram
{
public:
  /// Records one value.
  void record(std::uint64_t ns) noexcept
  {
    ++count_;
    if (ns > max_)
      max_ = ns;
    ++counts_[index(ns)];
  }
  /// Number of values recorded.
  std::uint64_t count() const noexcept { return count_; }
  /// Largest value recorded (exact).
  std::uint64_t max() const noexcept { return max_; }
  /// The value below which a fraction `q` (0..1) of the values lie: the
  /// middle of the bucket holding that rank; 0 when empty.
  std::uint64_t quantile(double q) const noexcept;

private:
  static constexpr int sub_bits = 5;
  static std::size_t index(std::uint64_t v) noexcept
  {
    if (v < (1u << sub_bits))
      return static_cast<std::size_t>(v);
    const int msb = 63 - __builtin_clzll(v);
    const int shift = msb - sub_bits;
    return (static_cast<std::size_t>(shift + 1) << sub_bits) +
           static_cast<std::size_t>((v >> shift) & ((1u << sub_bits) - 1));
  }
  std::array<std::uint64_t, 64u << sub_bits> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
};

/// CPU used by this process and by the server (the process `pid` and all
/// its descendants, so forking servers such as xinetd count in full) over
/// an interval of wall time.
class cpu_meter
{
public:
  explicit cpu_meter(int server_pid) : pid_(server_pid) {}
  /// Takes the first reading.
  void start();
  /// Takes the second reading.
  void stop();
  double wall_seconds() const noexcept { return wall_; }
  /// CPU seconds of this process over the interval.
  double self_seconds() const noexcept { return self_; }
  /// CPU seconds of the server over the interval; negative when unknown.
  double server_seconds() const noexcept { return server_; }

private:
  int pid_;
  std::uint64_t t0_ = 0;
  double self0_ = 0, server0_ = 0;
  double wall_ = 0, self_ = 0, server_ = -1;
};

/// CPU seconds of `pid` and its live descendants (plus the children it has
/// reaped); negative when `pid` does not exist.
double process_tree_cpu_seconds(int pid);

/// VmRSS of `pid` in KiB; -1 when unknown.
long rss_kib(int pid);

/// A resolved server address. Construction refuses anything but loopback
/// (127.0.0.0/8, ::1): natter-bench is a load generator and only ever
/// loads this machine.
struct endpoint
{
  sockaddr_storage addr{};
  socklen_t len = 0;
  bool v4 = true;
};

/// Resolves `host` numerically or by name; throws std::runtime_error for a
/// non-loopback address or a failed lookup.
endpoint resolve_loopback(const std::string& host, unsigned short port);

/// Starts a non-blocking connect to `to`, bound first to `source` (IPv4
/// only, port chosen at connect time) when given. Returns the socket or -1
/// with errno set. TCP_NODELAY is set.
int start_connect(const endpoint& to, const in_addr* source);

/// The source address for connection number `i` when spreading over
/// 127.0.0.0/8: 1000 connections per address from 127.1.0.1 upwards.
in_addr spread_source(std::size_t i);

/// Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the new
/// soft limit.
long raise_nofile_limit();

/// epoll with a pointer per descriptor; level-triggered.
class poller
{
public:
  poller();
  ~poller();
  poller(const poller&) = delete;
  poller& operator=(const poller&) = delete;
  void add(int fd, void* tag, std::uint32_t events);
  void modify(int fd, void* tag, std::uint32_t events);
  void remove(int fd);
  /// Waits up to `timeout_ms`; returns the ready events.
  std::span<const epoll_event> wait(int timeout_ms);

private:
  int fd_ = -1;
  std::array<epoll_event, 512> events_{};
};

/// A status line on stderr, rewritten in place, only when stderr is a
/// terminal; at most four updates a second.
class progress
{
public:
  progress();
  /// True when an update is due now (cheap; call often).
  bool due(std::uint64_t now) const noexcept { return enabled_ && now >= next_; }
  /// Shows `text` and schedules the next update.
  void show(std::uint64_t now, const std::string& text);
  /// Clears the line.
  void finish();

private:
  bool enabled_ = false;
  bool shown_ = false;
  std::uint64_t next_ = 0;
};

/// An ordered list of results, printed as a table or as one JSON object.
class report
{
public:
  explicit report(std::string mode) : mode_(std::move(mode)) {}
  /// A number: shown with `precision` decimals and `unit` in the table.
  void number(std::string key, std::string label, double value, int precision = 0,
              std::string unit = {});
  /// A string.
  void text(std::string key, std::string label, std::string value);
  /// Prints to stdout.
  void print(bool json) const;

private:
  struct row
  {
    std::string key, label, shown, json;
  };
  std::string mode_;
  std::vector<row> rows_;
};

/// Adds the CPU figures of `m` to `r`.
void report_cpu(report& r, const cpu_meter& m);

/// Adds p50, p99 and max of `h` to `r`, in milliseconds, keys prefixed.
void report_latency(report& r, const std::string& prefix, const std::string& what,
                    const latency_histogram& h);

/// The text of one line, without CR, from a buffer where it ends at `lf`.
inline std::string_view line_before(const char* begin, const char* lf) noexcept
{
  std::string_view s(begin, static_cast<std::size_t>(lf - begin));
  if (!s.empty() && s.back() == '\r')
    s.remove_suffix(1);
  return s;
}

/// If the 8 octets at `p` are all decimal digits, stores their value in
/// `out` (eight digits at once, with three multiplications) and returns
/// true. Little-endian loads, as on every machine natter-bench runs on.
inline bool parse_8_digits(const char* p, std::uint64_t& out) noexcept
{
  std::uint64_t w;
  std::memcpy(&w, p, sizeof w);
  // Each octet is 0x30..0x39: high nibble 3, and adding 6 does not carry.
  if ((w & 0xF0F0F0F0F0F0F0F0u) != 0x3030303030303030u ||
      ((w + 0x0606060606060606u) & 0xF0F0F0F0F0F0F0F0u) != 0x3030303030303030u)
    return false;
  w -= 0x3030303030303030u;
  w = w * 10 + (w >> 8); // pairs of digits in every other octet
  w = (((w & 0x000000FF000000FFu) * (100 + (1000000ull << 32))) +
       (((w >> 16) & 0x000000FF000000FFu) * (1 + (10000ull << 32)))) >>
      32;
  out = w;
  return true;
}

/// Parses a decimal prefix of `s`; advances `s` past it. Returns false when
/// there is no digit or the number does not fit. Inline, eight digits at a
/// time, and with no overflow check for the first 19 digits (they always
/// fit): it runs three times per delivery (a nanosecond timestamp has 14 or
/// more digits), and std::from_chars took a fifth of the generator's time
/// at fan-out 100.
inline bool parse_u64(std::string_view& s, std::uint64_t& out) noexcept
{
  constexpr std::size_t always_fits = 19;
  const std::size_t n = s.size() < always_fits ? s.size() : always_fits;
  std::uint64_t v = 0;
  std::size_t i = 0;
  for (std::uint64_t eight; i + 8 <= n && parse_8_digits(s.data() + i, eight); i += 8)
    v = v * 100000000u + eight;
  for (; i < n; ++i)
  {
    const auto d = static_cast<unsigned>(static_cast<unsigned char>(s[i])) - '0';
    if (d > 9)
      break;
    v = v * 10 + d;
  }
  if (i == 0)
    return false;
  for (; i < s.size(); ++i) // a 20th digit and on: checked
  {
    const auto d = static_cast<unsigned>(static_cast<unsigned char>(s[i])) - '0';
    if (d > 9)
      break;
    if (__builtin_mul_overflow(v, 10u, &v) || __builtin_add_overflow(v, d, &v))
      return false;
  }
  out = v;
  s.remove_prefix(i);
  return true;
}

/// Writes all of `data` to a blocking-or-not socket, best effort; returns
/// the number of octets written (less on EAGAIN or error).
std::size_t write_some(int fd, const char* data, std::size_t n) noexcept;

} // namespace natter::bench

#endif // NATTER_BENCH_COMMON_HPP
