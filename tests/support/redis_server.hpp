// Test support: a real redis-server of the test's own, on a free loopback
// port, with its own directory and configuration (never the system's
// service). Stopped, paused and restarted by its PID; gone with the object.
#ifndef NATTER_TESTS_SUPPORT_REDIS_SERVER_HPP
#define NATTER_TESTS_SUPPORT_REDIS_SERVER_HPP

#include <cstdint>
#include <string>
#include <sys/types.h>

namespace natter::test
{

class redis_server
{
public:
  /// Starts redis-server (found on PATH; a test fails, never skips, when it
  /// is missing) and waits until it answers PING. `persistent`: it writes
  /// an append-only file, so restart() keeps the data.
  explicit redis_server(bool persistent = false);
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;
  ~redis_server();

  std::uint16_t port() const noexcept { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const noexcept { return pid_; }

  /// SIGSTOP / SIGCONT: Redis stops answering, its connections stay open.
  void pause();
  void resume();

  /// Stops it (SIGTERM, waiting for its exit) and starts it again on the
  /// same port; `empty` removes its data first.
  void restart(bool empty);

  /// Stops it for good (also done by the destructor).
  void stop();

  /// Runs one command through redis-cli (`words` as its arguments, split
  /// at spaces) and returns what it printed; a failure throws.
  std::string command(const std::string& words) const;

private:
  void start();

  std::string dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool persistent_;
};

} // namespace natter::test

#endif // NATTER_TESTS_SUPPORT_REDIS_SERVER_HPP
