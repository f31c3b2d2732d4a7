#include "natterd_process.hpp"

#include "natter/core/greeting.hpp"
#include "natter/proto/greeting.hpp"
#include "natter/server/options.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>

namespace natter::test
{

namespace
{

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

int remaining_ms(steady::time_point until)
{
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - steady::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

/// What natterd greets with when started with `args` (argv[0] first).
std::string greeting_for(std::vector<std::string> args)
{
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  server::options opts;
  if (server::parse_options(static_cast<int>(argv.size()), argv.data(), opts))
    throw std::runtime_error("natterd would refuse these flags");
  std::string line = core::greeting_line(opts.chat);
  line.resize(line.size() - 2);
  return line;
}

unsigned short port_of(const std::string& line)
{
  return static_cast<unsigned short>(std::stoi(line.substr(line.rfind(':') + 1)));
}

} // namespace

natterd_process::natterd_process(std::vector<std::string> flags, unsigned long nofile,
                                 bool capture_log, bool log_is_journal)
{
  // NATTER_TEST_LOG=debug shows natterd's log when a test needs a look.
  const char* level = std::getenv("NATTER_TEST_LOG");
  // NATTERD=/path/to/natterd holds another build to these tests.
  const char* binary = std::getenv("NATTERD");
  std::vector<std::string> args{binary != nullptr ? binary : NATTERD_PATH, "--chat-port", "0",
                                "--echo-port", "0"};
  // A test that reads the log says at which level, on the command line or
  // in its --config file.
  if (std::find(flags.begin(), flags.end(), "--log-level") == flags.end() &&
      std::find(flags.begin(), flags.end(), "--config") == flags.end())
    args.insert(args.end(), {"--log-level", level != nullptr ? level : "warn"});
  args.insert(args.end(), flags.begin(), flags.end());
  greeting_ = greeting_for(args);
  const bool tls = std::find(flags.begin(), flags.end(), "--tls-port") != flags.end();
  const auto metrics_flag = std::find(flags.begin(), flags.end(), "--metrics");
  const bool metrics =
      metrics_flag != flags.end() && metrics_flag + 1 != flags.end() && metrics_flag[1] != "off";
  const long listening = 2 + (tls ? 1 : 0) + (metrics ? 1 : 0);
  int log_fd = -1;
  if (capture_log)
  {
    std::string path = (std::filesystem::temp_directory_path() / "natterd-log-XXXXXX").string();
    log_fd = ::mkstemp(path.data());
    if (log_fd < 0)
      throw std::runtime_error("mkstemp");
    log_path_ = path;
  }
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  // The child's environment is made here: after fork() only
  // async-signal-safe calls are allowed.
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e)
    if (!std::string_view(*e).starts_with("JOURNAL_STREAM=") || !log_is_journal)
      env.emplace_back(*e);
  if (log_is_journal)
  {
    struct stat st
    {
    };
    if (log_fd < 0 || ::fstat(log_fd, &st) != 0)
      throw std::runtime_error("log_is_journal needs capture_log");
    env.push_back("JOURNAL_STREAM=" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino));
  }
  std::vector<char*> envp;
  for (auto& e : env)
    envp.push_back(e.data());
  envp.push_back(nullptr);

  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe");
  pid_ = ::fork();
  if (pid_ < 0)
    throw std::runtime_error("fork");
  if (pid_ == 0)
  {
    ::dup2(out[1], 1);
    if (log_fd >= 0)
      ::dup2(log_fd, 2);
    if (nofile != 0)
    {
      rlimit rl{nofile, nofile};
      ::setrlimit(RLIMIT_NOFILE, &rl);
    }
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(out[1]);
  if (log_fd >= 0)
    ::close(log_fd);
  // Read the "listening" lines, bounded in time.
  std::string got;
  const auto until = steady::now() + 20s;
  while (std::count(got.begin(), got.end(), '\n') < listening)
  {
    pollfd p{out[0], POLLIN, 0};
    if (::poll(&p, 1, remaining_ms(until)) <= 0)
      break;
    char buf[512];
    const ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n <= 0)
      break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  std::istringstream lines(got);
  for (std::string line; std::getline(lines, line);)
  {
    if (line.starts_with("natterd: chat listening on "))
      chat_port_ = port_of(line);
    else if (line.starts_with("natterd: echo listening on "))
      echo_port_ = port_of(line);
    else if (line.starts_with("natterd: tls listening on "))
      tls_port_ = port_of(line);
    else if (line.starts_with("natterd: metrics listening on "))
    {
      metrics_port_ = port_of(line);
      metrics_address_ = line.substr(std::string_view("natterd: metrics listening on ").size());
    }
  }
  if (chat_port_ == 0 || echo_port_ == 0 || (tls && tls_port_ == 0) ||
      (metrics && metrics_port_ == 0))
    throw std::runtime_error("natterd did not start: '" + got + "'" +
                             (capture_log ? " log: " + log() : std::string()));
}

std::string natterd_process::log() const
{
  std::ifstream in(log_path_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool natterd_process::wait_log(const std::string& text, std::chrono::milliseconds limit) const
{
  for (const auto until = std::chrono::steady_clock::now() + limit;
       std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(20ms))
    if (log().find(text) != std::string::npos)
      return true;
  return log().find(text) != std::string::npos;
}

natterd_process::~natterd_process()
{
  if (pid_ > 0 && wait_exit(0ms) == -1)
  {
    // A clean stop first, so sanitizers get to report (and fail the test
    // through the exit status); then the hard way.
    signal(SIGTERM);
    // Generous: this is about a clean exit, not its timing (Lifecycle tests
    // time shutdown), and a TSan build on a loaded machine is slow.
    const int status = wait_exit(20s);
    if (status == -1)
    {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (status != 0)
      ADD_FAILURE() << "natterd did not exit cleanly on SIGTERM: status " << status;
  }
  if (!log_path_.empty())
    ::unlink(log_path_.c_str());
}

void natterd_process::signal(int signo) const
{
  ::kill(pid_, signo);
}

int natterd_process::wait_exit(std::chrono::milliseconds limit)
{
  const auto until = steady::now() + limit;
  for (;;)
  {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_)
    {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
    }
    if (steady::now() >= until)
      return -1;
    std::this_thread::sleep_for(10ms);
  }
}

long natterd_process::kernel_send_queue(unsigned short local, unsigned short remote) const
{
  // /proc/PID/net/tcp{,6}: "sl local rem st tx_queue:rx_queue ...", ports in
  // hex after the address; a dual-stack socket's IPv4 peers are in tcp6.
  char want_local[8];
  char want_remote[8];
  std::snprintf(want_local, sizeof want_local, ":%04X", local);
  std::snprintf(want_remote, sizeof want_remote, ":%04X", remote);
  for (const char* table : {"tcp", "tcp6"})
  {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/net/" + table);
    std::string line;
    std::getline(in, line); // header
    while (std::getline(in, line))
    {
      std::istringstream fields(line);
      std::string sl, loc, rem, st, queues;
      fields >> sl >> loc >> rem >> st >> queues;
      if (loc.ends_with(want_local) && rem.ends_with(want_remote))
        return std::stol(queues.substr(0, queues.find(':')), nullptr, 16);
    }
  }
  return -1;
}

long natterd_process::rss_kib() const
{
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("VmRSS:"))
      return std::stol(line.substr(6));
  return -1;
}

int natterd_process::open_fds() const
{
  int n = 0;
  DIR* d = ::opendir(("/proc/" + std::to_string(pid_) + "/fd").c_str());
  if (d == nullptr)
    return -1;
  while (::readdir(d) != nullptr)
    ++n;
  ::closedir(d);
  return n - 2;
}

long natterd_process::cpu_ticks() const
{
  std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i)
  {
    if (i == 14)
      utime = std::stol(field);
    if (i == 15)
      stime = std::stol(field);
  }
  return utime + stime;
}

client::client(const std::string& host, unsigned short port, int rcvbuf, const std::string& source)
{
  const bool v6 = host.find(':') != std::string::npos;
  fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0)
    throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  if (rcvbuf != 0)
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  int rc;
  if (v6)
  {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    ::inet_pton(AF_INET6, host.c_str(), &a.sin6_addr);
    rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  else
  {
    if (!source.empty())
    {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      ::inet_pton(AF_INET, source.c_str(), &local.sin_addr);
      if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0)
      {
        const int e = errno;
        ::close(fd_);
        throw std::runtime_error(std::string("bind: ") + std::strerror(e));
      }
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    ::inet_pton(AF_INET, host.c_str(), &a.sin_addr);
    rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  if (rc != 0)
  {
    const int e = errno;
    ::close(fd_);
    throw std::runtime_error(std::string("connect: ") + std::strerror(e));
  }
}

client::client(client&& other) noexcept : fd_(other.fd_), buf_(std::move(other.buf_))
{
  other.fd_ = -1;
}

client::~client()
{
  if (fd_ >= 0)
    ::close(fd_);
}

void client::send(std::string_view bytes)
{
  while (!bytes.empty())
  {
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, 5000) <= 0)
      throw std::runtime_error("send timed out");
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      continue;
    if (n < 0)
      throw std::runtime_error(std::string("send: ") + std::strerror(errno));
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::size_t client::try_send(std::string_view bytes)
{
  const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

std::string client::line(std::chrono::milliseconds limit)
{
  const auto until = steady::now() + limit;
  for (;;)
  {
    const std::size_t lf = buf_.find("\r\n");
    if (lf != std::string::npos)
    {
      std::string l = buf_.substr(0, lf);
      buf_.erase(0, lf + 2);
      return l;
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, remaining_ms(until)) <= 0)
      return "<timeout>";
    char tmp[65536];
    const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0)
      return "<closed>";
    buf_.append(tmp, static_cast<std::size_t>(n));
  }
}

std::vector<std::string> client::sync(const std::string& token)
{
  send("PING " + token + "\r\n");
  std::vector<std::string> before;
  for (int i = 0; i < 1000000; ++i)
  {
    std::string l = line();
    if (l == "PONG " + token)
      return before;
    if (l == "<timeout>" || l == "<closed>")
    {
      before.push_back(l);
      return before;
    }
    before.push_back(std::move(l));
  }
  return before;
}

std::string client::read_bytes(std::size_t n, std::chrono::milliseconds limit)
{
  const auto until = steady::now() + limit;
  std::string out = std::move(buf_);
  buf_.clear();
  if (out.size() > n)
  {
    buf_ = out.substr(n);
    out.resize(n);
  }
  while (out.size() < n)
  {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, remaining_ms(until)) <= 0)
      break;
    char tmp[65536];
    const ssize_t got = ::recv(fd_, tmp, std::min(sizeof tmp, n - out.size()), 0);
    if (got <= 0)
      break;
    out.append(tmp, static_cast<std::size_t>(got));
  }
  return out;
}

bool client::closed_within(std::chrono::milliseconds limit)
{
  const auto until = steady::now() + limit;
  for (;;)
  {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, remaining_ms(until)) <= 0)
      return false;
    char tmp[65536];
    const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0)
      return true;
  }
}

bool client::reset_within(std::chrono::milliseconds limit)
{
  // POLLERR and POLLHUP are reported whatever is asked for, and not while
  // unread data merely waits in the receive buffer.
  pollfd p{fd_, 0, 0};
  return ::poll(&p, 1, static_cast<int>(limit.count())) > 0 &&
         (p.revents & (POLLERR | POLLHUP)) != 0;
}

unsigned short client::local_port() const
{
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
  return a.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&a)->sin6_port)
                                 : ntohs(reinterpret_cast<sockaddr_in*>(&a)->sin_port);
}

void client::shutdown_send()
{
  ::shutdown(fd_, SHUT_WR);
}

client registered(unsigned short port, const std::string& nick, const std::string& host, int rcvbuf)
{
  client c(host, port, rcvbuf);
  c.send("NICK " + nick + "\r\n");
  if (proto::parse_greeting(c.line()).what != proto::greeting::status::ok)
    throw std::runtime_error("no greeting");
  const std::string reply = c.line();
  if (reply != "200 " + nick + " nick accepted")
    throw std::runtime_error("NICK " + nick + ": " + reply);
  return c;
}

std::string metrics_body(unsigned short port)
{
  client m("127.0.0.1", port);
  m.send("GET /metrics HTTP/1.0\r\n\r\n");
  if (m.line() != "HTTP/1.1 200 OK")
    return {};
  std::size_t length = 0;
  for (std::string h = m.line(); !h.empty() && !h.starts_with("<"); h = m.line())
    if (h.starts_with("Content-Length: "))
      length = std::stoul(h.substr(16));
  return m.read_bytes(length);
}

std::map<std::string, double> parsed_metrics(const std::string& exposition)
{
  const std::filesystem::path in =
      std::filesystem::temp_directory_path() / ("natter-metrics-" + std::to_string(::getpid()));
  std::ofstream(in) << exposition;
  const std::string cmd = "/usr/bin/python3 " NATTER_SOURCE_DIR
                          "/tests/server/parse_metrics.py < " +
                          in.string() + " 2>&1";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p != nullptr)
  {
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;)
      out.append(buf, n);
  }
  const int status = p != nullptr ? ::pclose(p) : -1;
  std::filesystem::remove(in);
  EXPECT_EQ(status, 0) << "the exposition does not parse: " << out << "\n" << exposition;
  std::map<std::string, double> s;
  std::istringstream lines(out);
  for (std::string l; std::getline(lines, l);)
  {
    if (l.starts_with("#"))
      continue;
    const auto sp = l.rfind(' ');
    s[l.substr(0, sp)] = std::stod(l.substr(sp + 1));
  }
  return s;
}

double metric(const std::string& exposition, const std::string& key)
{
  const std::string at = "\n" + key + " ";
  const std::size_t found = ("\n" + exposition).find(at);
  if (found == std::string::npos)
    return -1;
  return std::stod(exposition.substr(found + at.size() - 1));
}

run_result run_natterd(const std::string& flags)
{
  const std::string cmd = std::string(NATTERD_PATH) + " " + flags + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr)
    return {-1, "popen failed"};
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;)
    out.append(buf, n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

} // namespace natter::test
