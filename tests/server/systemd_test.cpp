// natterd under systemd (spec 13.1): sockets passed by systemd-socket-activate
// in place of the ports the flags name [N-SHUT-11] [N-SHUT-12] [N-SHUT-13],
// and the datagrams natterd sends to $NOTIFY_SOCKET [N-SHUT-14]. No systemd needs to
// run: systemd-socket-activate passes sockets as systemd does, and the test
// binds the notification socket itself.
#include "natterd_process.hpp"

#include "support/free_port.hpp"
#include "support/test_pki.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace
{

using namespace natter::test;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

int remaining_ms(steady::time_point until)
{
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - steady::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

/// True when a TCP connection to 127.0.0.1:`port` is refused.
bool refused(unsigned short port)
{
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool no =
      ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno == ECONNREFUSED;
  ::close(fd);
  return no;
}

/// CLOCK_MONOTONIC in microseconds, the clock of MONOTONIC_USEC=.
unsigned long long monotonic_usec()
{
  timespec t{};
  ::clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<unsigned long long>(t.tv_sec) * 1000000ULL +
         static_cast<unsigned long long>(t.tv_nsec) / 1000ULL;
}

/// Lines from a pipe, each wait bounded.
class pipe_reader
{
public:
  explicit pipe_reader(int fd) : fd_(fd) {}
  pipe_reader(const pipe_reader&) = delete;
  pipe_reader& operator=(const pipe_reader&) = delete;
  ~pipe_reader() { ::close(fd_); }

  /// The next line without its LF; "<timeout>" or "<closed>" when none comes.
  std::string line(std::chrono::milliseconds limit = 20s)
  {
    const auto until = steady::now() + limit;
    std::size_t lf;
    while ((lf = buf_.find('\n')) == std::string::npos)
      if (!fill(remaining_ms(until)))
        return eof_ ? "<closed>" : "<timeout>";
    std::string l = buf_.substr(0, lf);
    buf_.erase(0, lf + 1);
    return l;
  }

  /// Lines until one contains `text` (returned), or "<timeout>"/"<closed>".
  std::string find(std::string_view text, std::chrono::milliseconds limit = 20s)
  {
    const auto until = steady::now() + limit;
    for (;;)
    {
      std::string l = line(std::chrono::milliseconds(remaining_ms(until)));
      if (l.find(text) != std::string::npos || l == "<timeout>" || l == "<closed>")
        return l;
    }
  }

  /// Everything written so far that no line() took, without waiting.
  std::string written_now()
  {
    while (fill(0))
    {
    }
    return std::exchange(buf_, {});
  }

private:
  bool fill(int timeout_ms)
  {
    pollfd p{fd_, POLLIN, 0};
    if (eof_ || ::poll(&p, 1, timeout_ms) <= 0)
      return false;
    char tmp[4096];
    const ssize_t n = ::read(fd_, tmp, sizeof tmp);
    if (n <= 0)
    {
      eof_ = true;
      return false;
    }
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }

  int fd_;
  std::string buf_;
  bool eof_ = false;
};

/// A process with its standard output and error read by the test, its
/// environment this one's without any systemd variable, plus `env`.
class child
{
public:
  child(std::vector<std::string> args, std::vector<std::string> env = {})
  {
    for (char** e = environ; *e != nullptr; ++e)
    {
      const std::string_view v(*e);
      if (!v.starts_with("NOTIFY_SOCKET=") && !v.starts_with("LISTEN_") &&
          !v.starts_with("JOURNAL_STREAM="))
        env.emplace_back(v);
    }
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : env)
      envp.push_back(e.data());
    envp.push_back(nullptr);
    int out[2];
    int err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ < 0)
      throw std::runtime_error("fork");
    if (pid_ == 0)
    {
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    out_ = std::make_unique<pipe_reader>(out[0]);
    err_ = std::make_unique<pipe_reader>(err[0]);
  }
  child(const child&) = delete;
  child& operator=(const child&) = delete;

  /// Stops it with SIGTERM (SIGKILL after 20 s) if it still runs.
  ~child()
  {
    if (pid_ > 0 && wait_exit(0ms) == -1)
    {
      ::kill(pid_, SIGTERM);
      if (wait_exit(20s) == -1)
      {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
      }
    }
  }

  pipe_reader& out() { return *out_; }
  pipe_reader& err() { return *err_; }
  void signal(int signo) const { ::kill(pid_, signo); }

  /// Its exit status within `limit`; -1 while it runs, -2 if killed.
  int wait_exit(std::chrono::milliseconds limit)
  {
    const auto until = steady::now() + limit;
    for (;;)
    {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_)
      {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
      }
      if (steady::now() >= until)
        return -1;
      std::this_thread::sleep_for(10ms);
    }
  }

private:
  pid_t pid_ = -1;
  std::unique_ptr<pipe_reader> out_;
  std::unique_ptr<pipe_reader> err_;
};

/// natterd under systemd-socket-activate, which listens on 127.0.0.1 at
/// `ports`, names the sockets `names` ("chat:echo") and starts natterd
/// (with `flags`) on the first connection, passing them.
child activated(const std::vector<unsigned short>& ports, const std::string& names,
                std::vector<std::string> flags, bool datagram = false)
{
  std::vector<std::string> args{SYSTEMD_SOCKET_ACTIVATE};
  if (datagram)
    args.emplace_back("--datagram");
  for (const unsigned short p : ports)
    args.push_back("--listen=127.0.0.1:" + std::to_string(p));
  args.push_back("--fdname=" + names);
  args.emplace_back(NATTERD_PATH);
  args.insert(args.end(), flags.begin(), flags.end());
  return child(std::move(args));
}

/// Waits until systemd-socket-activate listens on all `n` sockets.
void await_listening(child& c, std::size_t n)
{
  for (std::size_t i = 0; i < n; ++i)
  {
    const std::string l = c.err().find("Listening on ");
    ASSERT_TRUE(l.starts_with("Listening on ")) << l;
  }
}

/// A unix datagram socket natterd's $NOTIFY_SOCKET names.
class notify_socket
{
public:
  notify_socket()
  {
    dir_ = std::filesystem::temp_directory_path() / "natterd-notify-XXXXXX";
    std::string d = dir_.string();
    if (::mkdtemp(d.data()) == nullptr)
      throw std::runtime_error("mkdtemp");
    dir_ = d;
    path_ = (dir_ / "notify").string();
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path_.c_str(), sizeof a.sun_path - 1);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error(std::string("notify socket: ") + std::strerror(errno));
  }
  notify_socket(const notify_socket&) = delete;
  notify_socket& operator=(const notify_socket&) = delete;
  ~notify_socket()
  {
    ::close(fd_);
    std::filesystem::remove_all(dir_);
  }

  /// NOTIFY_SOCKET=<path>, for natterd's environment.
  std::string env() const { return "NOTIFY_SOCKET=" + path_; }

  /// The next datagram, or "<timeout>".
  std::string next(std::chrono::milliseconds limit = 20s)
  {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0)
      return "<timeout>";
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n < 0 ? "<error>" : std::string(buf, static_cast<std::size_t>(n));
  }

private:
  std::filesystem::path dir_;
  std::string path_;
  int fd_ = -1;
};

/// The value of `key` in a datagram of KEY=VALUE lines ("" when absent).
std::string field(const std::string& datagram, const std::string& key)
{
  const std::string line = "\n" + datagram + "\n";
  const std::size_t at = line.find("\n" + key + "=");
  if (at == std::string::npos)
    return {};
  const std::size_t from = at + key.size() + 2;
  return line.substr(from, line.find('\n', from) - from);
}

/// The port of `service` in a STATUS= of "chat [::]:7777, echo [::]:7".
unsigned short status_port(const std::string& status, const std::string& service)
{
  const std::size_t at = status.find(service + " ");
  if (at == std::string::npos)
    return 0;
  const std::size_t end = status.find(',', at);
  const std::string ep = status.substr(at, end == std::string::npos ? end : end - at);
  return static_cast<unsigned short>(std::stoi(ep.substr(ep.rfind(':') + 1)));
}

// --- socket activation ---

// The connection is made to the socket before natterd exists: the kernel
// queues it, and natterd, started by it, serves it. The passed socket
// replaces --chat-port 7777; --echo-port, with no socket passed, binds.
TEST(SystemdSocket, AConnectionMadeBeforeNatterdStartsIsServed)
{
  const unsigned short port = free_port();
  child sa = activated({port}, "chat", {"--chat-port", "7777", "--echo-port", "0"});
  await_listening(sa, 1);
  client c("127.0.0.1", port);
  EXPECT_TRUE(c.line().starts_with("220 natter/1 ")); // natterd started and greeted it
  c.send("NICK early\r\n");
  EXPECT_EQ(c.line(), "200 early nick accepted");
  EXPECT_EQ(sa.out().line(), "natterd: chat listening on 127.0.0.1:" + std::to_string(port));
  const std::string echo = sa.out().line();
  ASSERT_TRUE(echo.starts_with("natterd: echo listening on ")) << echo;
  const auto echo_port = static_cast<unsigned short>(std::stoi(echo.substr(echo.rfind(':') + 1)));
  client e("127.0.0.1", echo_port);
  e.send("bound by natterd\n");
  EXPECT_EQ(e.read_bytes(17), "bound by natterd\n");
  sa.signal(SIGTERM);
  EXPECT_EQ(c.line(), "521 server shutting down");
  EXPECT_EQ(sa.wait_exit(10s), 0);
  // Nothing bound 7777: no line after those two.
  EXPECT_EQ(sa.out().line(), "<closed>");
}

// Each socket goes to the service its name names, whatever its place, and
// replaces the ports of --chat-port and --echo-port (7777 and 7).
TEST(SystemdSocket, EachNamedSocketIsServedByItsService)
{
  const unsigned short echo_port = free_port();
  const unsigned short chat_port = free_port();
  child sa = activated({echo_port, chat_port}, "echo:chat", {});
  await_listening(sa, 2);
  client e("127.0.0.1", echo_port);
  e.send("first\n");
  EXPECT_EQ(e.read_bytes(6), "first\n");
  client c("127.0.0.1", chat_port);
  EXPECT_TRUE(c.line().starts_with("220 natter/1 "));
  EXPECT_EQ(sa.out().line(), "natterd: chat listening on 127.0.0.1:" + std::to_string(chat_port));
  EXPECT_EQ(sa.out().line(), "natterd: echo listening on 127.0.0.1:" + std::to_string(echo_port));
  sa.signal(SIGTERM);
  EXPECT_EQ(sa.wait_exit(10s), 0);
  EXPECT_EQ(sa.out().line(), "<closed>");
}

// A socket whose service is off is closed, with a warning naming it.
TEST(SystemdSocket, ASocketForAServiceThatIsOffIsClosed)
{
  const unsigned short chat_port = free_port();
  const unsigned short tls_port = free_port();
  const unsigned short metrics_port = free_port();
  child sa =
      activated({chat_port, tls_port, metrics_port}, "chat:tls:metrics", {"--echo-port", "off"});
  await_listening(sa, 3);
  client c("127.0.0.1", chat_port);
  EXPECT_TRUE(c.line().starts_with("220 natter/1 "));
  const std::string warning = sa.err().find("passed as 'tls'");
  EXPECT_NE(warning.find("is not used (--tls-port is off)"), std::string::npos) << warning;
  const std::string metrics = sa.err().find("passed as 'metrics'");
  EXPECT_NE(metrics.find("is not used (--metrics is off)"), std::string::npos) << metrics;
  EXPECT_TRUE(refused(tls_port));
  EXPECT_TRUE(refused(metrics_port));
}

// The socket passed as "metrics" serves the scrapes of --metrics, whose
// own address natterd then binds nothing for.
TEST(SystemdSocket, TheMetricsSocketServesScrapes)
{
  const unsigned short chat_port = free_port();
  const unsigned short metrics_port = free_port();
  const unsigned short unbound = free_port();
  child sa = activated({chat_port, metrics_port}, "chat:metrics",
                       {"--echo-port", "off", "--metrics", std::to_string(unbound)});
  await_listening(sa, 2);
  client c("127.0.0.1", chat_port);
  EXPECT_TRUE(c.line().starts_with("220 natter/1 "));
  c.sync(); // its connection is counted by the PONG
  const std::string body = metrics_body(metrics_port);
  EXPECT_EQ(metric(body, "natter_connections{service=\"chat\"}"), 1) << body;
  EXPECT_EQ(sa.out().find("metrics listening"),
            "natterd: metrics listening on 127.0.0.1:" + std::to_string(metrics_port));
  EXPECT_TRUE(refused(unbound));
  sa.signal(SIGTERM);
  EXPECT_EQ(sa.wait_exit(10s), 0);
}

// A name natterd does not know: one line naming it, status 1, nothing served.
TEST(SystemdSocket, AnUnknownNameIsRefused)
{
  const unsigned short port = free_port();
  child sa = activated({port}, "chatter", {"--echo-port", "off"});
  await_listening(sa, 1);
  client c("127.0.0.1", port);
  EXPECT_EQ(sa.wait_exit(10s), 1);
  const std::string why = sa.err().find("'chatter'");
  EXPECT_TRUE(why.starts_with("natterd: ")) << why;
  EXPECT_NE(why.find("FileDescriptorName"), std::string::npos) << why;
  EXPECT_EQ(sa.out().line(), "<closed>");
}

// One service, one socket: two under one name are refused, status 1.
TEST(SystemdSocket, TwoSocketsUnderOneNameAreRefused)
{
  const unsigned short one = free_port();
  const unsigned short two = free_port();
  child sa = activated({one, two}, "chat:chat", {"--echo-port", "off"});
  await_listening(sa, 2);
  client c("127.0.0.1", two);
  EXPECT_EQ(sa.wait_exit(10s), 1);
  const std::string why = sa.err().find("two sockets as 'chat'");
  EXPECT_TRUE(why.starts_with("natterd: ")) << why;
}

// A datagram socket is no listening stream socket: status 1.
TEST(SystemdSocket, ASocketThatDoesNotListenIsRefused)
{
  const unsigned short port = free_port();
  child sa = activated({port}, "chat", {"--echo-port", "off"}, true);
  await_listening(sa, 1);
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&a), sizeof a), 1);
  ::close(fd);
  EXPECT_EQ(sa.wait_exit(10s), 1);
  const std::string why = sa.err().find("not a listening TCP socket");
  EXPECT_TRUE(why.starts_with("natterd: ")) << why;
}

// --- sd_notify ---

/// natterd with $NOTIFY_SOCKET naming a socket of the test's.
class SystemdNotify : public ::testing::Test
{
protected:
  /// Starts natterd with `flags`; returns the first datagram it sends.
  std::string start(std::vector<std::string> flags)
  {
    flags.insert(flags.begin(), NATTERD_PATH);
    natterd.emplace(std::move(flags), std::vector<std::string>{ns.env()});
    return ns.next();
  }

  notify_socket ns;
  std::optional<child> natterd; // stopped before ns goes
};

// READY=1 comes once natterd accepts: the test connects only after it, to
// the ports its STATUS= names, and is served at once.
TEST_F(SystemdNotify, ReadyOnceEveryListenerAccepts)
{
  const std::string ready = start({"--chat-port", "0", "--echo-port", "0", "--log-level", "warn"});
  ASSERT_EQ(field(ready, "READY"), "1") << ready;
  const std::string status = field(ready, "STATUS");
  const unsigned short chat = status_port(status, "chat");
  const unsigned short echo = status_port(status, "echo");
  ASSERT_NE(chat, 0) << status;
  ASSERT_NE(echo, 0) << status;
  client c("127.0.0.1", chat);
  EXPECT_TRUE(c.line().starts_with("220 natter/1 "));
  client e("127.0.0.1", echo);
  e.send("ready\n");
  EXPECT_EQ(e.read_bytes(6), "ready\n");
  EXPECT_EQ(ns.next(0ms), "<timeout>"); // nothing more while it just serves
}

// SIGHUP: RELOADING=1 with the monotonic time of the reload, then READY=1
// once the certificate is reloaded (its log line is written by then).
TEST_F(SystemdNotify, ReloadingThenReadyAroundSighup)
{
  test_pki pki;
  const issued pair = pki.issue("natterd");
  const std::string ready =
      start({"--chat-port", "0", "--echo-port", "off", "--tls-port", "0", "--tls-cert",
             pair.cert.string(), "--tls-key", pair.key.string(), "--log-level", "info"});
  ASSERT_EQ(field(ready, "READY"), "1") << ready;
  EXPECT_NE(status_port(field(ready, "STATUS"), "tls"), 0) << ready;
  const unsigned long long before = monotonic_usec();
  natterd->signal(SIGHUP);
  const std::string reloading = ns.next();
  const unsigned long long after = monotonic_usec();
  EXPECT_EQ(field(reloading, "RELOADING"), "1") << reloading;
  const std::string usec = field(reloading, "MONOTONIC_USEC");
  ASSERT_FALSE(usec.empty()) << reloading;
  EXPECT_GE(std::stoull(usec), before);
  EXPECT_LE(std::stoull(usec), after);
  const std::string again = ns.next();
  EXPECT_EQ(field(again, "READY"), "1") << again;
  EXPECT_NE(natterd->err().written_now().find("tls: reloaded (SIGHUP)"), std::string::npos);
  // Still serving.
  const unsigned short chat = status_port(field(again, "STATUS"), "chat");
  client c("127.0.0.1", chat);
  EXPECT_TRUE(c.line().starts_with("220 natter/1 "));
}

// SIGTERM: STOPPING=1 before the clients hear 521, and exit 0.
TEST_F(SystemdNotify, StoppingWhenTheShutdownBegins)
{
  const std::string ready =
      start({"--chat-port", "0", "--echo-port", "off", "--log-level", "warn"});
  ASSERT_EQ(field(ready, "READY"), "1") << ready;
  client a = registered(status_port(field(ready, "STATUS"), "chat"), "a");
  natterd->signal(SIGTERM);
  EXPECT_EQ(a.line(), "521 server shutting down");
  const std::string stopping = ns.next(0ms); // sent before the 521
  EXPECT_EQ(field(stopping, "STOPPING"), "1") << stopping;
  EXPECT_EQ(natterd->wait_exit(10s), 0);
  EXPECT_EQ(ns.next(0ms), "<timeout>");
}

} // namespace
