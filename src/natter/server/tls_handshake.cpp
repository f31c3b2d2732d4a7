#include "natter/server/tls_handshake.hpp"

#include "natter/server/chat_connection.hpp"
#include "natter/server/log.hpp"
#include "natter/server/metrics.hpp"
#include "natter/server/server.hpp"
#include "natter/server/socket_io.hpp"

namespace natter::server
{

tls_handshake::tls_handshake(worker_socket socket, const asio::ip::tcp::endpoint& peer, server& srv,
                             worker& w, const std::shared_ptr<const tls::server_context>& ctx)
    : socket_(std::move(socket)), peer_(peer), server_(srv), worker_(w),
      channel_(std::make_unique<tls::channel>(ctx->native(), tls::channel::role::server)),
      timer_(socket_.get_executor())
{
}

tls_handshake::~tls_handshake() = default;

void tls_handshake::start()
{
  asio::post(socket_.get_executor(),
             [self = shared_from_this()]
             {
               asio::error_code ec;
               self->socket_.non_blocking(true, ec);
               self->timer_.expires_after(self->server_.settings().tls.handshake_timeout);
               self->timer_.async_wait(
                   [self](const asio::error_code& wait_ec)
                   {
                     if (!wait_ec && !self->over_)
                       self->end("TLS handshake timed out");
                   });
               self->do_wait_read();
             });
}

void tls_handshake::do_wait_read()
{
  socket_.async_wait(asio::ip::tcp::socket::wait_read,
                     [self = shared_from_this()](const asio::error_code& ec)
                     { self->on_readable(ec); });
}

void tls_handshake::on_readable(const asio::error_code& wait_ec)
{
  if (over_)
    return;
  if (wait_ec)
    return end("TLS handshake: " + wait_ec.message());
  const std::span<char> buffer = read_buffer();
  asio::error_code ec;
  const std::size_t n = socket_.read_some(asio::buffer(buffer.data(), buffer.size()), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again)
    return do_wait_read();
  if (ec == asio::error::eof)
    return end("closed during the TLS handshake");
  if (ec)
    return end("TLS handshake: " + ec.message());
  count_received(service::tls, n);
  // What follows the client's Finished in the same read is the first of
  // its lines: kept for the session.
  const auto status = channel_->receive(std::string_view(buffer.data(), n),
                                        [this](std::string_view plain) { early_ += plain; });
  if (status == tls::channel::status::failed)
  {
    send_pending(); // the alert, if the socket takes it now
    return end("TLS handshake failed: " + channel_->error());
  }
  // A client may send its Finished, its lines and its close_notify in one
  // go: once the handshake is done, the close is its end of input, after
  // those lines, as a FIN is on the plain port.
  if (status == tls::channel::status::closed && !channel_->established())
    return end("closed during the TLS handshake");
  input_ended_ = status == tls::channel::status::closed;
  if (!send_pending())
    return end("TLS handshake: the write failed");
  if (writing_)
    return; // on_writable goes on
  if (channel_->established())
    return established();
  do_wait_read();
}

bool tls_handshake::send_pending()
{
  while (!channel_->pending().empty())
  {
    const ssize_t n = send_now(socket_.native_handle(), channel_->pending());
    if (n >= 0)
    {
      channel_->sent(static_cast<std::size_t>(n));
      count_sent(service::tls, static_cast<std::size_t>(n));
      continue;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      return false;
    writing_ = true;
    socket_.async_wait(asio::ip::tcp::socket::wait_write,
                       [self = shared_from_this()](const asio::error_code& ec)
                       { self->on_writable(ec); });
    return true;
  }
  return true;
}

void tls_handshake::on_writable(const asio::error_code& ec)
{
  writing_ = false;
  if (over_)
    return;
  if (ec || !send_pending())
    return end("TLS handshake: the write failed");
  if (writing_)
    return;
  if (channel_->established())
    return established();
  do_wait_read();
}

void tls_handshake::established()
{
  if (server_.stopping())
    return end("natterd is shutting down");
  over_ = true;
  timer_.cancel();
  if (const auto refusal = server_.tls_established(peer_))
  {
    // Told like a plain connection (N-LIMIT-4, N-LIMIT-5), over TLS; the
    // line and the alert are a few dozen octets on a fresh socket.
    std::string line;
    proto::append_reply(line, *refusal, proto::reply_text(*refusal));
    channel_->encrypt(line);
    channel_->close_notify();
    count_refusal(*refusal);
    count_connection(&thread_counters::closed, service::tls);
    if (const ssize_t n = send_now(socket_.native_handle(), channel_->pending()); n > 0)
      count_sent(service::tls, static_cast<std::size_t>(n));
    asio::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    socket_.close(ignored);
    return;
  }
  auto c = std::make_shared<chat_connection>(std::move(socket_), peer_, server_, worker_,
                                             std::move(channel_), std::move(early_), input_ended_);
  c->start();
}

void tls_handshake::end(const std::string& why)
{
  over_ = true;
  timer_.cancel();
  if (thread_counters* c = counting())
  {
    c->tls_handshake_failures.add();
    c->closed[static_cast<std::size_t>(service::tls)].add();
  }
  asio::error_code ignored;
  socket_.close(ignored);
  server_.tls_failed(peer_, why);
}

} // namespace natter::server
