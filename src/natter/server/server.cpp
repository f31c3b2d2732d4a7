#include "natter/server/server.hpp"

#include "natter/server/chat_connection.hpp"
#include "natter/server/echo_connection.hpp"
#include "natter/server/log.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <thread>
#include <vector>

namespace natter::server
{

namespace
{

using namespace std::chrono_literals;
using asio::ip::tcp;

// How long accepting pauses when the process is out of descriptors.
constexpr auto accept_backoff = 100ms;
// Shutdown: clients get this long to take their 521 before natterd exits
// (the spec allows 5 s in all).
constexpr auto shutdown_deadline = core::limits::shutdown_deadline;

// TCP keepalive on chat sockets (spec N-CONN-7).
constexpr int keepalive_idle_s = static_cast<int>(core::limits::keepalive_idle.count());
constexpr int keepalive_interval_s = static_cast<int>(core::limits::keepalive_interval.count());
constexpr int keepalive_probes = core::limits::keepalive_probes;

// A chat socket's kernel side: keepalive (N-CONN-7), and the bounds on what
// the kernel holds for a client that does not read (section 12): the send
// buffer's size, and how long output may wait unacknowledged or behind a
// zero window before the kernel drops the connection.
void set_chat_socket_options(worker_socket& s, const options& o)
{
  asio::error_code ec;
  s.set_option(asio::socket_base::keep_alive(true), ec);
  const int fd = s.native_handle();
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &keepalive_idle_s, sizeof keepalive_idle_s);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &keepalive_interval_s, sizeof keepalive_interval_s);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &keepalive_probes, sizeof keepalive_probes);
  if (o.sndbuf > 0)
  {
    const int size = static_cast<int>(o.sndbuf);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  }
  if (o.tcp_user_timeout.count() > 0)
  {
    const auto ms = static_cast<unsigned>(o.tcp_user_timeout.count());
    ::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms);
  }
}

bool is_loopback(const asio::ip::address& a)
{
  return a.is_loopback();
}

// Sends one 5xx line to a connection that gets no session, then closes it.
// The line is tiny and the socket's send buffer empty, so this never blocks.
void refuse(worker_socket& s, proto::reply_code code)
{
  std::string line;
  proto::append_reply(line, code, proto::reply_text(code));
  asio::error_code ec;
  asio::write(s, asio::buffer(line), ec);
  s.shutdown(tcp::socket::shutdown_send, ec);
  s.close(ec);
}

} // namespace

asio::ip::address canonical(const asio::ip::address& a)
{
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return a;
}

std::string to_string(const tcp::endpoint& ep)
{
  const asio::ip::address a = canonical(ep.address());
  std::string s = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
  return s + ":" + std::to_string(ep.port());
}

namespace
{

std::vector<std::unique_ptr<worker>> make_workers(unsigned n)
{
  std::vector<std::unique_ptr<worker>> w;
  for (unsigned i = 0; i < std::max(n, 1u); ++i)
    w.push_back(std::make_unique<worker>());
  return w;
}

} // namespace

server::server(const options& opts)
    : options_(opts), room_(opts.chat), workers_(make_workers(opts.threads)),
      signals_(main_context(), SIGINT, SIGTERM, SIGHUP), stop_timer_(main_context())
{
}

server::~server() = default;

void server::listen()
{
  if (options_.chat_port)
  {
    chat_ = std::make_unique<listener>(
        listener{tcp::acceptor(main_context()), asio::steady_timer(main_context()), true});
    open(*chat_, *options_.chat_port, "--chat-port");
  }
  if (options_.echo_port)
  {
    echo_ = std::make_unique<listener>(
        listener{tcp::acceptor(main_context()), asio::steady_timer(main_context()), false});
    open(*echo_, *options_.echo_port, "--echo-port");
  }
}

// Binds `l` to --bind and `port`; "::" is opened dual-stack and falls back to
// 0.0.0.0 on a host without IPv6.
void server::open(listener& l, unsigned short port, const char* flag)
{
  const char* service = l.chat ? "chat" : "echo";
  asio::error_code ec;
  asio::ip::address addr = asio::ip::make_address(options_.bind, ec);
  if (ec)
    throw std::runtime_error("bad address '" + options_.bind + "': " + ec.message() +
                             " (change --bind)");
  tcp::endpoint ep(addr, port);
  l.acceptor.open(ep.protocol(), ec);
  if (ec && addr.is_v6() && addr.to_v6().is_unspecified())
  {
    ep = tcp::endpoint(tcp::v4(), port);
    l.acceptor.open(ep.protocol(), ec);
  }
  if (!ec)
  {
    if (ep.address().is_v6())
      l.acceptor.set_option(asio::ip::v6_only(false), ec);
    l.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    ec.clear();
    l.acceptor.bind(ep, ec);
  }
  if (!ec)
    l.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error(std::string("cannot listen for the ") + service + " service on " +
                             to_string(ep) + ": " + ec.message() + " (change " + flag + ")");
  const tcp::endpoint bound = l.acceptor.local_endpoint();
  std::printf("natterd: %s listening on %s\n", service, to_string(bound).c_str());
  std::fflush(stdout);
}

int server::run()
{
  if (chat_)
    do_accept(*chat_);
  if (echo_)
    do_accept(*echo_);
  do_await_signal();
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < workers_.size(); ++i)
    threads.emplace_back([w = workers_[i].get()] { w->run(); });
  workers_.front()->run();
  for (auto& t : threads)
    t.join();
  log(log_level::info, "stopped");
  return 0;
}

void server::do_accept(listener& l)
{
  // New connections go to the workers in turn, and stay on theirs.
  worker& w = *workers_[next_worker_];
  next_worker_ = (next_worker_ + 1) % workers_.size();
  l.acceptor.async_accept(w.context(),
                          [this, &l, &w](const asio::error_code& ec, worker_socket socket)
                          { on_accept(l, w, ec, std::move(socket)); });
}

void server::on_accept(listener& l, worker& w, const asio::error_code& ec, worker_socket socket)
{
  if (!l.acceptor.is_open() || stopping())
    return;
  if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
      ec == asio::error::no_memory || ec.value() == ENFILE)
  {
    // Out of descriptors: accepting again at once would spin on the same
    // error. Pause; closing connections meanwhile frees descriptors.
    if (!l.paused)
      log(log_level::warn, std::string("accept: ") + ec.message() + "; pausing accepts");
    l.paused = true;
    l.backoff.expires_after(accept_backoff);
    l.backoff.async_wait(
        [this, &l](const asio::error_code& wait_ec)
        {
          if (!wait_ec)
            do_accept(l);
        });
    return;
  }
  if (!ec)
  {
    if (l.paused)
      log(log_level::info, "accepting again");
    l.paused = false;
    if (l.chat)
      accept_chat(std::move(socket), w);
    else
      accept_echo(std::move(socket));
  }
  do_accept(l);
}

void server::accept_chat(worker_socket socket, worker& w)
{
  asio::error_code ec;
  const tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec)
    return;
  if (const auto refusal = admit(peer.address()))
  {
    log(log_level::info,
        "chat " + to_string(peer) + " refused: " + std::string(proto::reply_text(*refusal)));
    refuse(socket, *refusal);
    return;
  }
  set_chat_socket_options(socket, options_);
  socket.set_option(tcp::no_delay(true), ec);
  auto c = std::make_shared<chat_connection>(std::move(socket), peer, *this, w);
  {
    std::lock_guard lock(mutex_);
    ++chats_;
  }
  if (log_enabled(log_level::info))
    log(log_level::info, "chat " + to_string(peer) + " connected");
  c->start();
}

// Counts a new chat connection in; returns the refusal when over a limit.
std::optional<proto::reply_code> server::admit(const asio::ip::address& raw)
{
  const asio::ip::address addr = canonical(raw);
  std::lock_guard lock(mutex_);
  if (chats_ >= options_.max_clients)
    return proto::reply_code::server_full;
  const bool exempt = options_.max_per_ip == 0 || (options_.loopback_exempt && is_loopback(addr));
  if (!exempt)
  {
    std::size_t& n = per_ip_[addr];
    if (n >= options_.max_per_ip)
      return proto::reply_code::too_many_from_address;
    ++n;
  }
  return std::nullopt;
}

void server::chat_closed(const tcp::endpoint& peer, std::string_view reason)
{
  {
    std::lock_guard lock(mutex_);
    --chats_;
    const asio::ip::address addr = canonical(peer.address());
    const auto it = per_ip_.find(addr);
    if (it != per_ip_.end() && --it->second == 0)
      per_ip_.erase(it);
  }
  if (log_enabled(log_level::info))
    log(log_level::info, "chat " + to_string(peer) + " disconnected: " + std::string(reason));
}

void server::accept_echo(worker_socket socket)
{
  std::shared_ptr<echo_connection> c;
  {
    std::lock_guard lock(mutex_);
    if (echoes_.size() >= options_.echo_max_clients)
    {
      asio::error_code ec;
      socket.close(ec);
      return;
    }
    c = std::make_shared<echo_connection>(std::move(socket), *this, options_.echo_idle_timeout);
    echoes_.emplace(c.get(), c);
  }
  c->start();
}

void server::echo_holds(std::ptrdiff_t delta)
{
  const std::size_t now =
      echo_held_.fetch_add(static_cast<std::size_t>(delta), std::memory_order_relaxed) +
      static_cast<std::size_t>(delta);
  if (delta <= 0 || now <= options_.echo_max_total_sendq)
    return;
  // Over the echo service's total (spec N-ECHOSVC-9): the connections
  // holding the most are closed first, as for chat. Closing runs on each
  // one's own thread; one already chosen is not counted twice.
  std::vector<std::pair<std::size_t, std::shared_ptr<echo_connection>>> held;
  {
    std::lock_guard lock(mutex_);
    for (auto& [p, w] : echoes_)
      if (auto c = w.lock(); c && !c->closing())
        held.emplace_back(c->holding(), std::move(c));
  }
  std::sort(held.begin(), held.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  std::size_t total = 0;
  for (const auto& h : held)
    total += h.first;
  for (const auto& [bytes, c] : held)
  {
    if (total <= options_.echo_max_total_sendq || bytes == 0)
      break;
    c->shut_down();
    total -= bytes;
  }
}

void server::echo_closed(echo_connection* c)
{
  std::lock_guard lock(mutex_);
  echoes_.erase(c);
}

void server::do_await_signal()
{
  signals_.async_wait(
      [this](const asio::error_code& ec, int signo)
      {
        if (ec)
          return;
        if (signo == SIGHUP)
          log(log_level::info, "SIGHUP ignored");
        else if (stopping())
        {
          log(log_level::warn, "second signal: exiting now");
          std::_Exit(1);
        }
        else
        {
          log(log_level::info,
              signo == SIGTERM ? "SIGTERM: shutting down" : "SIGINT: shutting down");
          begin_shutdown();
        }
        do_await_signal();
      });
}

// Spec section 13: stop accepting, 521 to every chat client, flush under a
// hard deadline, exit 0.
void server::begin_shutdown()
{
  stopping_ = true;
  asio::error_code ignored;
  for (listener* l : {chat_.get(), echo_.get()})
    if (l != nullptr)
    {
      l->acceptor.close(ignored);
      l->backoff.cancel();
    }
  // Each chat connection's worker writes the 521 in its next flush.
  room_.shut_down_all();
  std::vector<std::shared_ptr<echo_connection>> echoes;
  {
    std::lock_guard lock(mutex_);
    for (auto& [p, w] : echoes_)
      if (auto c = w.lock())
        echoes.push_back(std::move(c));
  }
  for (auto& c : echoes)
    c->shut_down();
  hard_deadline_ = core::clock::now() + shutdown_deadline;
  check_stopped();
}

// Polls until every connection is gone or the deadline passed, then stops
// the io_context (which abandons whatever is still pending).
void server::check_stopped()
{
  bool empty = false;
  {
    std::lock_guard lock(mutex_);
    empty = chats_ == 0 && echoes_.empty();
  }
  if (empty || core::clock::now() >= hard_deadline_)
  {
    signals_.cancel();
    for (const auto& w : workers_)
      w->stop();
    return;
  }
  stop_timer_.expires_after(20ms);
  stop_timer_.async_wait(
      [this](const asio::error_code& ec)
      {
        if (!ec)
          check_stopped();
      });
}

} // namespace natter::server
