#include "natter/client/connection.hpp"

#include "natter/tls/context.hpp"

#include <asio/connect.hpp>
#include <asio/write.hpp>

#include <openssl/ssl.h>

#include <sys/socket.h>

namespace natter::client
{

namespace
{

class tls_error_category final : public std::error_category
{
public:
  const char* name() const noexcept override { return "natter.client.tls"; }

  std::string message(int ev) const override
  {
    switch (static_cast<tls_failure>(ev))
    {
    case tls_failure::handshake: return "TLS handshake failed";
    case tls_failure::cut_short: return "closed by the server during the TLS handshake";
    case tls_failure::record: return "TLS record failed";
    }
    return "unknown natter.client.tls error";
  }
};

} // namespace

const std::error_category& tls_category() noexcept
{
  static const tls_error_category category;
  return category;
}

std::error_code make_error_code(tls_failure f) noexcept
{
  return {static_cast<int>(f), tls_category()};
}

void connection::session_free::operator()(SSL_SESSION* s) const noexcept
{
  SSL_SESSION_free(s);
}

connection::connection(asio::io_context& io, line_handler on_line, close_handler on_close,
                       const tls::client_context* tls)
    : resolver_(io), socket_(io), on_line_(std::move(on_line)), on_close_(std::move(on_close)),
      tls_(tls)
{
}

connection::~connection()
{
  close();
}

void connection::connect(const std::string& host, std::uint16_t port, connect_handler done)
{
  close();
  host_ = host;
  connect_done_ = std::move(done);
  const unsigned gen = generation_;
  resolver_.async_resolve(
      host, std::to_string(port),
      [this, gen](std::error_code ec, asio::ip::tcp::resolver::results_type results)
      {
        if (gen != generation_)
          return;
        if (ec)
        {
          end(ec);
          return;
        }
        asio::async_connect(socket_, results,
                            [this, gen](std::error_code cec, const asio::ip::tcp::endpoint&)
                            {
                              if (gen == generation_)
                                on_connected(cec);
                            });
      });
}

void connection::on_connected(std::error_code ec)
{
  if (ec)
  {
    end(ec);
    return;
  }
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  if (tls_ == nullptr)
  {
    established();
    return;
  }
  // The handshake runs over the read loop: the ClientHello goes out now,
  // and every answer is fed to the channel as it comes, until it is
  // established. It is bounded by whatever bounds the connect (the
  // caller's timeout).
  try
  {
    channel_ = std::make_shared<tls::channel>(tls_->native(), tls::channel::role::client, host_,
                                              session_.get());
  }
  catch (const std::exception& e)
  {
    tls_reason_ = e.what();
    end(tls_failure::handshake);
    return;
  }
  channel_->connect();
  do_write();
  do_read();
}

void connection::established()
{
  connected_ = true;
  if (tls_ == nullptr)
    do_read();
  // The handler is taken out first: it may close this connection.
  const connect_handler done = std::move(connect_done_);
  connect_done_ = nullptr;
  done({});
}

void connection::send(std::string_view line)
{
  if (!connected_)
    return;
  queued_ += line;
  queued_ += "\r\n";
  queued_bytes_ += line.size() + 2;
  if (!writing_)
    do_write();
}

void connection::close()
{
  ++generation_;
  const bool was_connected = connected_;
  connected_ = false;
  resolver_.cancel();
  std::error_code ignored;
  if (channel_)
  {
    if (channel_->established() && received_)
      session_.reset(channel_->session());
    // A close_notify, or the alert of a failed handshake, is sent if the
    // socket takes it at once: closing never waits for the peer. Not while
    // a write is under way, which it would overtake.
    if (was_connected)
      channel_->close_notify();
    const std::string_view last = channel_->pending();
    if (!writing_ && !last.empty() && socket_.is_open())
      (void)::send(socket_.native_handle(), last.data(), last.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    channel_.reset();
  }
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  connect_done_ = nullptr;
  queued_.clear();
  out_.clear();
  out_plain_ = 0;
  queued_bytes_ = 0;
  writing_ = false;
  received_ = false;
  reader_ = proto::server_line_reader{};
}

std::string connection::tls_version() const
{
  return channel_ ? channel_->version() : std::string();
}

bool connection::tls_resumed() const
{
  return channel_ && channel_->resumed();
}

void connection::do_read()
{
  const unsigned gen = generation_;
  socket_.async_read_some(asio::buffer(buffer_),
                          [this, gen](std::error_code ec, std::size_t n)
                          {
                            if (gen != generation_)
                              return;
                            if (ec)
                            {
                              end(channel_ && !connected_ && ec == asio::error::eof
                                      ? make_error_code(tls_failure::cut_short)
                                      : ec);
                              return;
                            }
                            const std::string_view bytes(buffer_.data(), n);
                            if (channel_)
                              on_cipher(gen, bytes);
                            else
                              on_plain(gen, bytes);
                            if (gen == generation_)
                              do_read();
                          });
}

void connection::on_plain(unsigned gen, std::string_view bytes)
{
  reader_.feed(bytes,
               [&](std::string_view line, bool)
               {
                 // A handler may close this connection (a fatal reply): stop then.
                 if (gen == generation_)
                   on_line_(line);
               });
}

void connection::on_cipher(unsigned gen, std::string_view bytes)
{
  const auto on_decrypted = [&](std::string_view plain)
  {
    // The greeting can come in the read that completes the handshake: the
    // connection is reported before its first line.
    if (gen == generation_ && !connected_)
      established();
    if (gen != generation_)
      return;
    received_ = true;
    on_plain(gen, plain);
  };
  const std::shared_ptr<tls::channel> channel = channel_;
  const tls::channel::status status = channel->receive(bytes, on_decrypted);
  if (gen != generation_)
    return;
  if (status == tls::channel::status::failed)
  {
    tls_reason_ = channel->error();
    end(connected_ ? tls_failure::record : tls_failure::handshake);
    return;
  }
  if (!connected_ && channel->established())
  {
    established();
    if (gen != generation_)
      return;
  }
  if (status == tls::channel::status::closed)
  {
    // The server's close_notify is its end of output, as EOF is.
    end(connected_ ? std::error_code(asio::error::eof) : tls_failure::cut_short);
    return;
  }
  if (!writing_)
    do_write(); // the handshake's answers
}

// Everything queued goes out in one write: the lines as they are, or, over
// TLS, gathered into records, after whatever the handshake has to send.
// What is being written is the connection's own copy, so the channel may
// queue more meanwhile.
void connection::do_write()
{
  if (channel_)
  {
    if (!queued_.empty())
    {
      channel_->encrypt(queued_);
      out_plain_ = queued_.size();
      queued_.clear();
    }
    out_.assign(channel_->pending());
    channel_->sent(out_.size());
  }
  else
  {
    out_plain_ = queued_.size();
    out_.swap(queued_);
    queued_.clear();
  }
  if (out_.empty())
    return;
  writing_ = true;
  const unsigned gen = generation_;
  asio::async_write(socket_, asio::buffer(out_),
                    [this, gen](std::error_code ec, std::size_t)
                    {
                      if (gen != generation_)
                        return;
                      writing_ = false;
                      if (ec)
                      {
                        end(ec);
                        return;
                      }
                      queued_bytes_ -= out_plain_;
                      out_plain_ = 0;
                      out_.clear();
                      do_write();
                      if (on_written_)
                        on_written_();
                    });
}

// An established connection ends through the close handler; one still
// connecting, or in its handshake, through the connect handler.
void connection::end(std::error_code ec)
{
  if (connected_)
  {
    close();
    on_close_(ec);
    return;
  }
  const connect_handler done = std::move(connect_done_);
  close();
  if (done)
    done(ec);
}

} // namespace natter::client
