// A connection to Redis over hiredis's blocking API, for natterd's cluster
// threads (spec/natter.md section 17). Blocking on purpose: each of a node's
// Redis threads owns one connection and nothing else, so a read with a
// deadline (the socket's timeout) is the whole of failure detection, which
// hiredis 0.14's asynchronous API does not offer. Chat text only ever goes
// out as an argument of an argv-style command, never through a format.
#ifndef NATTER_CLUSTER_REDIS_HPP
#define NATTER_CLUSTER_REDIS_HPP

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct redisContext;
struct redisReply;

namespace natter::cluster
{

/// Where Redis is: `redis://[:PASSWORD@]HOST:PORT[/DB]` or
/// `unix:///path/to/socket` (natterd's --redis).
struct redis_address
{
  std::string host;        ///< empty for a unix socket
  std::uint16_t port = 0;  ///< TCP only
  std::string socket_path; ///< unix only
  std::string password;    ///< empty: no AUTH
  unsigned db = 0;

  /// Parses a URL; throws std::invalid_argument with the reason.
  static redis_address parse(std::string_view url);

  /// The URL without its password, for logs.
  std::string shown() const;
};

/// The connection failed (or was never made): the command's outcome is
/// unknown. What Redis answered with an error reply is a redis_error.
struct redis_io_error : std::runtime_error
{
  using std::runtime_error::runtime_error;
};
struct redis_error : std::runtime_error
{
  using std::runtime_error::runtime_error;
};

/// One reply, owned. Nested replies are views into their parent.
class reply
{
public:
  reply() = default;
  explicit reply(redisReply* r) noexcept : r_(r), owner_(r) {}
  reply(redisReply* r, std::nullptr_t) noexcept : r_(r) {}
  reply(reply&&) noexcept;
  reply& operator=(reply&&) noexcept;
  ~reply();

  bool is_nil() const noexcept;
  bool is_array() const noexcept;
  bool is_error() const noexcept;
  /// A string, status or error reply's text (an integer's digits).
  std::string_view str() const noexcept;
  long long integer() const;
  std::size_t size() const noexcept; ///< elements of an array
  reply operator[](std::size_t i) const noexcept;

private:
  redisReply* r_ = nullptr;
  redisReply* owner_ = nullptr;
};

/// One connection.
class redis
{
public:
  /// Connects, authenticates and selects the database, each within
  /// `timeout`, which also bounds every later read (set_timeout changes
  /// it). Throws redis_io_error.
  redis(const redis_address& where, std::chrono::milliseconds timeout);
  redis(const redis&) = delete;
  redis& operator=(const redis&) = delete;
  ~redis();

  /// How long a read may wait before the connection counts as lost.
  void set_timeout(std::chrono::milliseconds t);

  /// Sends one command and waits for its reply. An error reply is thrown
  /// as redis_error; a failed connection as redis_io_error, after which
  /// this object is unusable.
  reply command(std::span<const std::string_view> argv);
  reply command(std::initializer_list<std::string_view> argv)
  {
    return command(std::span<const std::string_view>(argv.begin(), argv.size()));
  }

  /// Pipelining: append() several, then one read() per append, in order.
  /// read() returns error replies (is_error()) rather than throwing them.
  void append(std::span<const std::string_view> argv);
  reply read();

private:
  [[noreturn]] void fail(std::string_view what);
  redisContext* c_;
};

/// The Lua library of natterd's cluster functions (natter.lua), as loaded
/// by FUNCTION LOAD REPLACE.
std::string_view functions_source() noexcept;

} // namespace natter::cluster

#endif // NATTER_CLUSTER_REDIS_HPP
