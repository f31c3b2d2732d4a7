#include "pump.hpp"

#include "natter/tls/channel.hpp"

#include <algorithm>

namespace natter::conform
{

std::optional<frame> take_frame(std::string& buffer)
{
  if (buffer.empty())
    return std::nullopt;
  if (static_cast<unsigned char>(buffer[0]) == 0xFF)
  {
    if (buffer.size() < 3)
      return std::nullopt;
    frame f{true, buffer.substr(0, 3)};
    buffer.erase(0, 3);
    return f;
  }
  const std::size_t lf = buffer.find('\n');
  if (lf == std::string::npos)
    return std::nullopt;
  const bool crlf = lf > 0 && buffer[lf - 1] == '\r';
  frame f{false, buffer.substr(0, crlf ? lf - 1 : lf), crlf};
  buffer.erase(0, lf + 1);
  return f;
}

pump::pump() = default;
pump::~pump() = default;

std::string pump::connect(const std::string& host, std::uint16_t port, clock::time_point deadline,
                          int rcvbuf, const std::string& source, SSL_CTX* tls)
{
  std::string err = sock_.connect(host, port, deadline, rcvbuf, source);
  opened_ = err.empty();
  if (!opened_ || tls == nullptr)
    return err;
  tls_ = std::make_unique<tls::channel>(tls, tls::channel::role::client, host);
  tls_->connect();
  for (;;)
  {
    if (flush(deadline) == io_status::timeout)
      return "the TLS handshake could not be sent in time";
    if (tls_->established())
      return {};
    std::string got = std::move(cipher_);
    cipher_.clear();
    if (got.empty())
    {
      const io_status st = sock_.read_some(got, deadline);
      if (st == io_status::timeout)
        return "the TLS handshake was not complete in time";
      if (st != io_status::ok)
      {
        (st == io_status::eof ? eof_ : reset_) = true;
        return std::string("the server ") + (eof_ ? "closed" : "reset") +
               " the connection during the TLS handshake";
      }
    }
    if (!decrypt(got))
      return "the TLS handshake failed: " + tls_error_;
    if (ended())
      return "the server sent close_notify during the TLS handshake";
  }
}

// Ciphertext in, plaintext to received(); a close_notify is the end of the
// server's output, a failure (a bad record, an alert) is like a reset.
bool pump::decrypt(std::string_view cipher)
{
  if (cipher.empty() || ended())
    return true;
  const auto st = tls_->receive(cipher, [this](std::string_view plain) { received_ += plain; });
  if (st == tls::channel::status::closed)
    notified_ = eof_ = true;
  else if (st == tls::channel::status::failed)
  {
    tls_error_ = tls_->error();
    reset_ = true;
    return false;
  }
  return true;
}

// Writes the ciphertext TLS has pending (reading back what arrives meanwhile).
io_status pump::flush(clock::time_point deadline)
{
  const std::string_view out = tls_->pending();
  if (out.empty())
    return io_status::ok;
  const io_status st = sock_.write_all(out, cipher_, deadline);
  if (st == io_status::ok)
    tls_->sent(out.size());
  return st;
}

arrival pump::wait_for_input(clock::time_point until)
{
  if (over())
    return arrival::nothing;
  const std::size_t before = received_.size();
  // Over TLS a read may bring records without plaintext (session tickets):
  // read on until plaintext or the end arrives.
  do
  {
    std::string cipher;
    switch (sock_.read_some(tls_ ? cipher : received_, until))
    {
    case io_status::ok: break;
    case io_status::timeout: return arrival::nothing;
    case io_status::eof: eof_ = true; return arrival::end;
    case io_status::reset: reset_ = true; return arrival::end;
    }
    if (tls_)
    {
      decrypt(cipher);
      (void)flush(until);
      if (ended())
        return arrival::end;
    }
  } while (received_.size() == before);
  return arrival::octets;
}

bool pump::write(std::string_view bytes, clock::time_point deadline, std::size_t max_received)
{
  if (!tls_)
    return sock_.write_all(bytes, received_, deadline, max_received) != io_status::timeout;
  tls_->encrypt(bytes);
  const std::string_view out = tls_->pending();
  const io_status st = sock_.write_all(out, cipher_, deadline, max_received);
  if (st == io_status::ok)
    tls_->sent(out.size());
  decrypt(cipher_);
  cipher_.clear();
  return st != io_status::timeout;
}

tcp_socket::stall_result pump::write_until_stalled(std::string_view unit, std::size_t limit,
                                                   std::chrono::milliseconds stall,
                                                   clock::time_point deadline)
{
  if (!tls_)
    return sock_.write_until_stalled(unit, limit, stall, deadline);
  // Plaintext of about 64 KiB of whole units at a time, encrypted when the
  // ciphertext of the last was all taken; `written` counts ciphertext.
  std::string chunk;
  while (chunk.size() < 65536)
    chunk += unit;
  std::size_t given = 0;
  return sock_.write_until_stalled(
      [&]
      {
        tls_->sent(tls_->pending().size());
        const std::size_t n = std::min(chunk.size(), limit - given);
        if (n == 0)
          return std::string_view();
        given += n;
        tls_->encrypt(std::string_view(chunk).substr(0, n));
        return tls_->pending();
      },
      stall, deadline);
}

tcp_socket::drop pump::wait_dropped(clock::time_point deadline, std::size_t& unread)
{
  const tcp_socket::drop how = sock_.wait_dropped(deadline, unread);
  if (how == tcp_socket::drop::reset)
    reset_ = true;
  else if (how == tcp_socket::drop::closed)
    eof_ = true;
  return how;
}

// Over TLS, a close (but a reset) and a half-close send close_notify first,
// as far as the socket takes it at once.
void pump::close(bool reset) noexcept
{
  if (!reset)
    notify_end();
  sock_.close(reset);
  closed_ = true;
}

void pump::shutdown_send() noexcept
{
  notify_end();
  sock_.shutdown_send();
  shut_ = true;
}

void pump::notify_end() noexcept
{
  if (!tls_ || !opened_ || closed_ || shut_)
    return;
  try
  {
    tls_->close_notify();
    (void)flush(clock::now() + std::chrono::milliseconds(200));
  }
  catch (...) // best effort: the close goes ahead
  {
  }
}

std::string pump::alpn() const
{
  return tls_ ? tls_->alpn() : std::string();
}

std::string pump::tls_version() const
{
  return tls_ ? tls_->version() : std::string();
}

} // namespace natter::conform
