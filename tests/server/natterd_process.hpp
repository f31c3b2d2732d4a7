// Test support: a natterd child process on ephemeral ports, and a blocking
// line client with timeouts. Every wait is bounded.
#ifndef NATTER_TESTS_SERVER_NATTERD_PROCESS_HPP
#define NATTER_TESTS_SERVER_NATTERD_PROCESS_HPP

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace natter::test
{

/// Memory checks compare natterd's resident size before and after; under a
/// sanitizer (quarantine, shadow memory) that number means nothing.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool rss_is_meaningful = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool rss_is_meaningful = false;
#else
inline constexpr bool rss_is_meaningful = true;
#endif
#else
inline constexpr bool rss_is_meaningful = true;
#endif

/// Expects natterd's resident memory to have grown by less than `limit_kib`.
#define NATTER_EXPECT_RSS_GROWTH_BELOW(d, before, limit_kib)                                       \
  do                                                                                               \
  {                                                                                                \
    if (::natter::test::rss_is_meaningful)                                                         \
    {                                                                                              \
      EXPECT_LT((d).rss_kib() - (before), (limit_kib));                                            \
    }                                                                                              \
  } while (false)

/// natterd started with `--chat-port 0 --echo-port 0` plus extra flags.
class natterd_process
{
public:
  /// Starts natterd and waits for its "listening" lines. `nofile`, when
  /// non-zero, is the child's RLIMIT_NOFILE. With `capture_log`, natterd's
  /// log (its standard error) goes to a file that log() reads; with
  /// `log_is_journal` too, $JOURNAL_STREAM names that file's device and
  /// inode, as systemd's does when stderr is the journal.
  explicit natterd_process(std::vector<std::string> flags = {}, unsigned long nofile = 0,
                           bool capture_log = false, bool log_is_journal = false);
  natterd_process(const natterd_process&) = delete;
  natterd_process& operator=(const natterd_process&) = delete;
  /// Stops natterd with SIGKILL if it still runs.
  ~natterd_process();

  unsigned short chat_port() const noexcept { return chat_port_; }
  /// The TLS port, when started with --tls-port (0 otherwise).
  unsigned short tls_port() const noexcept { return tls_port_; }
  /// The metrics port, when started with --metrics (0 otherwise), and the
  /// address natterd said it listens on ("127.0.0.1:PORT").
  unsigned short metrics_port() const noexcept { return metrics_port_; }
  const std::string& metrics_address() const noexcept { return metrics_address_; }
  /// What natterd logged so far (with capture_log).
  std::string log() const;
  /// Waits up to `limit` for `text` to appear in log(); true once it has.
  bool wait_log(const std::string& text,
                std::chrono::milliseconds limit = std::chrono::seconds(10)) const;
  /// The greeting natterd sends with these flags, without CRLF: the one
  /// natterd's own option parser and greeting builder make of them.
  const std::string& greeting() const noexcept { return greeting_; }
  unsigned short echo_port() const noexcept { return echo_port_; }
  pid_t pid() const noexcept { return pid_; }

  /// Sends `signo` to natterd.
  void signal(int signo) const;

  /// Waits up to `limit` for natterd to exit; returns its exit status, or -1
  /// when it is still running (or died by a signal: -2).
  int wait_exit(std::chrono::milliseconds limit);

  /// Octets natterd's kernel holds unacknowledged or unsent on its socket
  /// from port `local` to the client port `remote` (tx_queue in
  /// /proc/PID/net/tcp), or -1 when there is no such socket.
  long kernel_send_queue(unsigned short local, unsigned short remote) const;

  /// Resident memory in KiB (VmRSS), from /proc.
  long rss_kib() const;

  /// Number of open descriptors, from /proc.
  int open_fds() const;

  /// User plus system CPU time in clock ticks, from /proc.
  long cpu_ticks() const;

private:
  pid_t pid_ = -1;
  std::string greeting_;
  unsigned short chat_port_ = 0;
  unsigned short echo_port_ = 0;
  unsigned short tls_port_ = 0;
  unsigned short metrics_port_ = 0;
  std::string metrics_address_;
  std::string log_path_;
};

/// A connected TCP socket with line helpers; reads time out after 5 s.
class client
{
public:
  /// Connects to `host` ("127.0.0.1" or "::1") at `port`. A non-zero
  /// `rcvbuf` sets SO_RCVBUF before connecting (after it, the window already
  /// advertised would make the kernel drop data and back off for seconds).
  /// A `source` (IPv4 only, such as "127.0.3.7") binds the local end first,
  /// so many short connections do not run out of ephemeral ports.
  client(const std::string& host, unsigned short port, int rcvbuf = 0,
         const std::string& source = {});
  client(client&& other) noexcept;
  client(const client&) = delete;
  client& operator=(const client&) = delete;
  ~client();

  /// Sends all of `bytes`.
  void send(std::string_view bytes);

  /// Sends without blocking; returns the number of octets the kernel took.
  std::size_t try_send(std::string_view bytes);

  /// The next line without CRLF; "<timeout>" or "<closed>" when none comes.
  std::string line(std::chrono::milliseconds limit = std::chrono::seconds(5));

  /// Reads lines until "PONG <token>" (the barrier) and returns those before.
  std::vector<std::string> sync(const std::string& token = "sync");

  /// Reads raw octets until `n` arrived, the peer closed or time ran out.
  std::string read_bytes(std::size_t n, std::chrono::milliseconds limit = std::chrono::seconds(5));

  /// True when the peer closed (EOF or reset) within `limit`, discarding
  /// anything that still arrives.
  bool closed_within(std::chrono::milliseconds limit);

  /// True when the connection was reset or closed by the peer within
  /// `limit`, without reading anything: what a client that never reads can
  /// observe of natterd's close.
  bool reset_within(std::chrono::milliseconds limit);

  /// The local port of this connection.
  unsigned short local_port() const;

  /// Shuts down the sending side.
  void shutdown_send();

  int fd() const noexcept { return fd_; }

private:
  int fd_ = -1;
  std::string buf_;
};

/// natterd run to its end: its exit status and what it wrote.
struct run_result
{
  int status;
  std::string output;
};

/// Runs natterd with `flags` (a shell word list) until it exits.
run_result run_natterd(const std::string& flags);

/// Connects and registers as `nick` (a greeting and the 200 consumed).
client registered(unsigned short port, const std::string& nick,
                  const std::string& host = "127.0.0.1", int rcvbuf = 0);

/// The body of natterd's answer to GET /metrics on 127.0.0.1:`port`;
/// empty unless the answer is a 200.
std::string metrics_body(unsigned short port);

/// The value of the sample `key` (`name` or `name{labels}`) in an
/// exposition, or -1 when it has none.
double metric(const std::string& exposition, const std::string& key);

/// What Prometheus's own parser (tests/server/parse_metrics.py, on Debian's
/// python3-prometheus-client) makes of `exposition`: its samples by
/// `name{labels}`. A parse failure fails the test.
std::map<std::string, double> parsed_metrics(const std::string& exposition);

} // namespace natter::test

#endif // NATTER_TESTS_SERVER_NATTERD_PROCESS_HPP
