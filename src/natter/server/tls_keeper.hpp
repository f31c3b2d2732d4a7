// The TLS port's certificate and key (spec 3.1): loaded and checked at
// start, reloaded on SIGHUP and when either file changes on disk. A new
// pair is served to new connections only once it passed every check; live
// connections keep theirs; a pair that fails keeps the old one, with one
// log line and a count (and a count of the reloads that succeed).
#ifndef NATTER_SERVER_TLS_KEEPER_HPP
#define NATTER_SERVER_TLS_KEEPER_HPP

#include "natter/server/options.hpp"
#include "natter/tls/context.hpp"

#include <asio.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace natter::server
{

class tls_keeper
{
public:
  /// Loads the pair. Throws std::runtime_error naming the flag of the file
  /// at fault (natterd then exits 1).
  tls_keeper(asio::io_context& main, const options::tls_options& o);
  tls_keeper(const tls_keeper&) = delete;
  tls_keeper& operator=(const tls_keeper&) = delete;

  /// Loads and checks the pair as the constructor and every reload do.
  /// Throws std::runtime_error naming the flag of the file at fault.
  static std::shared_ptr<const tls::server_context>
  load(const options::tls_options& o, std::shared_ptr<const tls::ticket_keys> tickets = nullptr);

  /// The pair new connections get (from any thread).
  std::shared_ptr<const tls::server_context> current() const;

  /// Starts looking at the files every --tls-check-interval.
  void start();
  /// Stops looking (shutdown).
  void stop();

  /// Loads the pair again (`why`: "SIGHUP", "file change") and serves it
  /// if it passes (true); otherwise logs and counts the failure.
  bool reload(const char* why);

  /// Loads the pair of `cert` and `key` instead (a reloaded --config,
  /// N-SHUT-16) and serves it if it passes; a pair that fails keeps the
  /// old files and the old pair. True when it served the new pair.
  bool reload(const char* why, const std::string& cert, const std::string& key);

  /// Failed reloads since start.
  std::uint64_t failures() const noexcept { return failures_.load(); }

  /// Reloads since start that served a new pair.
  std::uint64_t reloads() const noexcept { return reloads_.load(); }

private:
  /// What the files look like on disk: a change of any part is a change.
  struct look
  {
    bool operator==(const look&) const = default;
    long long cert_mtime_ns = -1, key_mtime_ns = -1;
    long long cert_size = -1, key_size = -1;
    unsigned long long cert_inode = 0, key_inode = 0;
  };
  look look_now() const;
  void schedule();

  options::tls_options options_;
  std::shared_ptr<const tls::ticket_keys> tickets_; // every pair's, so reloads keep tickets
  asio::steady_timer timer_;
  mutable std::mutex mutex_;
  std::shared_ptr<const tls::server_context> current_;
  look seen_;
  std::atomic<std::uint64_t> failures_{0};
  std::atomic<std::uint64_t> reloads_{0};
  bool stopped_ = false;
};

} // namespace natter::server

#endif // NATTER_SERVER_TLS_KEEPER_HPP
