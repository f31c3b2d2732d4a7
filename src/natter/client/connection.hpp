// The client's connection: resolve, connect, read lines, queued writes
// (the shape of Asio's chat_client), over plain TCP or over TLS (spec
// section 3.1) through natter_tls's channel. Single-threaded: every handler
// runs on the one io_context thread.
#ifndef NATTER_CLIENT_CONNECTION_HPP
#define NATTER_CLIENT_CONNECTION_HPP

#include "natter/proto/server_line.hpp"
#include "natter/tls/channel.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <type_traits>

namespace natter::tls
{
class client_context;
}

namespace natter::client
{

/// How a TLS connection failed; connection::tls_reason() says what failed,
/// in one line. Values are stable; never renumber.
enum class tls_failure
{
  handshake = 1, ///< the handshake failed: a retry would fail alike (N-TLS-13)
  cut_short,     ///< the peer closed before the handshake completed
  record,        ///< a record of an established connection could not be read
};

/// The error category named "natter.client.tls".
const std::error_category& tls_category() noexcept;

/// Wraps a tls_failure as a std::error_code.
std::error_code make_error_code(tls_failure f) noexcept;

/// One connection at a time to a natter server; reusable after close().
class connection
{
public:
  /// Called once per connect(): an empty error code means connected (over
  /// TLS: the handshake is complete).
  using connect_handler = std::function<void(std::error_code)>;
  /// Called for every line received, without its terminator.
  using line_handler = std::function<void(std::string_view)>;
  /// Called once when an established connection ends (EOF, a close_notify
  /// or an error).
  using close_handler = std::function<void(std::error_code)>;

  /// Over TLS with `tls` (which must outlive the connection), plain TCP
  /// without.
  connection(asio::io_context& io, line_handler on_line, close_handler on_close,
             const tls::client_context* tls = nullptr);
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection();

  /// Resolves `host`, connects to the first endpoint that answers and, over
  /// TLS, runs the handshake, checking the certificate against `host`. A
  /// session from the previous connection is offered for resumption.
  void connect(const std::string& host, std::uint16_t port, connect_handler done);

  /// Queues `line` plus CRLF for sending.
  void send(std::string_view line);

  /// Closes the socket (over TLS, after a close_notify if the socket takes
  /// it at once); no handler of this connection runs afterwards.
  void close();

  /// Octets queued and not yet written (of plaintext, over TLS).
  std::size_t queued_bytes() const noexcept { return queued_bytes_; }

  /// Called whenever queued lines have been written (for input pacing).
  void on_written(std::function<void()> handler) { on_written_ = std::move(handler); }

  /// True while connected.
  bool is_open() const noexcept { return socket_.is_open() && connected_; }

  /// Why the last TLS connection failed (with a tls_failure), in one line.
  const std::string& tls_reason() const noexcept { return tls_reason_; }
  /// The TLS version of the connection ("TLSv1.3"), "" over plain TCP.
  std::string tls_version() const;
  /// True when the TLS session of this connection was resumed.
  bool tls_resumed() const;

private:
  struct session_free
  {
    void operator()(SSL_SESSION* s) const noexcept;
  };

  void on_connected(std::error_code ec);
  void established();
  void do_read();
  void on_plain(unsigned gen, std::string_view bytes);
  void on_cipher(unsigned gen, std::string_view bytes);
  void do_write();
  void end(std::error_code ec);

  asio::ip::tcp::resolver resolver_;
  asio::ip::tcp::socket socket_;
  line_handler on_line_;
  close_handler on_close_;
  const tls::client_context* tls_;
  // Shared so that a handler that closes the connection in the middle of
  // channel::receive() does not free the channel under it.
  std::shared_ptr<tls::channel> channel_;
  std::unique_ptr<SSL_SESSION, session_free> session_; // to resume next time
  std::string host_;                                   // to check the certificate against
  connect_handler connect_done_;                       // until connected, over TLS: the handshake
  std::string tls_reason_;
  proto::server_line_reader reader_;
  std::array<char, 4096> buffer_{};
  std::string queued_;        // lines not yet handed to the socket
  std::string out_;           // the octets being written
  std::size_t out_plain_ = 0; // plaintext octets out_ carries
  std::size_t queued_bytes_ = 0;
  std::function<void()> on_written_;
  bool connected_ = false;
  bool writing_ = false;
  bool received_ = false; // application data came: TLS 1.3 tickets are in
  // Bumped by close(): handlers of an older connection see a different
  // value and return without touching the new one.
  unsigned generation_ = 0;
};

} // namespace natter::client

template <>
struct std::is_error_code_enum<natter::client::tls_failure> : std::true_type
{
};

#endif // NATTER_CLIENT_CONNECTION_HPP
