#include "natter/server/chat_connection.hpp"

#include "natter/server/log.hpp"
#include "natter/server/server.hpp"
#include "natter/server/worker.hpp"

#include <array>
#include <cerrno>

#include <sys/socket.h>
#include <sys/uio.h>

namespace natter::server
{

namespace
{

using namespace std::chrono_literals;

// One gathered write carries at most this much, so a long queue does not
// pin a huge buffer sequence and the send queue drains in steps.
constexpr std::size_t max_write_batch = 256 * 1024;

// Lines handed to one sendmsg (Linux's IOV_MAX).
constexpr std::size_t write_iov_max = 1024;

// Reads go through one buffer per thread, so an idle connection owns no
// read buffer: its socket waits for readability, then the bytes are handed
// to the session, which keeps only what it cannot process yet.
thread_local std::array<char, 64 * 1024> read_buffer;

} // namespace

// `peer` is the address the server counted this connection under; asking the
// socket again could fail (a reset in between) and leak that count.
chat_connection::chat_connection(worker_socket socket, const asio::ip::tcp::endpoint& peer,
                                 server& srv, worker& w)
    : socket_(std::move(socket)), peer_(peer), server_(srv), worker_(w),
      conn_(srv.room(), *this, core::clock::now())
{
}

chat_connection::~chat_connection() = default;

void chat_connection::start()
{
  // The acceptor may run on another thread: everything from here on runs on
  // this connection's worker.
  asio::post(socket_.get_executor(),
             [self = shared_from_this()]
             {
               asio::error_code ec;
               self->socket_.non_blocking(true, ec);
               self->conn_.start(); // the greeting wakes the writer
               self->settle();
             });
}

void chat_connection::wake() noexcept
{
  // Called by other connections' threads, possibly while this connection
  // is being destroyed: only a live one is marked.
  if (auto self = weak_from_this().lock())
    worker_.defer_write(std::move(self));
}

void chat_connection::flush()
{
  do_write();
}

// Does what the state machine asks for now: close, shut down the sending
// side, wait for input, keep the timer at its next deadline.
void chat_connection::settle()
{
  if (closed_)
    return;
  const core::connection::next next = conn_.step(core::clock::now());
  if (next.close)
    return close_socket(next.reset);
  if (next.shutdown_send)
  {
    asio::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  }
  if (next.read)
    do_wait_read();
  arm_timer(next.wake_at);
}

void chat_connection::do_wait_read()
{
  if (reading_ || closed_)
    return;
  reading_ = true;
  // Idle clients spend their lives in this wait: its operation is cut to
  // size (worker.hpp).
  socket_.async_wait(asio::ip::tcp::socket::wait_read,
                     asio::bind_allocator(exact_allocator<void>(),
                                          [self = shared_from_this()](const asio::error_code& ec)
                                          { self->on_readable(ec); }));
}

void chat_connection::on_readable(const asio::error_code& wait_ec)
{
  reading_ = false;
  if (closed_)
    return;
  if (wait_ec)
    return fail(wait_ec, "wait");
  asio::error_code ec;
  const std::size_t n = socket_.read_some(asio::buffer(read_buffer), ec);
  const auto now = core::clock::now();
  if (ec == asio::error::would_block || ec == asio::error::try_again)
    return do_wait_read();
  if (ec == asio::error::eof)
    conn_.end_of_input(now);
  else if (ec)
    return fail(ec, "read");
  else
    conn_.received(std::string_view(read_buffer.data(), n), now);
  settle();
  do_write();
}

void chat_connection::do_write()
{
  if (closed_)
    return;
  if (writing_)
    return settle(); // a close meanwhile arms its flush deadline now
  const std::size_t left = write_pending();
  // A write leaves step()'s answer as it was unless the session resumed
  // reading or the outbox is closing (connection::step_due): on the
  // fan-out path, no step and no look at the timer per write.
  if (conn_.step_due())
    settle();
  // More is pending: continue in the worker's next flush, after whatever
  // else waits on this thread. When the outbox went idle, its next output
  // wakes us, so no post is needed (one per write, per recipient, on the
  // hot path).
  if (left > 0 && !writing_ && !closed_)
    worker_.defer_write(shared_from_this());
}

// One gathered write of the front of the outbox: the connection's own
// lines and spans of the room's log, each written in place, up to IOV_MAX
// pieces per sendmsg. (Asio 1.22's async_write over a buffer sequence hands
// sendmsg at most 16 buffers at a time.) Returns the octets still pending;
// when the socket would block, a wait for writability is armed.
std::size_t chat_connection::write_pending()
{
  std::array<core::piece, write_iov_max> pieces;
  const std::size_t count = conn_.peek(pieces, max_write_batch);
  if (count == 0)
    return 0;
  std::array<iovec, write_iov_max> iov;
  for (std::size_t i = 0; i < count; ++i)
    iov[i] = iovec{const_cast<char*>(pieces[i].data), pieces[i].size};
  msghdr msg{};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = count;
  ssize_t n;
  do
    n = ::sendmsg(socket_.native_handle(), &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  const int err = errno;
  // The clock is read only if the write lets the session read again.
  const std::size_t left =
      conn_.wrote(n < 0 ? 0 : static_cast<std::size_t>(n), [] { return core::clock::now(); });
  if (n >= 0)
    return left;
  if (err == EAGAIN || err == EWOULDBLOCK)
  {
    writing_ = true;
    socket_.async_wait(asio::ip::tcp::socket::wait_write,
                       [self = shared_from_this()](const asio::error_code& ec)
                       { self->on_writable(ec); });
    return left;
  }
  fail(asio::error_code(err, asio::error::get_system_category()), "write");
  return 0;
}

void chat_connection::on_writable(const asio::error_code& ec)
{
  writing_ = false;
  if (closed_)
    return;
  if (ec)
    return fail(ec, "write");
  do_write();
}

// One timer per connection serves every deadline the state machine has:
// registration and idle timeouts, the flood-control pause, the flush
// deadline and the linger. It exists only while a deadline does: a
// registered client with no idle timeout carries none.
void chat_connection::arm_timer(core::time_point at)
{
  if (closed_ || at == timer_at_)
    return;
  timer_at_ = at;
  if (at == core::time_point::max())
  {
    timer_.reset(); // a pending wait completes with operation_aborted
    return;
  }
  if (!timer_)
    timer_ = std::make_unique<worker_timer>(socket_.get_executor());
  timer_->expires_at(at);
  timer_->async_wait([self = shared_from_this()](const asio::error_code& ec)
                     { self->on_timer(ec); });
}

void chat_connection::on_timer(const asio::error_code& ec)
{
  if (ec == asio::error::operation_aborted || closed_)
    return;
  const auto now = core::clock::now();
  if (now < timer_at_)
    return; // superseded by a later expires_at() whose wait is pending
  timer_at_ = core::time_point::max();
  conn_.timer_fired(now);
  settle();
  do_write();
}

void chat_connection::fail(const asio::error_code& ec, const char* what)
{
  if (log_enabled(log_level::debug))
    log(log_level::debug, std::string(what) + " failed: " + ec.message());
  conn_.failed();
  settle();
}

void chat_connection::close_socket(bool reset)
{
  closed_ = true;
  asio::error_code ignored;
  if (reset)
  {
    const ::linger abort_on_close{1, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_LINGER, &abort_on_close,
                 sizeof abort_on_close);
  }
  socket_.close(ignored);
  timer_.reset();
  server_.chat_closed(peer_, core::describe(conn_.reason()));
}

} // namespace natter::server
