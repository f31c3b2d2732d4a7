#include "natter/server/chat_connection.hpp"

#include "natter/server/log.hpp"
#include "natter/server/metrics.hpp"
#include "natter/server/server.hpp"
#include "natter/server/socket_io.hpp"
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

// On the TLS port one write carries at most this much plaintext, in
// records of 16 KiB: what the connection holds encrypted while its socket
// is full stays small, and the outbox counts the rest (spec section 12).
constexpr std::size_t tls_write_batch = 4 * tls::max_record;

} // namespace

std::span<char> read_buffer() noexcept
{
  thread_local std::array<char, 64 * 1024> buffer;
  return buffer;
}

// `peer` is the address the server counted this connection under; asking the
// socket again could fail (a reset in between) and leak that count.
chat_connection::chat_connection(worker_socket socket, const asio::ip::tcp::endpoint& peer,
                                 server& srv, worker& w, std::unique_ptr<tls::channel> tls,
                                 std::string early, bool input_ended)
    : socket_(std::move(socket)), peer_(peer), server_(srv), worker_(w),
      conn_(srv.room(), *this, core::clock::now()), tls_(std::move(tls)), early_(std::move(early)),
      tls_input_ended_(input_ended)
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
               if (!self->early_.empty())
                 self->conn_.received(std::exchange(self->early_, {}), core::clock::now());
               if (self->tls_input_ended_)
                 self->conn_.end_of_input(core::clock::now());
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
  // Not reading, it waits for what only a wake-up brings: a cluster's
  // answer, or its output draining while the writer is idle (a cluster
  // node's reader wakes the writers once a whole read of the log is
  // delivered). No operation need be pending then that would keep this
  // connection alive: it keeps itself until its next step.
  held_ = next.hold ? shared_from_this() : nullptr;
  if (next.close)
    return close_socket(next.reset);
  if (next.shutdown_send)
    shutdown_send();
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
  const std::span<char> buffer = read_buffer();
  const std::size_t n = socket_.read_some(asio::buffer(buffer.data(), buffer.size()), ec);
  const auto now = core::clock::now();
  if (ec == asio::error::would_block || ec == asio::error::try_again)
    return do_wait_read();
  if (ec == asio::error::eof)
    conn_.end_of_input(now);
  else if (ec)
    return fail(ec, "read");
  else
  {
    count_received(tls_ ? service::tls : service::chat, n);
    received(std::string_view(buffer.data(), n), now);
  }
  settle();
  do_write();
}

// Octets from the socket: to the session, or first through TLS, where a
// close_notify is the client's end of input (spec N-TLS-9) and a bad
// record ends the connection like a reset.
void chat_connection::received(std::string_view data, core::time_point now)
{
  if (!tls_)
    return conn_.received(data, now);
  if (tls_input_ended_)
    return; // after the client's close_notify: nothing more is its input
  const auto status =
      tls_->receive(data, [this, now](std::string_view plain) { conn_.received(plain, now); });
  if (status == tls::channel::status::closed)
  {
    tls_input_ended_ = true;
    conn_.end_of_input(now);
  }
  else if (status == tls::channel::status::failed)
  {
    if (log_enabled(log_level::debug))
      log(log_level::debug, "TLS failed: " + tls_->error());
    conn_.failed();
  }
}

// The final line went out: a TLS connection sends close_notify before the
// TCP shutdown (spec N-TLS-9); if the socket cannot take it now, the
// writer shuts down once it has.
void chat_connection::shutdown_send()
{
  if (tls_)
  {
    tls_->close_notify();
    if (const std::string_view alert = tls_->pending(); !alert.empty())
    {
      const ssize_t n = send_now(socket_.native_handle(), alert);
      if (n > 0)
      {
        tls_->sent(static_cast<std::size_t>(n));
        count_sent(service::tls, static_cast<std::size_t>(n));
      }
      if (!tls_->pending().empty())
      {
        shutdown_due_ = true;
        return;
      }
    }
  }
  asio::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
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
  if (tls_)
    return write_pending_tls();
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
  if (n > 0)
    count_sent(service::chat, static_cast<std::size_t>(n));
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

// On the TLS port: the front of the outbox, up to tls_write_batch, is
// encrypted into records of up to 16 KiB and sent with one send(); the
// next batch is taken only once the socket took all of this one. The
// outbox hears of the batch as written only then, so a closing connection
// shuts down, and a slow one is judged, on what really left (spec 12).
std::size_t chat_connection::write_pending_tls()
{
  if (tls_->pending().empty() && !shutdown_due_)
  {
    std::array<core::piece, write_iov_max> pieces;
    const std::size_t count = conn_.peek(pieces, tls_write_batch);
    if (count == 0)
      return 0;
    tls_batch_ = tls_->encrypt(std::span(pieces.data(), count));
  }
  const std::string_view out = tls_->pending();
  const ssize_t n = out.empty() ? 0 : send_now(socket_.native_handle(), out);
  const int err = errno;
  if (n > 0)
  {
    tls_->sent(static_cast<std::size_t>(n));
    count_sent(service::tls, static_cast<std::size_t>(n));
  }
  const bool batch_done = tls_->pending().empty();
  const std::size_t left =
      conn_.wrote(batch_done ? std::exchange(tls_batch_, 0) : 0, [] { return core::clock::now(); });
  if (batch_done && shutdown_due_)
  {
    shutdown_due_ = false;
    asio::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  }
  if (n >= 0)
    return left + tls_->pending().size();
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
  // Counted before the close, which the client may see at once.
  count_connection(&thread_counters::closed, tls_ ? service::tls : service::chat);
  socket_.close(ignored);
  timer_.reset();
  server_.chat_closed(peer_, core::describe(conn_.reason()));
  held_.reset(); // the caller holds this connection too
}

} // namespace natter::server
