#include "redis_server.hpp"

#include "free_port.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace natter::test
{

namespace
{

// True once something answers "+PONG" on the port.
bool answers_ping(std::uint16_t port)
{
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = false;
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0)
  {
    timeval tv{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const char ping[] = "PING\r\n";
    char buf[16] = {};
    ok = ::write(fd, ping, sizeof ping - 1) == sizeof ping - 1 && ::read(fd, buf, 7) >= 5 &&
         std::strncmp(buf, "+PONG", 5) == 0;
  }
  if (fd >= 0)
    ::close(fd);
  return ok;
}

} // namespace

redis_server::redis_server(bool persistent) : persistent_(persistent)
{
  char tmpl[] = "/tmp/natter-redis-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr)
    throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  for (int attempt = 0; attempt < 5 && pid_ < 0; ++attempt)
  {
    port_ = free_port();
    start();
  }
  if (pid_ < 0)
    throw std::runtime_error("redis-server did not start; see " + dir_ + "/redis.log");
}

redis_server::~redis_server()
{
  stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void redis_server::start()
{
  {
    std::ofstream conf(dir_ + "/redis.conf");
    conf << "port " << port_ << "\nbind 127.0.0.1\nprotected-mode no\ndir " << dir_
         << "\nsave \"\"\nappendonly " << (persistent_ ? "yes" : "no")
         << "\nappendfsync always\nlogfile " << dir_ << "/redis.log\ndaemonize no\n";
  }
  const pid_t pid = ::fork();
  if (pid == 0)
  {
    const std::string conf = dir_ + "/redis.conf";
    ::execlp("redis-server", "redis-server", conf.c_str(), static_cast<char*>(nullptr));
    std::fprintf(stderr, "cannot run redis-server (install redis-server): %s\n",
                 std::strerror(errno));
    ::_exit(127);
  }
  if (pid < 0)
    throw std::runtime_error("fork failed");
  // Up to 10 s for it to answer, or for it to exit (a port taken, no binary).
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < until)
  {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid)
    {
      if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        throw std::runtime_error("redis-server is not installed (scripts/install-deps.sh)");
      return; // exited: start() is tried again on another port
    }
    if (answers_ping(port_))
    {
      pid_ = pid;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

void redis_server::pause()
{
  ::kill(pid_, SIGSTOP);
}

void redis_server::resume()
{
  ::kill(pid_, SIGCONT);
}

void redis_server::stop()
{
  if (pid_ < 0)
    return;
  ::kill(pid_, SIGCONT);
  ::kill(pid_, SIGTERM);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void redis_server::restart(bool empty)
{
  stop();
  if (empty)
  {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir_, ec))
      if (e.path().filename() != "redis.conf")
        std::filesystem::remove_all(e.path(), ec);
  }
  start();
  if (pid_ < 0)
    throw std::runtime_error("redis-server did not start again on port " + std::to_string(port_));
}

std::string redis_server::command(const std::string& words) const
{
  const std::string line = "redis-cli -p " + std::to_string(port_) + " " + words;
  FILE* p = ::popen(line.c_str(), "r");
  if (p == nullptr)
    throw std::runtime_error("cannot run " + line);
  std::string out;
  char buf[256];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;)
    out.append(buf, n);
  if (::pclose(p) != 0)
    throw std::runtime_error(line + " failed: " + out);
  return out;
}

} // namespace natter::test
