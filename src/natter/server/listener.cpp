#include "natter/server/listener.hpp"

#include "natter/server/log.hpp"
#include "natter/server/server.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <stdexcept>

namespace natter::server
{

namespace
{

using asio::ip::tcp;

// How long accepting pauses when the process is out of descriptors.
constexpr auto accept_backoff = std::chrono::milliseconds(100);

} // namespace

listener::listener(asio::io_context& main, std::vector<std::unique_ptr<worker>>& workers,
                   const char* service, const char* flag)
    : acceptor_(main), backoff_(main), workers_(workers), service_(service), flag_(flag)
{
}

asio::ip::address listener::address(const std::string& bind)
{
  asio::error_code ec;
  asio::ip::address addr = asio::ip::make_address(bind, ec);
  if (ec)
    throw std::runtime_error("bad address '" + bind + "': " + ec.message() + " (change --bind)");
  return addr;
}

void listener::open(const std::string& bind, unsigned short port)
{
  const asio::ip::address addr = address(bind);
  asio::error_code ec;
  tcp::endpoint ep(addr, port);
  acceptor_.open(ep.protocol(), ec);
  if (ec && addr.is_v6() && addr.to_v6().is_unspecified())
  {
    ep = tcp::endpoint(tcp::v4(), port);
    acceptor_.open(ep.protocol(), ec);
  }
  if (!ec)
  {
    if (ep.address().is_v6())
      acceptor_.set_option(asio::ip::v6_only(false), ec);
    acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    ec.clear();
    acceptor_.bind(ep, ec);
  }
  if (!ec)
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error(std::string("cannot listen for the ") + service_ + " service on " +
                             to_string(ep) + ": " + ec.message() + " (change " + flag_ + ")");
  announce();
}

void listener::adopt(int fd)
{
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  asio::error_code ec;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    ec.assign(errno, asio::error::get_system_category());
  else
    acceptor_.assign(addr.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd, ec);
  if (ec)
  {
    ::close(fd);
    throw std::runtime_error(std::string("cannot take the socket systemd passed for the ") +
                             service_ + " service: " + ec.message());
  }
  announce();
}

std::string listener::status() const
{
  asio::error_code ec;
  const tcp::endpoint ep = acceptor_.local_endpoint(ec);
  return std::string(service_) + " " + (ec ? "closed" : to_string(ep));
}

void listener::announce() const
{
  std::printf("natterd: %s listening on %s\n", service_,
              to_string(acceptor_.local_endpoint()).c_str());
  std::fflush(stdout);
}

void listener::start()
{
  do_accept();
}

void listener::close()
{
  closed_ = true;
  asio::error_code ignored;
  acceptor_.close(ignored);
  backoff_.cancel();
}

void listener::do_accept()
{
  // New connections go to the workers in turn, and stay on theirs.
  worker& w = *workers_[next_worker_];
  next_worker_ = (next_worker_ + 1) % workers_.size();
  acceptor_.async_accept(w.context(), [this, &w](const asio::error_code& ec, worker_socket socket)
                         { on_accept(w, ec, std::move(socket)); });
}

void listener::on_accept(worker& w, const asio::error_code& ec, worker_socket socket)
{
  if (closed_ || !acceptor_.is_open())
    return;
  if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
      ec == asio::error::no_memory || ec.value() == ENFILE)
  {
    // Out of descriptors: accepting again at once would spin on the same
    // error. Pause; closing connections meanwhile frees descriptors.
    if (!paused_)
      log(log_level::warn, std::string("accept: ") + ec.message() + "; pausing accepts");
    paused_ = true;
    backoff_.expires_after(accept_backoff);
    backoff_.async_wait(
        [this](const asio::error_code& wait_ec)
        {
          if (!wait_ec && !closed_)
            do_accept();
        });
    return;
  }
  if (!ec)
  {
    if (paused_)
      log(log_level::info, "accepting again");
    paused_ = false;
    accepted(std::move(socket), w);
  }
  do_accept();
}

chat_listener::chat_listener(server& srv, asio::io_context& main,
                             std::vector<std::unique_ptr<worker>>& workers, bool tls)
    : listener(main, workers, tls ? "tls" : "chat", tls ? "--tls-port" : "--chat-port"),
      server_(srv), tls_(tls)
{
}

void chat_listener::accepted(worker_socket socket, worker& w)
{
  server_.accept_chat(std::move(socket), w, tls_);
}

echo_listener::echo_listener(server& srv, asio::io_context& main,
                             std::vector<std::unique_ptr<worker>>& workers)
    : listener(main, workers, "echo", "--echo-port"), server_(srv)
{
}

void echo_listener::accepted(worker_socket socket, worker&)
{
  server_.accept_echo(std::move(socket));
}

} // namespace natter::server
