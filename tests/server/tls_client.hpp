// Test support: a blocking line client over TLS (natter_tls's channel on a
// loopback socket), the TLS twin of natterd_process.hpp's client. Every wait
// is bounded.
#ifndef NATTER_TESTS_SERVER_TLS_CLIENT_HPP
#define NATTER_TESTS_SERVER_TLS_CLIENT_HPP

#include "natter/tls/channel.hpp"
#include "natter/tls/context.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace natter::test
{

class tls_client
{
public:
  struct settings
  {
    std::string ca;                 ///< the CA to trust (PEM); empty: do not verify
    std::string name = "localhost"; ///< the name to ask for and check
    bool alpn = true;               ///< offer ALPN "natter"
    SSL_SESSION* resume = nullptr;  ///< a session to offer
    int rcvbuf = 0;                 ///< SO_RCVBUF before connecting; 0: the kernel's
    /// Plaintext sent in the same write as the client's Finished, and
    /// then a close_notify too when `close_with_finished`.
    std::string with_finished;
    bool close_with_finished = false;
  };

  /// Connects to 127.0.0.1:`port` and runs the handshake (for up to 5 s).
  /// established() and error() tell how it went.
  tls_client(unsigned short port, const settings& s);
  tls_client(const tls_client&) = delete;
  tls_client& operator=(const tls_client&) = delete;
  ~tls_client();

  bool established() const noexcept { return channel_->established(); }
  const std::string& error() const noexcept { return error_; }
  tls::channel& channel() noexcept { return *channel_; }

  /// Encrypts and sends all of `plain`.
  void send(std::string_view plain);
  /// The next line without CRLF; "<timeout>" or "<closed>" (a close_notify
  /// or EOF; closed_by_notify() tells which) when none comes.
  std::string line(std::chrono::milliseconds limit = std::chrono::seconds(5));
  /// Lines until "PONG <token>", those before it.
  std::vector<std::string> sync(const std::string& token = "sync");
  /// True once the server sent close_notify.
  bool closed_by_notify() const noexcept { return notified_; }

  int fd() const noexcept { return fd_; }

private:
  // Reads once (waiting up to `limit`); false when the connection ended.
  bool read_some(std::chrono::milliseconds limit);
  void flush();

  std::unique_ptr<tls::client_context> ctx_;
  std::unique_ptr<tls::channel> channel_;
  int fd_ = -1;
  std::string plain_;
  std::string error_;
  std::string with_finished_;
  bool close_with_finished_ = false;
  bool ended_ = false;
  bool notified_ = false;
};

} // namespace natter::test

#endif // NATTER_TESTS_SERVER_TLS_CLIENT_HPP
