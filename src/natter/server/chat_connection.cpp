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

// How long a closing connection may take to flush its final lines, and how
// long input is discarded after the final line (spec N-CONN-9).
constexpr auto flush_deadline = 3s;
constexpr auto linger_time = 1s;

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
      session_(srv.room(), *this, core::clock::now())
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
               self->session_.start();
               self->do_wait_read();
               self->arm_timer();
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
  if (lingering_)
  {
    // The final line is out; input is only drained until the peer closes.
    if (ec)
      return close(nullptr);
    return do_wait_read();
  }
  if (ec == asio::error::eof)
    session_.end_of_input(now);
  else if (ec)
    return fail(ec, "read");
  else
    session_.receive(std::string_view(read_buffer.data(), n), now);
  after_input();
}

// Decides what the session waits for: more input, the outbox to drain, or
// the flood-control timer.
void chat_connection::after_input()
{
  switch (session_.next_wait())
  {
  case core::session::wait::input: do_wait_read(); break;
  case core::session::wait::output: break; // on_write() resumes
  case core::session::wait::rate:
  case core::session::wait::closed: break;
  }
  arm_timer();
  do_write();
}

void chat_connection::do_write()
{
  if (closed_ || lingering_)
    return;
  core::outbox& out = session_.output();
  // A closing connection (QUIT, 5xx, dropped by another client's broadcast)
  // gets a hard deadline to flush, even while a write is stuck.
  if (out.closing() && close_by_ == core::time_point::max())
  {
    close_by_ = core::clock::now() + flush_deadline;
    arm_timer();
  }
  if (writing_)
    return; // waiting for the socket to take more
  const std::size_t n = write_pending();
  if (n == 0)
  {
    // Nothing was pending (the outbox is idle now and the next output
    // wakes us), the socket would block (writing_ is set) or it failed.
    if (!writing_ && !closed_ && out.finished())
      linger();
    return;
  }
  const std::size_t left = out.written(n);
  if (session_.next_wait() == core::session::wait::output)
  {
    session_.resume(core::clock::now());
    after_input(); // writes again
    return;
  }
  if (left == 0)
  {
    // The outbox went idle: its next output wakes us, so no post is
    // needed (one per write, per recipient, on the hot path).
    if (out.finished())
      linger();
    return;
  }
  // More is pending: continue in the worker's next flush, after whatever
  // else waits on this thread.
  worker_.defer_write(shared_from_this());
}

// One gathered write of the front of the outbox: the connection's own
// lines and spans of the room's log, each written in place, up to IOV_MAX
// pieces per sendmsg. (Asio 1.22's async_write over a buffer sequence hands
// sendmsg at most 16 buffers at a time.) Returns the octets written; 0 when
// nothing is pending, when the socket would block (a wait for writability
// is then armed) or when it failed.
std::size_t chat_connection::write_pending()
{
  std::array<core::piece, write_iov_max> pieces;
  const std::size_t count = session_.output().peek(pieces, max_write_batch);
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
  if (n < 0)
  {
    const int err = errno;
    // Nothing of the peeked output was handed over: it is all still
    // pending, and all of it droppable by a slow-consumer close.
    session_.output().written(0);
    errno = err;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
    {
      writing_ = true;
      socket_.async_wait(asio::ip::tcp::socket::wait_write,
                         [self = shared_from_this()](const asio::error_code& ec)
                         { self->on_writable(ec); });
    }
    else
      fail(asio::error_code(errno, asio::error::get_system_category()), "write");
    return 0;
  }
  return static_cast<std::size_t>(n);
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

// One timer per connection serves every deadline: registration and idle
// timeouts, the flood-control pause and the closing flush deadline. It
// exists only while a deadline does: a registered client with no idle
// timeout carries none.
void chat_connection::arm_timer()
{
  if (closed_)
    return;
  core::time_point at = std::min(session_.deadline(), close_by_);
  if (session_.next_wait() == core::session::wait::rate)
    at = std::min(at, session_.resume_at());
  if (at == timer_at_)
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
  if (now >= close_by_ && lingering_)
    return close(nullptr); // the final line went out; its reader had a second
  if (now >= close_by_)
  {
    // What is still queued will not be read in time: reset the connection
    // rather than leave it to the kernel, which would go on holding the
    // send buffer for a client whose window stays shut (spec section 12).
    const ::linger abort_on_close{1, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_LINGER, &abort_on_close,
                 sizeof abort_on_close);
    return close("flush deadline passed");
  }
  session_.on_timer(now);
  if (session_.next_wait() == core::session::wait::rate && now >= session_.resume_at())
  {
    session_.resume(now);
    after_input();
    return;
  }
  arm_timer();
  do_write();
}

// The final line is written: shut down our side and drain input briefly,
// so the peer's unread input does not turn our close into a reset that
// destroys that line (spec N-CONN-9).
void chat_connection::linger()
{
  lingering_ = true;
  asio::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  close_by_ = std::min(close_by_, core::clock::now() + linger_time);
  timer_at_ = core::time_point::min(); // force re-arm
  arm_timer();
  do_wait_read();
}

void chat_connection::fail(const asio::error_code& ec, const char* what)
{
  if (log_enabled(log_level::debug))
    log(log_level::debug, std::string(what) + " failed: " + ec.message());
  close(nullptr);
}

void chat_connection::close(const char* why)
{
  if (closed_)
    return;
  closed_ = true;
  asio::error_code ignored;
  socket_.close(ignored);
  timer_.reset();
  // The session's own reason (quit, 5xx, dropped) wins over ours.
  const char* reason = session_.output().reason();
  if (reason == nullptr)
    reason = why != nullptr ? why : "connection closed";
  // Leaves the room (QUIT <nick> connection closed) unless it already left.
  session_.on_closed();
  server_.chat_closed(peer_, reason);
}

} // namespace natter::server
