// natterd's metrics endpoint (spec 13.2): `GET /metrics` over HTTP/1.x on
// a port of its own, never a chat port, accepted onto natterd's workers
// like any connection. One request per connection, then the connection
// closes. Bounded: a request (line and headers) of at most max_request
// octets (431 beyond), max_scrapers connections at once (503 to one
// more), and `timeout` to send the request and again to take the answer.
// Its acceptor is bound for --metrics, or is the socket systemd passed
// as "metrics" (listener::adopt).
#ifndef NATTER_SERVER_METRICS_LISTENER_HPP
#define NATTER_SERVER_METRICS_LISTENER_HPP

#include "natter/server/listener.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace natter::server
{

/// What the endpoint answers to a request's head (line and headers).
enum class http_verdict
{
  need_more,          ///< the head is not complete yet
  bad_request,        ///< 400: not an HTTP/1.x request line
  not_found,          ///< 404: a path other than /metrics
  method_not_allowed, ///< 405: /metrics with a method other than GET or HEAD
  too_large,          ///< 431: over max_request octets without its end
  metrics,            ///< 200 with the exposition
  metrics_head,       ///< 200 with the exposition's headers only (HEAD)
};

/// Judges `received`, the octets a client sent so far: a verdict as soon
/// as the request line is known to be bad, else once the head ends (an
/// empty line, CRLF or LF), else too_large past `max` octets.
http_verdict judge_request(std::string_view received, std::size_t max);

/// The metrics port's listener, and the scrapes it serves.
class metrics_listener final : public listener
{
public:
  /// Makes the exposition, at each scrape, on the scrape's worker thread.
  using render_fn = std::function<std::string()>;

  /// Scrapers served at once; one more is answered 503 and closed.
  static constexpr std::size_t max_scrapers = 4;
  /// A request's line and headers together, at most.
  static constexpr std::size_t max_request = 8 * 1024;
  /// Time to send a request, and then to take the answer.
  static constexpr std::chrono::seconds timeout{5};

  metrics_listener(asio::io_context& main, std::vector<std::unique_ptr<worker>>& workers,
                   render_fn render);

private:
  class exchange;
  void accepted(worker_socket socket, worker& w) override;

  render_fn render_;
  std::atomic<std::size_t> active_{0}; // exchanges under way
};

} // namespace natter::server

#endif // NATTER_SERVER_METRICS_LISTENER_HPP
