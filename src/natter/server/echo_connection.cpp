#include "natter/server/echo_connection.hpp"

#include "natter/server/metrics.hpp"
#include "natter/server/server.hpp"

#include <algorithm>

namespace natter::server
{

echo_connection::echo_connection(worker_socket socket, server& srv,
                                 std::chrono::milliseconds idle_timeout)
    : socket_(std::move(socket)), timer_(socket_.get_executor()), server_(srv),
      idle_timeout_(idle_timeout), last_input_(std::chrono::steady_clock::now())
{
}

namespace
{

// Reads go through one buffer per thread; what a write leaves over is the
// only per-connection copy. Large, so a bulk stream moves in few calls.
constexpr std::size_t echo_buffer_size = 256 * 1024;
thread_local std::unique_ptr<char[]> echo_buffer;

// Reads per wake-up before giving other connections a turn.
constexpr int reads_per_turn = 4;

} // namespace

void echo_connection::start()
{
  // The acceptor may run on another thread: everything from here on runs on
  // this connection's worker, so the handlers and the timer never race.
  asio::post(socket_.get_executor(),
             [self = shared_from_this()]
             {
               asio::error_code ec;
               self->socket_.non_blocking(true, ec);
               if (ec)
                 return self->close();
               self->do_wait_read();
               self->arm_idle_timer();
             });
}

void echo_connection::shut_down()
{
  if (closing_.exchange(true, std::memory_order_relaxed))
    return;
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->close(); });
}

void echo_connection::do_wait_read()
{
  socket_.async_wait(asio::ip::tcp::socket::wait_read,
                     asio::bind_allocator(exact_allocator<void>(),
                                          [self = shared_from_this()](const asio::error_code& ec)
                                          { self->on_readable(ec); }));
}

void echo_connection::on_readable(const asio::error_code& ec)
{
  if (closed_)
    return;
  if (ec)
    return close();
  if (!echo_buffer)
    echo_buffer = std::make_unique<char[]>(echo_buffer_size);
  for (int round = 0; round < reads_per_turn; ++round)
  {
    asio::error_code rec;
    const std::size_t n = socket_.read_some(asio::buffer(echo_buffer.get(), echo_buffer_size), rec);
    if (rec == asio::error::would_block || rec == asio::error::try_again)
      break;
    if (rec == asio::error::eof)
    {
      // Half-close: everything received was echoed already (nothing is
      // read while an echo is held), so finish.
      asio::error_code ignored;
      socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
      return close();
    }
    if (rec)
      return close();
    last_input_ = std::chrono::steady_clock::now();
    count_received(service::echo, n);
    asio::error_code wec;
    const std::size_t w = socket_.write_some(asio::buffer(echo_buffer.get(), n), wec);
    count_sent(service::echo, w);
    if (wec && wec != asio::error::would_block && wec != asio::error::try_again)
      return close();
    if (w < n)
    {
      hold(echo_buffer.get() + w, n - w);
      if (closed_)
        return;
      socket_.async_wait(asio::ip::tcp::socket::wait_write,
                         [self = shared_from_this()](const asio::error_code& e)
                         { self->on_writable(e); });
      return;
    }
    if (n < echo_buffer_size)
      break; // drained, most likely: wait rather than read into EAGAIN
  }
  do_wait_read();
}

void echo_connection::on_writable(const asio::error_code& ec)
{
  if (closed_)
    return;
  if (ec || !write_held())
    return close();
  if (held_)
  {
    socket_.async_wait(asio::ip::tcp::socket::wait_write,
                       [self = shared_from_this()](const asio::error_code& e)
                       { self->on_writable(e); });
    return;
  }
  do_wait_read();
}

// Writes what the socket takes of the held echo; frees it once all is out.
// False when the socket failed.
bool echo_connection::write_held()
{
  asio::error_code ec;
  const std::size_t w =
      socket_.write_some(asio::buffer(held_.get() + held_sent_, held_size_ - held_sent_), ec);
  held_sent_ += w;
  count_sent(service::echo, w);
  if (ec && ec != asio::error::would_block && ec != asio::error::try_again)
    return false;
  if (held_sent_ == held_size_)
    release_held();
  return true;
}

// Keeps what the socket did not take, counted in the echo service's total.
void echo_connection::hold(const char* data, std::size_t n)
{
  held_ = std::make_unique<char[]>(n);
  std::copy(data, data + n, held_.get());
  held_size_ = n;
  held_sent_ = 0;
  holding_.store(n, std::memory_order_relaxed);
  server_.echo_holds(static_cast<std::ptrdiff_t>(n));
}

void echo_connection::release_held()
{
  if (!held_)
    return;
  server_.echo_holds(-static_cast<std::ptrdiff_t>(held_size_));
  held_.reset();
  held_size_ = held_sent_ = 0;
  holding_.store(0, std::memory_order_relaxed);
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
  closing_.store(true, std::memory_order_relaxed);
  release_held();
  count_connection(&thread_counters::closed, service::echo);
  asio::error_code ignored;
  socket_.close(ignored);
  timer_.cancel();
  server_.echo_closed(this);
}

} // namespace natter::server
