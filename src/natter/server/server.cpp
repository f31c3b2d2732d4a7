#include "natter/server/server.hpp"

#include "natter/server/chat_connection.hpp"
#include "natter/server/echo_connection.hpp"
#include "natter/server/log.hpp"
#include "natter/server/tls_handshake.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <unistd.h>
#include <vector>

namespace natter::server
{

namespace
{

using namespace std::chrono_literals;
using asio::ip::tcp;

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

// natterd's own limit of connections in all is something to act on; one
// address's limit is that client's affair.
log_level refusal_level(proto::reply_code why)
{
  return why == proto::reply_code::server_full ? log_level::warn : log_level::info;
}

// Sends one 5xx line to a connection that gets no session, then closes it.
// The line is tiny and the socket's send buffer empty, so this never blocks.
void refuse(worker_socket& s, proto::reply_code code)
{
  std::string line;
  proto::append_reply(line, code, proto::reply_text(code));
  asio::error_code ec;
  count_refusal(code);
  count_sent(service::chat, asio::write(s, asio::buffer(line), ec));
  s.shutdown(tcp::socket::shutdown_send, ec);
  s.close(ec);
}

} // namespace

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

// --node-id's default: the host name and the chat port (a port chosen by
// the kernel is not known yet: the process id instead).
std::string default_node_id(const options& opts)
{
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0')
    std::strcpy(host, "natterd");
  const unsigned port = opts.chat_port.value_or(0);
  return std::string(host) + ":" +
         (port != 0 ? std::to_string(port) : "pid" + std::to_string(::getpid()));
}

} // namespace

server::server(const options& opts)
    : options_(opts), room_(opts.chat), registry_(options_), workers_(make_workers(opts.threads)),
      signals_(main_context(), SIGINT, SIGTERM, SIGHUP), stop_timer_(main_context())
{
  const bool clustered = !opts.cluster.redis.empty();
  // A block for each worker and, in a cluster, for each of the node's
  // threads, which call the room too.
  if (options_.metrics)
    metrics_ =
        std::make_unique<metrics>(workers_.size() + (clustered ? cluster::node::threads : 0));
  if (clustered)
  {
    cluster::node::settings s;
    s.where = cluster::redis_address::parse(opts.cluster.redis);
    s.id.prefix = opts.cluster.prefix;
    s.id.node = opts.cluster.node_id.empty() ? default_node_id(opts) : opts.cluster.node_id;
    s.id.run = core::random_epoch(); // a new name for every start
    s.id.lease = opts.cluster.node_timeout;
    s.id.log_max = opts.cluster.log;
    s.backlog = opts.cluster.backlog;
    s.log = [](bool warning, const std::string& line)
    { log(warning ? log_level::warn : log_level::info, line); };
    if (metrics_)
      s.on_thread = [this](std::size_t i) { metrics_->bind_thread(workers_.size() + i); };
    cluster_ = std::make_unique<cluster::node>(std::move(s), room_);
    room_.set_cluster(*cluster_);
  }
}

server::~server() = default;

void server::check(const options& opts)
{
  if (opts.chat_port || opts.tls.port || opts.echo_port)
    listener::address(opts.bind);
  if (opts.tls.port)
    tls_keeper::load(opts.tls);
}

void server::listen()
{
  // Under socket activation a socket systemd passed replaces the port its
  // service's flag names, and a service with none passed listens as its
  // flags say (N-SHUT-11); a socket for a service that is off is closed
  // (N-SHUT-12).
  passed_.emplace(passed_sockets::from_environment({"chat", "tls", "echo", "metrics"}));
  if (cluster_)
  {
    // The chat and TLS ports open once the node has joined the cluster; it
    // waits for Redis meanwhile, logging every attempt (N-CLU-22).
    cluster_->on_joined([this] { asio::post(main_context(), [this] { open_chat(); }); });
    cluster_->start();
  }
  else
    open_chat();
  if (options_.echo_port)
  {
    echo_ = std::make_unique<echo_listener>(*this, main_context(), workers_);
    listen_on(*echo_, "echo", options_.bind, *options_.echo_port);
  }
  else
    passed_->discard("echo", "--echo-port is off");
  // Open at once, in a cluster too: a node waiting for Redis is seen.
  if (options_.metrics)
  {
    // The scrapes are rendered on the workers' threads, from every block.
    metrics_port_ = std::make_unique<metrics_listener>(
        main_context(), workers_,
        [this]
        {
          std::optional<cluster::node::counts> c;
          if (cluster_)
            c = cluster_->stats();
          return metrics_->render(room_, tls_shown_.load(), c ? &*c : nullptr);
        });
    listen_on(*metrics_port_, "metrics", options_.metrics->address, options_.metrics->port);
  }
  else
    passed_->discard("metrics", "--metrics is off");
}

void server::listen_on(listener& l, const char* name, const std::string& bind, unsigned short port)
{
  if (const int fd = passed_->take(name); fd >= 0)
    l.adopt(fd);
  else
    l.open(bind, port);
}

// The chat service's listeners: at once on a single server, once joined in
// a cluster (then from the main context, while the others run).
void server::open_chat()
{
  if (stopping())
    return;
  if (options_.chat_port)
  {
    chat_ = std::make_unique<chat_listener>(*this, main_context(), workers_);
    listen_on(*chat_, "chat", options_.bind, *options_.chat_port);
  }
  else
    passed_->discard("chat", "--chat-port is off");
  if (options_.tls.port)
  {
    tls_ = std::make_unique<tls_keeper>(main_context(), options_.tls);
    tls_chat_ = std::make_unique<chat_listener>(*this, main_context(), workers_, true);
    tls_shown_.store(tls_.get());
    listen_on(*tls_chat_, "tls", options_.bind, *options_.tls.port);
  }
  else
    passed_->discard("tls", "--tls-port is off");
  if (started_)
  {
    start_chat();
    notify_ready(listening()); // a cluster's node: serving from now on
  }
}

void server::run_worker(std::size_t i)
{
  if (metrics_)
    metrics_->bind_thread(i);
  workers_[i]->run();
}

void server::start_chat()
{
  if (chat_)
    chat_->start();
  if (tls_chat_)
  {
    tls_chat_->start();
    tls_->start();
  }
}

int server::run()
{
  started_ = true;
  start_chat();
  if (echo_)
    echo_->start();
  if (metrics_port_)
    metrics_port_->start();
  do_await_signal();
  // Posted, so that systemd hears READY=1 once the accept loops run (a
  // cluster's node says it once it has joined: open_chat).
  if (!cluster_)
    asio::post(main_context(), [this] { notify_ready(listening()); });
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < workers_.size(); ++i)
    threads.emplace_back([this, i] { run_worker(i); });
  run_worker(0);
  for (auto& t : threads)
    t.join();
  // The departures of the shutdown reach the cluster (N-CLU-11).
  if (cluster_)
    cluster_->stop(shutdown_deadline);
  log(log_level::info, "stopped");
  return 0;
}

void server::accept_chat(worker_socket socket, worker& w, bool tls)
{
  count_connection(&thread_counters::accepted, tls ? service::tls : service::chat);
  if (stopping())
    return;
  asio::error_code ec;
  const tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec)
    return;
  if (tls)
  {
    // A handshake holds no chat slot; handshakes have a pool of their own
    // of the same size (spec 3.1). Beyond it the connection is closed at
    // once: nothing can be said to it before TLS.
    if (const auto refusal = registry_.admit_handshake(peer.address()))
    {
      log(refusal_level(*refusal), "tls " + to_string(peer) + " refused: too many TLS handshakes");
      return;
    }
    count_connection(&thread_counters::opened, service::tls);
    set_chat_socket_options(socket, options_);
    socket.set_option(tcp::no_delay(true), ec);
    std::make_shared<tls_handshake>(std::move(socket), peer, *this, w, tls_->current())->start();
    return;
  }
  if (const auto refusal = registry_.admit_chat(peer.address()))
  {
    log(refusal_level(*refusal),
        "chat " + to_string(peer) + " refused: " + std::string(proto::reply_text(*refusal)));
    refuse(socket, *refusal);
    return;
  }
  count_connection(&thread_counters::opened, service::chat);
  set_chat_socket_options(socket, options_);
  socket.set_option(tcp::no_delay(true), ec);
  if (log_enabled(log_level::info))
    log(log_level::info, "chat " + to_string(peer) + " connected");
  std::make_shared<chat_connection>(std::move(socket), peer, *this, w)->start();
}

std::optional<proto::reply_code> server::tls_established(const tcp::endpoint& peer)
{
  registry_.handshake_gone(peer.address());
  const auto refusal = registry_.admit_chat(peer.address());
  if (refusal)
    log(refusal_level(*refusal),
        "tls " + to_string(peer) + " refused: " + std::string(proto::reply_text(*refusal)));
  else if (log_enabled(log_level::info))
    log(log_level::info, "tls " + to_string(peer) + " connected");
  return refusal;
}

void server::tls_failed(const tcp::endpoint& peer, std::string_view reason)
{
  log(log_level::info, "tls " + to_string(peer) + " closed: " + std::string(reason));
  registry_.handshake_gone(peer.address());
}

void server::chat_closed(const tcp::endpoint& peer, std::string_view reason)
{
  if (log_enabled(log_level::info))
    log(log_level::info, "chat " + to_string(peer) + " disconnected: " + std::string(reason));
  registry_.chat_gone(peer.address());
}

void server::accept_echo(worker_socket socket)
{
  count_connection(&thread_counters::accepted, service::echo);
  if (stopping())
    return;
  auto c = std::make_shared<echo_connection>(std::move(socket), *this, options_.echo_idle_timeout);
  if (registry_.add_echo(c))
  {
    count_connection(&thread_counters::opened, service::echo);
    c->start();
  }
  // else: --echo-max-clients reached; closed at once, nothing sent [N-ECHOSVC-5]
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
  for (auto& c : registry_.echoes())
    if (!c->closing())
      held.emplace_back(c->holding(), std::move(c));
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
  registry_.echo_gone(c);
}

// SIGHUP: the TLS pair (N-SHUT-8) and, with --config, what of the file
// can change under live connections (N-SHUT-15, N-SHUT-16). On the main
// thread, as the TLS keeper's own checks are.
void server::reload()
{
  if (options_.config_file.empty())
  {
    if (tls_)
      tls_->reload("SIGHUP");
    else
      log(log_level::info, "SIGHUP: nothing to reload");
    return;
  }
  log(log_level::info, "SIGHUP: reading " + options_.config_file + " again");
  options next;
  if (const auto why = parse_again(options_.command_line, next))
  {
    log(log_level::warn, "SIGHUP: nothing changed: " + *why);
    if (tls_)
      tls_->reload("SIGHUP");
    return;
  }
  const auto shown = [](const std::string& v) { return v.empty() ? std::string("none") : v; };
  constexpr std::array<std::string_view, 4> admission{"--max-clients", "--max-per-ip",
                                                      "--no-loopback-exempt", "--echo-max-clients"};
  bool new_limits = false;
  bool new_pair = false;
  for (const auto& [flag, value] : next.values)
  {
    std::string& running = options_.values[flag];
    if (value == running)
      continue;
    const std::string now =
        "SIGHUP: " + flag + " is now " + shown(value) + " (was " + shown(running) + ")";
    if (flag == "--log-level")
    {
      log(log_level::info, now); // before a stricter level hides it
      set_log_level(next.level);
      options_.level = next.level;
    }
    else if (std::find(admission.begin(), admission.end(), flag) != admission.end())
    {
      log(log_level::info, now + ", for new connections");
      new_limits = true;
    }
    else if (tls_ && (flag == "--tls-cert" || flag == "--tls-key"))
    {
      log(log_level::info, now);
      new_pair = true;
      continue; // the running files change only if the new pair loads
    }
    else
    {
      log(log_level::warn, "SIGHUP: " + flag + " stays " + shown(running) +
                               " until a restart (the file says " + shown(value) + ")");
      continue;
    }
    running = value;
  }
  if (new_limits)
  {
    options_.max_clients = next.max_clients;
    options_.max_per_ip = next.max_per_ip;
    options_.loopback_exempt = next.loopback_exempt;
    options_.echo_max_clients = next.echo_max_clients;
    registry_.set_limits(registry::limits::of(options_));
  }
  if (!tls_)
    return;
  if (!new_pair)
    tls_->reload("SIGHUP");
  else if (tls_->reload("SIGHUP", next.tls.cert, next.tls.key))
  {
    options_.tls.cert = next.tls.cert;
    options_.tls.key = next.tls.key;
    options_.values["--tls-cert"] = next.values["--tls-cert"];
    options_.values["--tls-key"] = next.values["--tls-key"];
  }
}

void server::do_await_signal()
{
  signals_.async_wait(
      [this](const asio::error_code& ec, int signo)
      {
        if (ec)
          return;
        if (signo == SIGHUP)
        {
          // systemd hears of it unless the shutdown has begun (N-SHUT-14).
          const bool tell = !stopping();
          if (tell)
            notify_reloading();
          reload();
          if (tell)
            notify_ready(listening());
        }
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
// hard deadline, exit 0. The workers stop when the last connection is gone
// or the deadline passes, whichever comes first.
void server::begin_shutdown()
{
  notify_stopping();
  stopping_ = true;
  for (listener* l : listeners())
    if (l != nullptr)
      l->close();
  if (tls_)
    tls_->stop();
  // Each chat connection's worker writes the 521 in its next flush.
  room_.shut_down_all();
  for (auto& c : registry_.echoes())
    c->shut_down();
  stop_timer_.expires_after(shutdown_deadline);
  stop_timer_.async_wait(
      [this](const asio::error_code& ec)
      {
        if (!ec)
          stop_workers();
      });
  registry_.on_empty([this] { asio::post(main_context(), [this] { stop_workers(); }); });
}

std::array<listener*, 4> server::listeners() const
{
  return {chat_.get(), tls_chat_.get(), echo_.get(), metrics_port_.get()};
}

// "chat [::]:7777, echo [::]:7": the STATUS= systemd shows.
std::string server::listening() const
{
  std::string status;
  for (const listener* l : listeners())
    if (l != nullptr)
      status += (status.empty() ? "" : ", ") + l->status();
  return status;
}

// Stops the io_contexts (which abandons whatever is still pending).
void server::stop_workers()
{
  if (stopped_.exchange(true))
    return;
  signals_.cancel();
  stop_timer_.cancel();
  for (const auto& w : workers_)
    w->stop();
}

} // namespace natter::server
