#include "natter/server/metrics_listener.hpp"

#include <algorithm>
#include <array>
#include <memory>
#include <stdexcept>

namespace natter::server
{

namespace
{

using asio::ip::tcp;

bool is_token(std::string_view s)
{
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'A' && c <= 'Z') || c == '-'; });
}

// "HTTP/1.0", "HTTP/1.1": the versions this endpoint speaks.
bool is_http1(std::string_view v)
{
  return v.size() == 8 && v.starts_with("HTTP/1.") && v[7] >= '0' && v[7] <= '9';
}

// An answer with a body, closing the connection after it; `head` leaves
// the body out (HEAD).
std::string answer(std::string_view status, std::string_view type, std::string_view body,
                   bool head = false, std::string_view extra = {})
{
  std::string out = "HTTP/1.1 ";
  out.append(status).append("\r\nContent-Type: ").append(type);
  out.append("\r\nContent-Length: ").append(std::to_string(body.size()));
  out.append("\r\nConnection: close\r\n").append(extra).append("\r\n");
  if (!head)
    out.append(body);
  return out;
}

std::string error_answer(std::string_view status, std::string_view extra = {})
{
  return answer(status, "text/plain; charset=utf-8", std::string(status) + "\n", false, extra);
}

std::string answer_for(http_verdict v, const metrics_listener::render_fn& render)
{
  switch (v)
  {
  case http_verdict::metrics:
  case http_verdict::metrics_head:
    return answer("200 OK", "text/plain; version=0.0.4", render(), v == http_verdict::metrics_head);
  case http_verdict::not_found: return error_answer("404 Not Found");
  case http_verdict::method_not_allowed:
    return error_answer("405 Method Not Allowed", "Allow: GET, HEAD\r\n");
  case http_verdict::too_large: return error_answer("431 Request Header Fields Too Large");
  case http_verdict::bad_request:
  case http_verdict::need_more: break;
  }
  return error_answer("400 Bad Request");
}

} // namespace

http_verdict judge_request(std::string_view in, std::size_t max)
{
  const std::size_t lf = in.find('\n');
  if (lf == std::string_view::npos)
    return in.size() > max ? http_verdict::too_large : http_verdict::need_more;
  // The request line: METHOD SP target SP HTTP/1.x (RFC 9112 section 3).
  std::string_view line = in.substr(0, lf);
  if (line.ends_with('\r'))
    line.remove_suffix(1);
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return http_verdict::bad_request;
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (!is_token(method) || target.empty() || !is_http1(line.substr(sp2 + 1)))
    return http_verdict::bad_request;
  // The head ends at its first empty line.
  const std::size_t end = std::min(in.find("\n\r\n", lf), in.find("\n\n", lf));
  if (end == std::string_view::npos || end > max)
    return in.size() > max ? http_verdict::too_large : http_verdict::need_more;
  if (target.substr(0, target.find('?')) != "/metrics")
    return http_verdict::not_found;
  if (method == "GET")
    return http_verdict::metrics;
  if (method == "HEAD")
    return http_verdict::metrics_head;
  return http_verdict::method_not_allowed;
}

/// One scrape: the request read under a deadline, the answer written under
/// another, then input drained until the scraper closes (closing on its
/// unread octets would reset the connection, which can destroy the answer
/// before it is read).
class metrics_listener::exchange : public std::enable_shared_from_this<exchange>
{
public:
  exchange(worker_socket socket, metrics_listener& owner)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), owner_(owner)
  {
  }

  void start()
  {
    arm();
    do_read();
  }

  asio::io_context::executor_type executor() { return socket_.get_executor(); }

private:
  void arm()
  {
    timer_.expires_after(timeout);
    timer_.async_wait(
        [self = shared_from_this()](const asio::error_code& ec)
        {
          if (!ec)
            self->finish();
        });
  }

  void do_read()
  {
    socket_.async_read_some(asio::buffer(buffer_),
                            [self = shared_from_this()](const asio::error_code& ec, std::size_t n)
                            { self->on_read(ec, n); });
  }

  void on_read(const asio::error_code& ec, std::size_t n)
  {
    if (done_)
      return;
    if (ec)
      return finish();
    request_.append(buffer_.data(), n);
    const http_verdict v = judge_request(request_, max_request);
    if (v == http_verdict::need_more)
      return do_read();
    request_.clear();
    response_ = answer_for(v, owner_.render_);
    arm(); // a deadline of its own to take the answer
    asio::async_write(socket_, asio::buffer(response_),
                      [self = shared_from_this()](const asio::error_code& wec, std::size_t)
                      {
                        if (self->done_)
                          return;
                        if (wec)
                          return self->finish();
                        self->response_.clear();
                        asio::error_code ignored;
                        self->socket_.shutdown(tcp::socket::shutdown_send, ignored);
                        self->do_drain();
                      });
  }

  void do_drain()
  {
    socket_.async_read_some(asio::buffer(buffer_),
                            [self = shared_from_this()](const asio::error_code& ec, std::size_t)
                            {
                              if (self->done_)
                                return;
                              if (ec)
                                return self->finish();
                              self->do_drain();
                            });
  }

  // Not in the destructor: at exit the io_contexts destroy pending
  // handlers, and with them exchanges, after the listener is gone.
  void finish()
  {
    if (done_)
      return;
    done_ = true;
    // The place is free before the scraper sees the close.
    owner_.active_.fetch_sub(1, std::memory_order_release);
    asio::error_code ignored;
    timer_.cancel();
    socket_.close(ignored);
  }

  worker_socket socket_;
  worker_timer timer_;
  metrics_listener& owner_;
  std::array<char, 1024> buffer_;
  std::string request_;
  std::string response_;
  bool done_ = false;
};

metrics_listener::metrics_listener(asio::io_context& main,
                                   std::vector<std::unique_ptr<worker>>& workers, render_fn render)
    : listener(main, workers, "metrics", "--metrics"), render_(std::move(render))
{
}

void metrics_listener::accepted(worker_socket socket, worker&)
{
  if (active_.fetch_add(1, std::memory_order_acquire) >= max_scrapers)
  {
    active_.fetch_sub(1, std::memory_order_relaxed);
    // A fresh socket takes these few octets at once.
    const std::string busy = error_answer("503 Service Unavailable");
    asio::error_code ignored;
    asio::write(socket, asio::buffer(busy), ignored);
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    socket.close(ignored);
    return;
  }
  // The acceptor runs on the first worker: the exchange starts on its own.
  auto x = std::make_shared<exchange>(std::move(socket), *this);
  asio::post(x->executor(), [x] { x->start(); });
}

} // namespace natter::server
