// Test support for the client's end-to-end tests: natterd on ephemeral ports,
// natter through pipes or a pseudo-terminal, and a raw protocol peer. Every
// wait has a deadline; every process started is stopped by its PID.
#ifndef NATTER_TESTS_CLIENT_SUPPORT_PROCESS_HPP
#define NATTER_TESTS_CLIENT_SUPPORT_PROCESS_HPP

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "support/loopback_listener.hpp"

namespace natter::test
{

using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

/// Path of the natter binary under test.
std::string natter_path();
/// Path of natterd, or empty when it is not built.
std::string natterd_path();

/// A started child process. Destruction stops it (SIGTERM, then SIGKILL
/// after a grace period) and reaps it.
class child
{
public:
  child() = default;
  child(const child&) = delete;
  child& operator=(const child&) = delete;
  child(child&& other) noexcept;
  child& operator=(child&& other) noexcept;
  ~child();

  /// Starts `argv` with stdin, stdout and stderr on pipes.
  static child spawn_piped(const std::vector<std::string>& argv,
                           const std::vector<std::string>& extra_env = {});
  /// Starts `argv` on a new pseudo-terminal of the given size; `out` is the
  /// master side for both directions.
  static child spawn_pty(const std::vector<std::string>& argv,
                         const std::vector<std::string>& extra_env = {}, unsigned short rows = 24,
                         unsigned short cols = 80);

  /// Waits up to `timeout` for the exit; returns the exit status, or
  /// nullopt on timeout or death by signal.
  std::optional<int> wait(ms timeout);
  /// Sends `signo` to the child.
  void signal(int signo);
  /// Stops the child now (SIGTERM, SIGKILL after a grace) and reaps it.
  void stop();
  /// Closes our end of its stdin (pipe mode).
  void close_stdin();

  /// Writes all of `data` to its stdin (pipe) or terminal (pty).
  bool write(std::string_view data);

  /// Reads what is available on `fd` (at most `max` octets) into `into`,
  /// waiting up to `timeout` for the first byte. Returns false at EOF.
  static bool read_some(int fd, std::string& into, ms timeout, std::size_t max = 4096);

  /// Reads at most `max` octets from stdout (pipe) or the terminal (pty),
  /// waiting up to `timeout` for them. Returns false at EOF.
  bool read_out(ms timeout, std::size_t max = 4096)
  {
    return read_some(out_, out_text_, timeout, max);
  }

  /// Reads from stdout (pipe) or the terminal (pty) until `text` appears at
  /// or after offset `from` of everything read so far, or `timeout` passes.
  /// Returns the offset just past the match, or nullopt.
  std::optional<std::size_t> wait_for(std::string_view text, ms timeout, std::size_t from = 0);

  /// Reads stdout and stderr to EOF (bounded by `timeout`).
  void drain(ms timeout);

  pid_t pid() const noexcept { return pid_; }
  int in_fd() const noexcept { return in_; }
  /// Everything read from stdout (or the terminal) so far.
  const std::string& out() const noexcept { return out_text_; }
  /// Everything read from stderr so far (pipe mode).
  const std::string& err() const noexcept { return err_text_; }

private:
  pid_t pid_ = -1;
  int in_ = -1;
  int out_ = -1;
  int err_ = -1;
  bool pty_ = false;
  std::optional<int> status_;
  std::string out_text_;
  std::string err_text_;
};

/// natterd on an ephemeral (or given) chat port, and a TLS port when
/// `extra_args` has `--tls-port`.
class server
{
public:
  /// Starts natterd; `chat_port` 0 picks a free port. Returns false (with
  /// the reason in `error()`) when it did not say where it listens in time.
  bool start(std::uint16_t chat_port = 0, const std::vector<std::string>& extra_args = {});
  /// Stops it by PID.
  void stop();
  std::uint16_t port() const noexcept { return port_; }
  /// The TLS port (0 without --tls-port).
  std::uint16_t tls_port() const noexcept { return tls_port_; }
  const std::string& error() const noexcept { return error_; }
  /// "127.0.0.1:PORT", for natter's command line.
  std::string address() const;
  /// "HOST:TLSPORT", for natter --tls.
  std::string tls_address(const std::string& host = "localhost") const;

private:
  /// The port of natterd's "<service> listening on <addr>:<port>" line, or
  /// 0 (with error_ set) when it does not say it in time.
  std::uint16_t listening_port(const std::string& service);

  child proc_;
  std::uint16_t port_ = 0;
  std::uint16_t tls_port_ = 0;
  std::string error_;
};

/// A TCP port held for natterd: a socket bound to it with SO_REUSEADDR that
/// never listens. natterd, which sets SO_REUSEADDR too, can listen on the
/// port while it is held; while no natterd listens there, Linux gives the
/// port to nobody else, since neither a bind() to port 0 nor the local end
/// of a connect() is given a port that a socket was bound to. So natterd can
/// be stopped and started again on the same port without another test's
/// server or client being given the port in between.
class reserved_port
{
public:
  /// Reserves a free port (dual-stack like natterd's "::", IPv4 without
  /// IPv6); port() is 0 when that failed.
  reserved_port();
  reserved_port(const reserved_port&) = delete;
  reserved_port& operator=(const reserved_port&) = delete;
  ~reserved_port();

  std::uint16_t port() const noexcept { return port_; }

private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

/// A plain protocol client over a loopback socket, to see exactly what the
/// room sees and to say things as someone else.
class peer
{
public:
  peer() = default;
  peer(const peer&) = delete;
  peer& operator=(const peer&) = delete;
  ~peer();

  /// Connects to 127.0.0.1:port.
  bool connect(std::uint16_t port);
  /// Takes over a connected socket (one that a listener accepted).
  void adopt(int fd);
  /// Connects and registers as `nick` (waits for the 200).
  bool join(std::uint16_t port, const std::string& nick);
  /// Sends `line` plus CRLF.
  bool send(std::string_view line);
  /// Sends `bytes` as they are, all of them.
  bool send_raw(std::string_view bytes);
  /// Sends as much of `bytes` as the socket takes without waiting; returns
  /// how much that was (0 when it is full or closed).
  std::size_t send_some(std::string_view bytes);
  /// Waits up to `timeout` for the other end to close, discarding what it
  /// sends meanwhile. True when it closed.
  bool wait_closed(ms timeout);
  /// Next line (without CRLF), or nullopt after `timeout`.
  std::optional<std::string> read_line(ms timeout);
  /// Reads lines until one equals `line`; the lines before it are appended
  /// to `skipped` when given. False on timeout.
  bool expect(std::string_view line, ms timeout, std::vector<std::string>* skipped = nullptr);
  /// Reads lines until one starts with `prefix` and returns it.
  std::optional<std::string> expect_prefix(std::string_view prefix, ms timeout);
  /// Sends PING and waits for its PONG: afterwards every line the server
  /// sent before has been read (into `seen` when given).
  bool sync(ms timeout, std::vector<std::string>* seen = nullptr);
  void close();

private:
  /// Reads what arrives by `deadline` into buffer_: 1 when something did,
  /// 0 when nothing, -1 when the other end closed.
  int receive(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string buffer_;
  unsigned sync_count_ = 0;
};

/// A listening socket on 127.0.0.1, for a hostile server that a test
/// writes itself: the test accepts natter's connections and speaks for the
/// server line by line, so it controls every octet natter receives.
class listener
{
public:
  /// Listens on an ephemeral loopback port; port() is 0 when that failed.
  std::uint16_t port() const noexcept { return socket_.port(); }
  /// "127.0.0.1:PORT", for natter's command line.
  std::string address() const;
  /// Waits up to `timeout` for a connection and hands it to `into`.
  bool accept(peer& into, ms timeout);

private:
  loopback_listener socket_;
};

/// A fresh, empty directory (for HOME), removed by the test's end.
class temp_dir
{
public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::string& path() const noexcept { return path_; }

private:
  std::string path_;
};

} // namespace natter::test

#endif // NATTER_TESTS_CLIENT_SUPPORT_PROCESS_HPP
