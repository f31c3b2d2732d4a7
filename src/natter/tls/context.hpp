// TLS configurations: a server's certificate and key, loaded and checked
// once and then shared by every connection that is handed it (a reload
// makes a new one; connections keep the one they started with), and a
// client's trust settings.
#ifndef NATTER_TLS_CONTEXT_HPP
#define NATTER_TLS_CONTEXT_HPP

#include "natter/tls/errors.hpp"

#include <chrono>
#include <memory>
#include <string>

using SSL_CTX = struct ssl_ctx_st;

namespace natter::tls
{

/// The ALPN protocol natter's clients offer and servers select (spec
/// N-TLS-4).
inline constexpr char alpn_protocol[] = "natter";

/// A certificate or key that cannot be served, and which of the two files
/// is to blame.
struct load_error : error
{
  enum class file
  {
    cert,
    key,
  };
  load_error(file f, const std::string& what) : error(what), which(f) {}
  file which;
};

/// The keys that seal a server's session tickets (RFC 8446 section 4.6.1,
/// RFC 5077): made once, from the system's random source, and shared by
/// every server_context that is handed them, so a ticket issued before a
/// certificate reload still resumes after it. They live as long as the
/// process: a restart makes new ones.
class ticket_keys
{
public:
  /// Fresh keys. Throws error when the random source fails.
  static std::shared_ptr<const ticket_keys> make();

  unsigned char name[16];      ///< names the keys in every ticket they seal
  unsigned char cipher[32];    ///< AES-256-CBC
  unsigned char integrity[32]; ///< HMAC-SHA256

private:
  ticket_keys() = default;
};

/// A server's TLS configuration (spec section 3.1): TLS 1.2 and 1.3 with
/// Mozilla's "intermediate" ciphers, no compression, no renegotiation,
/// session tickets, ALPN `natter` selected when offered, and one
/// certificate chain and key.
class server_context
{
public:
  /// Loads the chain from `cert_file` and the key from `key_file` (PEM)
  /// and checks that they match and that the certificate has not expired
  /// at `now`. With `tickets`, session tickets are sealed with them
  /// instead of keys of this context's own. Throws load_error saying what
  /// is wrong with which file.
  static std::shared_ptr<const server_context>
  load(const std::string& cert_file, const std::string& key_file,
       std::chrono::system_clock::time_point now = std::chrono::system_clock::now(),
       std::shared_ptr<const ticket_keys> tickets = nullptr);

  server_context(const server_context&) = delete;
  server_context& operator=(const server_context&) = delete;
  ~server_context();

  SSL_CTX* native() const noexcept { return ctx_; }
  /// The certificate's serial number (hex) and the end of its validity
  /// (RFC 3339, UTC), for the log.
  const std::string& serial() const noexcept { return serial_; }
  const std::string& not_after() const noexcept { return not_after_; }
  /// The end of the certificate's validity (notAfter).
  std::chrono::system_clock::time_point expires() const noexcept { return expires_; }

private:
  explicit server_context(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
  std::shared_ptr<const ticket_keys> tickets_; // the ticket callback's, as long as ctx_
  std::string serial_;
  std::string not_after_;
  std::chrono::system_clock::time_point expires_{};
};

/// What a client trusts.
struct client_settings
{
  bool verify = true;  ///< check the chain and the host name (spec N-TLS-10)
  std::string ca_file; ///< PEM trust anchors; empty: the system's store
};

/// A client's TLS configuration: TLS 1.2 and 1.3, ALPN `natter` offered,
/// the server's certificate verified unless told otherwise, sessions kept
/// for resumption.
class client_context
{
public:
  /// Throws tls::error when the CA file cannot be used.
  explicit client_context(const client_settings& s);
  client_context(const client_context&) = delete;
  client_context& operator=(const client_context&) = delete;
  ~client_context();

  SSL_CTX* native() const noexcept { return ctx_; }

private:
  SSL_CTX* ctx_;
};

} // namespace natter::tls

#endif // NATTER_TLS_CONTEXT_HPP
