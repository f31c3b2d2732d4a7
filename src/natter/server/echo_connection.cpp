#include "natter/server/echo_connection.hpp"

#include "natter/server/server.hpp"

namespace natter::server
{

echo_connection::echo_connection(worker_socket socket, server& srv,
                                 std::chrono::milliseconds idle_timeout)
    : socket_(std::move(socket)), timer_(socket_.get_executor()), server_(srv),
      idle_timeout_(idle_timeout), last_input_(std::chrono::steady_clock::now())
{
}

void echo_connection::start()
{
  // The acceptor may run on another thread: everything from here on runs on
  // this connection's worker, so the read handler and the timer never race.
  asio::post(socket_.get_executor(),
             [self = shared_from_this()]
             {
               self->do_read();
               self->arm_idle_timer();
             });
}

void echo_connection::shut_down()
{
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->close(); });
}

void echo_connection::do_read()
{
  socket_.async_read_some(asio::buffer(buffer_),
                          [self = shared_from_this()](const asio::error_code& ec, std::size_t n)
                          {
                            if (self->closed_)
                              return;
                            if (ec == asio::error::eof)
                            {
                              // Half-close: everything received was echoed
                              // already (reads wait for writes), so finish.
                              asio::error_code ignored;
                              self->socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
                              return self->close();
                            }
                            if (ec)
                              return self->close();
                            self->last_input_ = std::chrono::steady_clock::now();
                            self->do_write(n);
                          });
}

void echo_connection::do_write(std::size_t n)
{
  asio::async_write(socket_, asio::buffer(buffer_.data(), n),
                    [self = shared_from_this()](const asio::error_code& ec, std::size_t)
                    {
                      if (self->closed_)
                        return;
                      if (ec)
                        return self->close();
                      self->do_read();
                    });
}

// Fires at the idle deadline; input since then moves the deadline on.
void echo_connection::arm_idle_timer()
{
  if (idle_timeout_.count() <= 0)
    return;
  timer_.expires_at(last_input_ + idle_timeout_);
  timer_.async_wait(
      [self = shared_from_this()](const asio::error_code& ec)
      {
        if (ec || self->closed_)
          return;
        if (std::chrono::steady_clock::now() >= self->last_input_ + self->idle_timeout_)
          return self->close();
        self->arm_idle_timer();
      });
}

void echo_connection::close()
{
  if (closed_)
    return;
  closed_ = true;
  asio::error_code ignored;
  socket_.close(ignored);
  timer_.cancel();
  server_.echo_closed(this);
}

} // namespace natter::server
