#include "support/process.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <utility>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace natter::test
{
namespace
{

using steady = std::chrono::steady_clock;

ms remaining(steady::time_point deadline)
{
  const auto left = std::chrono::duration_cast<ms>(deadline - steady::now());
  return left.count() > 0 ? left : ms(0);
}

/// The parent's environment with `extra` ("KEY=value") replacing or adding.
std::vector<std::string> make_env(const std::vector<std::string>& extra)
{
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e)
  {
    const std::string_view entry(*e);
    const std::string_view key = entry.substr(0, entry.find('='));
    bool overridden = false;
    for (const std::string& x : extra)
      if (std::string_view(x).substr(0, x.find('=')) == key)
        overridden = true;
    if (!overridden)
      env.emplace_back(entry);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

[[noreturn]] void exec_child(const std::vector<std::string>& argv,
                             const std::vector<std::string>& env)
{
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& e : env)
    envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  ::execve(args[0], args.data(), envp.data());
  std::_Exit(127);
}

/// Writes all of `data` with `write_some` (::write or ::send), retrying
/// after EINTR. False when the descriptor takes no more.
template <class WriteSome>
bool write_all(std::string_view data, WriteSome write_some)
{
  while (!data.empty())
  {
    const ssize_t n = write_some(data);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void close_fd(int& fd)
{
  if (fd != -1)
    ::close(fd);
  fd = -1;
}

} // namespace

std::string natter_path()
{
  return NATTER_CLIENT_PATH;
}

std::string natterd_path()
{
  return NATTERD_PATH;
}

// ---- child -----------------------------------------------------------------

child::child(child&& other) noexcept
{
  *this = std::move(other);
}

child& child::operator=(child&& other) noexcept
{
  if (this != &other)
  {
    stop();
    pid_ = std::exchange(other.pid_, -1);
    in_ = std::exchange(other.in_, -1);
    out_ = std::exchange(other.out_, -1);
    err_ = std::exchange(other.err_, -1);
    pty_ = other.pty_;
    status_ = other.status_;
    out_text_ = std::move(other.out_text_);
    err_text_ = std::move(other.err_text_);
  }
  return *this;
}

child::~child()
{
  stop();
}

child child::spawn_piped(const std::vector<std::string>& argv,
                         const std::vector<std::string>& extra_env)
{
  const std::vector<std::string> env = make_env(extra_env);
  int in[2];
  int out[2];
  int err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    return {};
  const pid_t pid = ::fork();
  if (pid == 0)
  {
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    exec_child(argv, env);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  child c;
  c.pid_ = pid;
  c.in_ = in[1];
  c.out_ = out[0];
  c.err_ = err[0];
  return c;
}

child child::spawn_pty(const std::vector<std::string>& argv,
                       const std::vector<std::string>& extra_env, unsigned short rows,
                       unsigned short cols)
{
  std::vector<std::string> with_term = {"TERM=xterm"};
  with_term.insert(with_term.end(), extra_env.begin(), extra_env.end());
  const std::vector<std::string> env = make_env(with_term);
  winsize ws{};
  ws.ws_row = rows;
  ws.ws_col = cols;
  int master = -1;
  const pid_t pid = ::forkpty(&master, nullptr, nullptr, &ws);
  if (pid == 0)
    exec_child(argv, env);
  if (pid < 0)
    return {};
  ::fcntl(master, F_SETFD, FD_CLOEXEC);
  child c;
  c.pid_ = pid;
  c.in_ = master;
  c.out_ = master;
  c.pty_ = true;
  return c;
}

std::optional<int> child::wait(ms timeout)
{
  if (status_)
    return WIFEXITED(*status_) ? std::optional<int>(WEXITSTATUS(*status_)) : std::nullopt;
  if (pid_ <= 0)
    return std::nullopt;
  const auto deadline = steady::now() + timeout;
  for (;;)
  {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_)
    {
      status_ = status;
      return WIFEXITED(status) ? std::optional<int>(WEXITSTATUS(status)) : std::nullopt;
    }
    if (r < 0 || steady::now() >= deadline)
      return std::nullopt;
    // Keep the pty drained so the child never blocks writing to it.
    if (pty_)
      read_some(out_, out_text_, ms(10));
    else
      ::usleep(5000);
  }
}

void child::signal(int signo)
{
  if (pid_ > 0 && !status_)
    ::kill(pid_, signo);
}

void child::stop()
{
  if (pid_ > 0 && !status_)
  {
    ::kill(pid_, SIGTERM);
    if (!wait(2s) && !status_)
    {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      status_ = status;
    }
  }
  if (in_ == out_)
    out_ = -1;
  close_fd(in_);
  close_fd(out_);
  close_fd(err_);
  pid_ = -1;
}

void child::close_stdin()
{
  if (!pty_)
    close_fd(in_);
}

bool child::write(std::string_view data)
{
  return write_all(data, [this](std::string_view d) { return ::write(in_, d.data(), d.size()); });
}

bool child::read_some(int fd, std::string& into, ms timeout, std::size_t max)
{
  if (fd < 0)
    return false;
  pollfd p{fd, POLLIN, 0};
  const int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (r <= 0)
    return true;
  char buf[4096];
  const ssize_t n = ::read(fd, buf, std::min(max, sizeof buf));
  if (n <= 0)
    return false; // EOF, or EIO on a pty whose child has gone
  into.append(buf, static_cast<std::size_t>(n));
  return true;
}

std::optional<std::size_t> child::wait_for(std::string_view text, ms timeout, std::size_t from)
{
  const auto deadline = steady::now() + timeout;
  for (;;)
  {
    if (from <= out_text_.size())
      if (const std::size_t at = out_text_.find(text, from); at != std::string::npos)
        return at + text.size();
    if (steady::now() >= deadline)
      return std::nullopt;
    if (!read_some(out_, out_text_, remaining(deadline)))
    {
      if (from <= out_text_.size())
        if (const std::size_t at = out_text_.find(text, from); at != std::string::npos)
          return at + text.size();
      return std::nullopt;
    }
  }
}

void child::drain(ms timeout)
{
  const auto deadline = steady::now() + timeout;
  bool out_open = out_ != -1;
  bool err_open = err_ != -1;
  while ((out_open || err_open) && steady::now() < deadline)
  {
    pollfd p[2] = {{out_open ? out_ : -1, POLLIN, 0}, {err_open ? err_ : -1, POLLIN, 0}};
    if (::poll(p, 2, static_cast<int>(remaining(deadline).count())) <= 0)
      break;
    char buf[4096];
    if (p[0].revents != 0)
    {
      const ssize_t n = ::read(out_, buf, sizeof buf);
      if (n <= 0)
        out_open = false;
      else
        out_text_.append(buf, static_cast<std::size_t>(n));
    }
    if (p[1].revents != 0)
    {
      const ssize_t n = ::read(err_, buf, sizeof buf);
      if (n <= 0)
        err_open = false;
      else
        err_text_.append(buf, static_cast<std::size_t>(n));
    }
  }
}

// ---- server ----------------------------------------------------------------

bool server::start(std::uint16_t chat_port, const std::vector<std::string>& extra_args)
{
  error_.clear();
  const std::string path = natterd_path();
  if (path.empty())
  {
    error_ = "natterd is not built";
    return false;
  }
  std::vector<std::string> argv = {path, "--chat-port", std::to_string(chat_port), "--echo-port",
                                   "0"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  proc_ = child::spawn_piped(argv);
  if (proc_.pid() <= 0)
  {
    error_ = "cannot start " + path;
    return false;
  }
  proc_.close_stdin();
  tls_port_ = 0;
  port_ = listening_port("chat");
  if (port_ != 0 &&
      std::find(extra_args.begin(), extra_args.end(), "--tls-port") != extra_args.end())
    tls_port_ = listening_port("tls");
  if (error_.empty())
    return true;
  proc_.stop();
  return false;
}

std::uint16_t server::listening_port(const std::string& service)
{
  const std::string marker = "natterd: " + service + " listening on ";
  const auto end = proc_.wait_for(marker, 10s);
  const auto eol = end ? proc_.wait_for("\n", 5s, *end) : std::nullopt;
  if (!eol)
  {
    error_ = "natterd did not say where it listens for " + service + "; output: " + proc_.out();
    return 0;
  }
  const std::string where = proc_.out().substr(*end, *eol - 1 - *end);
  const int port = std::atoi(where.substr(where.rfind(':') + 1).c_str());
  if (port <= 0 || port > 65535)
  {
    error_ = "cannot read the port from \"" + where + "\"";
    return 0;
  }
  return static_cast<std::uint16_t>(port);
}

void server::stop()
{
  proc_.stop();
}

std::string server::address() const
{
  return "127.0.0.1:" + std::to_string(port_);
}

std::string server::tls_address(const std::string& host) const
{
  return host + ":" + std::to_string(tls_port_);
}

// ---- reserved_port ---------------------------------------------------------

reserved_port::reserved_port()
{
  const int on = 1;
  const int off = 0;
  fd_ = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ != -1)
  {
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_addr = in6addr_any;
    socklen_t len = sizeof addr;
    if (::setsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) == 0 &&
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0 &&
        ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      port_ = ntohs(addr.sin6_port);
  }
  else if (fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); fd_ != -1)
  {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    socklen_t len = sizeof addr;
    if (::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0 &&
        ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      port_ = ntohs(addr.sin_port);
  }
  if (port_ == 0)
    close_fd(fd_);
}

reserved_port::~reserved_port()
{
  close_fd(fd_);
}

// ---- peer ------------------------------------------------------------------

peer::~peer()
{
  close();
}

bool peer::connect(std::uint16_t port)
{
  close();
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

void peer::adopt(int fd)
{
  close();
  fd_ = fd;
}

bool peer::join(std::uint16_t port, const std::string& nick)
{
  return connect(port) && send("NICK " + nick) && expect_prefix("200 ", 5s).has_value();
}

bool peer::send(std::string_view line)
{
  std::string framed(line);
  framed += "\r\n";
  return send_raw(framed);
}

bool peer::send_raw(std::string_view bytes)
{
  return write_all(bytes, [this](std::string_view d)
                   { return ::send(fd_, d.data(), d.size(), MSG_NOSIGNAL); });
}

std::size_t peer::send_some(std::string_view bytes)
{
  const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

bool peer::wait_closed(ms timeout)
{
  const auto deadline = steady::now() + timeout;
  for (;;)
  {
    buffer_.clear();
    const int got = receive(deadline);
    if (got <= 0)
      return got < 0;
  }
}

int peer::receive(std::chrono::steady_clock::time_point deadline)
{
  while (steady::now() < deadline)
  {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(remaining(deadline).count())) <= 0)
      continue;
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0)
      return -1;
    buffer_.append(buf, static_cast<std::size_t>(n));
    return 1;
  }
  return 0;
}

std::optional<std::string> peer::read_line(ms timeout)
{
  const auto deadline = steady::now() + timeout;
  for (;;)
  {
    if (const std::size_t lf = buffer_.find('\n'); lf != std::string::npos)
    {
      std::string line = buffer_.substr(0, lf);
      buffer_.erase(0, lf + 1);
      if (!line.empty() && line.back() == '\r')
        line.pop_back();
      return line;
    }
    if (receive(deadline) <= 0)
      return std::nullopt;
  }
}

bool peer::expect(std::string_view line, ms timeout, std::vector<std::string>* skipped)
{
  const auto deadline = steady::now() + timeout;
  while (auto got = read_line(remaining(deadline)))
  {
    if (*got == line)
      return true;
    if (skipped)
      skipped->push_back(std::move(*got));
  }
  return false;
}

std::optional<std::string> peer::expect_prefix(std::string_view prefix, ms timeout)
{
  const auto deadline = steady::now() + timeout;
  while (auto got = read_line(remaining(deadline)))
    if (got->starts_with(prefix))
      return got;
  return std::nullopt;
}

bool peer::sync(ms timeout, std::vector<std::string>* seen)
{
  const std::string token = "sync" + std::to_string(++sync_count_);
  return send("PING " + token) && expect("PONG " + token, timeout, seen);
}

void peer::close()
{
  close_fd(fd_);
  buffer_.clear();
}

// ---- listener --------------------------------------------------------------

std::string listener::address() const
{
  return "127.0.0.1:" + std::to_string(port());
}

bool listener::accept(peer& into, ms timeout)
{
  const int fd = socket_.accept(timeout);
  if (fd == -1)
    return false;
  into.adopt(fd);
  return true;
}

// ---- temp_dir --------------------------------------------------------------

temp_dir::temp_dir()
{
  std::string pattern = (std::filesystem::temp_directory_path() / "natter-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) != nullptr)
    path_ = pattern;
}

temp_dir::~temp_dir()
{
  std::error_code ignored;
  if (!path_.empty())
    std::filesystem::remove_all(path_, ignored);
}

} // namespace natter::test
