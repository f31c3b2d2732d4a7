#include "tls_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include <stdexcept>
#include <utility>

namespace natter::test
{

namespace
{

using steady = std::chrono::steady_clock;

int remaining_ms(steady::time_point until)
{
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - steady::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

} // namespace

tls_client::tls_client(unsigned short port, const settings& s)
    : ctx_(std::make_unique<tls::client_context>(tls::client_settings{!s.ca.empty(), s.ca})),
      with_finished_(s.with_finished), close_with_finished_(s.close_with_finished)
{
  if (!s.alpn)
    SSL_CTX_set_alpn_protos(ctx_->native(), nullptr, 0);
  channel_ =
      std::make_unique<tls::channel>(ctx_->native(), tls::channel::role::client, s.name, s.resume);
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s.rcvbuf > 0)
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &s.rcvbuf, sizeof s.rcvbuf);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    throw std::runtime_error("tls_client: cannot connect");
  channel_->connect();
  const auto until = steady::now() + std::chrono::seconds(5);
  flush();
  while (!channel_->established() && error_.empty() && steady::now() < until)
    if (!read_some(std::chrono::milliseconds(remaining_ms(until))))
      break;
  if (!channel_->established() && error_.empty())
    error_ = ended_ ? "closed during the handshake" : "the handshake timed out";
}

tls_client::~tls_client()
{
  if (fd_ >= 0)
    ::close(fd_);
}

void tls_client::flush()
{
  while (!channel_->pending().empty())
  {
    const ssize_t n =
        ::send(fd_, channel_->pending().data(), channel_->pending().size(), MSG_NOSIGNAL);
    if (n <= 0)
      return;
    channel_->sent(static_cast<std::size_t>(n));
  }
}

bool tls_client::read_some(std::chrono::milliseconds limit)
{
  if (ended_)
    return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0)
    return true; // nothing yet
  char buf[16384];
  const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0)
  {
    ended_ = true;
    return false;
  }
  const auto status = channel_->receive(std::string_view(buf, static_cast<std::size_t>(n)),
                                        [this](std::string_view plain) { plain_ += plain; });
  if (channel_->established() && (!with_finished_.empty() || close_with_finished_))
  {
    // Behind the Finished that receive() just queued: one write for all.
    channel_->encrypt(std::exchange(with_finished_, {}));
    if (std::exchange(close_with_finished_, false))
      channel_->close_notify();
  }
  flush();
  if (status == tls::channel::status::closed)
  {
    notified_ = true;
    ended_ = true;
  }
  else if (status == tls::channel::status::failed)
  {
    error_ = channel_->error();
    ended_ = true;
  }
  return !ended_;
}

void tls_client::send(std::string_view plain)
{
  channel_->encrypt(plain);
  flush();
}

std::string tls_client::line(std::chrono::milliseconds limit)
{
  const auto until = steady::now() + limit;
  for (;;)
  {
    if (const auto end = plain_.find("\r\n"); end != std::string::npos)
    {
      std::string l = plain_.substr(0, end);
      plain_.erase(0, end + 2);
      return l;
    }
    if (ended_)
      return "<closed>";
    if (steady::now() >= until)
      return "<timeout>";
    read_some(std::chrono::milliseconds(remaining_ms(until)));
  }
}

std::vector<std::string> tls_client::sync(const std::string& token)
{
  send("PING " + token + "\r\n");
  std::vector<std::string> before;
  for (;;)
  {
    std::string l = line();
    if (l == "PONG " + token || l == "<timeout>" || l == "<closed>")
    {
      if (l != "PONG " + token)
        before.push_back(l);
      return before;
    }
    before.push_back(std::move(l));
  }
}

} // namespace natter::test
