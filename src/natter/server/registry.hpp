// natterd's one registry of live connections: chat connections in all and
// per client address (what admission needs, spec section 10), and the echo
// connections (to close at shutdown, or the largest holders when their
// total is passed). Thread-safe; tells its owner when the last connection
// is gone, so shutdown ends on that event rather than by polling.
#ifndef NATTER_SERVER_REGISTRY_HPP
#define NATTER_SERVER_REGISTRY_HPP

#include "natter/proto/reply.hpp"

#include <asio.hpp>

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

namespace natter::server
{

class echo_connection;
struct options;

/// The live connections.
class registry
{
public:
  /// The limits admission applies: --max-clients, --max-per-ip,
  /// --no-loopback-exempt, --echo-max-clients.
  struct limits
  {
    std::size_t max_clients = 0;
    std::size_t max_per_ip = 0; ///< 0: no limit
    bool loopback_exempt = true;
    std::size_t echo_max_clients = 0;

    /// Those of `opts`.
    static limits of(const options& opts) noexcept;
  };

  explicit registry(const options& opts) : limits_(limits::of(opts)) {}

  /// From now on, connections are admitted under `l`; those open stay
  /// (a reload, N-SHUT-16).
  void set_limits(const limits& l);

  /// Counts a new chat connection from `addr` in; returns the refusal
  /// (503, 504) when it is over a limit, and then counts nothing.
  std::optional<proto::reply_code> admit_chat(const asio::ip::address& addr);

  /// A chat connection counted in by admit_chat() ended.
  void chat_gone(const asio::ip::address& addr);

  /// Counts a connection to the TLS port in for its handshake, which holds
  /// no chat slot (spec 3.1): at most --max-clients handshakes at once,
  /// --max-per-ip per address. Beyond either, nothing is counted and the
  /// answer is the limit's code (503, 504), as for admit_chat().
  std::optional<proto::reply_code> admit_handshake(const asio::ip::address& addr);

  /// A handshake counted in by admit_handshake() ended.
  void handshake_gone(const asio::ip::address& addr);

  /// Registers an echo connection; false (nothing registered) when
  /// --echo-max-clients are open.
  bool add_echo(const std::shared_ptr<echo_connection>& c);

  /// An echo connection ended.
  void echo_gone(echo_connection* c);

  /// The echo connections still open.
  std::vector<std::shared_ptr<echo_connection>> echoes() const;

  /// From now on, `last_gone` runs (on the thread of the connection that
  /// ended) when no connection is left; at once if none is.
  void on_empty(std::function<void()> last_gone);

private:
  /// Connections in all and per address, under --max-clients and
  /// --max-per-ip.
  struct pool
  {
    std::size_t total = 0;
    std::map<asio::ip::address, std::size_t> per_ip;
  };
  std::optional<proto::reply_code> admit(pool& p, const asio::ip::address& addr);
  void gone(pool& p, const asio::ip::address& addr);
  void check_empty(std::unique_lock<std::mutex>& lock);

  limits limits_; // under mutex_
  mutable std::mutex mutex_;
  pool chats_;
  pool handshakes_;
  std::unordered_map<echo_connection*, std::weak_ptr<echo_connection>> echoes_;
  std::function<void()> last_gone_;
};

/// The address a client is counted under: IPv4-mapped IPv6 becomes IPv4.
asio::ip::address canonical(const asio::ip::address& a);

} // namespace natter::server

#endif // NATTER_SERVER_REGISTRY_HPP
