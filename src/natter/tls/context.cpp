#include "natter/tls/context.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>

namespace natter::tls
{

namespace
{

// Mozilla's "intermediate" configuration (server-side TLS guidelines,
// version 5.7): TLS 1.2 suites with forward secrecy and AEAD only, in the
// recommended order; TLS 1.3's three; the named groups.
constexpr char tls12_ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
constexpr char tls13_suites[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr char groups[] = "X25519:prime256v1:secp384r1";

// The protocol list in ALPN's wire form: a length octet, then the name.
constexpr unsigned char alpn_wire[] = {6, 'n', 'a', 't', 't', 'e', 'r'};
static_assert(sizeof alpn_wire == 1 + sizeof alpn_protocol - 1);

SSL_CTX* new_context(const SSL_METHOD* method)
{
  SSL_CTX* ctx = SSL_CTX_new(method);
  if (ctx == nullptr)
    throw error("cannot create a TLS context: " + drain_errors());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // OpenSSL frees a connection's record buffers whenever they are empty:
  // an idle connection keeps none (spec section 3.1's memory note).
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_cipher_list(ctx, tls12_ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(ctx, tls13_suites) != 1 ||
      SSL_CTX_set1_groups_list(ctx, groups) != 1)
  {
    SSL_CTX_free(ctx);
    throw error("cannot configure TLS: " + drain_errors());
  }
  return ctx;
}

// ALPN: `natter` when the client offers it; otherwise no protocol, and the
// connection goes on (spec N-TLS-4).
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned inlen, void*)
{
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, alpn_wire, sizeof alpn_wire, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// Seals (enc 1) or opens (enc 0) a session ticket with the context's
// ticket_keys (SSL_CTX_set_tlsext_ticket_key_evp_cb(3)): 1 to use the keys,
// 0 for a ticket they did not seal (a full handshake follows), -1 on error.
int seal_ticket(SSL* ssl, unsigned char* key_name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                EVP_MAC_CTX* mac, int enc)
{
  const auto* k = static_cast<const ticket_keys*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (k == nullptr)
    return -1;
  if (enc == 0 && std::memcmp(key_name, k->name, sizeof k->name) != 0)
    return 0;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
                                                           const_cast<unsigned char*>(k->integrity),
                                                           sizeof k->integrity),
                         OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  if (EVP_MAC_CTX_set_params(mac, params) != 1)
    return -1;
  if (enc != 0)
  {
    std::memcpy(key_name, k->name, sizeof k->name);
    if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) != 1 ||
        EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k->cipher, iv) != 1)
      return -1;
    return 1;
  }
  return EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k->cipher, iv) == 1 ? 1 : -1;
}

// A file that cannot be opened is named with the system's reason, which
// OpenSSL's own message hides behind "system library".
void check_readable(const std::string& path, load_error::file which)
{
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr)
    throw load_error(which, "cannot read " + path + ": " + std::strerror(errno));
  std::fclose(f);
}

std::string rfc3339(const ASN1_TIME* t)
{
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1)
    return "?";
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Seconds since 1970 (0 when OpenSSL cannot read the time).
std::time_t epoch_seconds(const ASN1_TIME* t)
{
  std::tm tm{};
  return ASN1_TIME_to_tm(t, &tm) == 1 ? ::timegm(&tm) : 0;
}

} // namespace

std::shared_ptr<const ticket_keys> ticket_keys::make()
{
  std::shared_ptr<ticket_keys> k(new ticket_keys);
  if (RAND_bytes(k->name, sizeof k->name) != 1 || RAND_bytes(k->cipher, sizeof k->cipher) != 1 ||
      RAND_bytes(k->integrity, sizeof k->integrity) != 1)
    throw error("cannot make session ticket keys: " + drain_errors());
  return k;
}

std::shared_ptr<const server_context>
server_context::load(const std::string& cert_file, const std::string& key_file,
                     std::chrono::system_clock::time_point now,
                     std::shared_ptr<const ticket_keys> tickets)
{
  check_readable(cert_file, load_error::file::cert);
  check_readable(key_file, load_error::file::key);
  ERR_clear_error();
  std::shared_ptr<server_context> c(new server_context(new_context(TLS_server_method())));
  SSL_CTX* ctx = c->ctx_;
  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr);
  SSL_CTX_set_dh_auto(ctx, 1); // ffdhe2048 for DHE with a 2048-bit key
  if (tickets)
  {
    c->tickets_ = std::move(tickets);
    SSL_CTX_set_app_data(ctx, const_cast<ticket_keys*>(c->tickets_.get()));
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, seal_ticket);
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1)
    throw load_error(load_error::file::cert,
                     cert_file + ": not a PEM certificate chain (" + drain_errors() + ")");
  {
    const std::unique_ptr<BIO, decltype(&BIO_free)> in(BIO_new_file(key_file.c_str(), "r"),
                                                       BIO_free);
    const std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        in ? PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr) : nullptr, EVP_PKEY_free);
    if (!key)
      throw load_error(load_error::file::key,
                       key_file + ": not a PEM private key (" + drain_errors() + ")");
    if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1)
    {
      ERR_clear_error();
      throw load_error(load_error::file::key,
                       key_file + " does not match the certificate in " + cert_file);
    }
  }
  if (SSL_CTX_check_private_key(ctx) != 1)
    throw load_error(load_error::file::key,
                     key_file + " does not match the certificate in " + cert_file);
  X509* cert = SSL_CTX_get0_certificate(ctx);
  const std::time_t at = std::chrono::system_clock::to_time_t(now);
  c->not_after_ = rfc3339(X509_get0_notAfter(cert));
  c->expires_ = std::chrono::system_clock::from_time_t(epoch_seconds(X509_get0_notAfter(cert)));
  if (X509_cmp_time(X509_get0_notAfter(cert), const_cast<std::time_t*>(&at)) <= 0)
    throw load_error(load_error::file::cert,
                     cert_file + ": the certificate expired at " + c->not_after_);
  c->serial_ = serial_of(cert);
  return c;
}

server_context::~server_context()
{
  SSL_CTX_free(ctx_);
}

client_context::client_context(const client_settings& s) : ctx_(new_context(TLS_client_method()))
{
  SSL_CTX_set_alpn_protos(ctx_, alpn_wire, sizeof alpn_wire); // 0 on success
  // Clients keep sessions only through channel::session(): no cache here.
  SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_OFF);
  if (!s.verify)
    return;
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  const int ok = s.ca_file.empty()
                     ? SSL_CTX_set_default_verify_paths(ctx_)
                     : SSL_CTX_load_verify_locations(ctx_, s.ca_file.c_str(), nullptr);
  if (ok != 1)
  {
    const std::string why = drain_errors();
    SSL_CTX_free(ctx_);
    throw error(s.ca_file.empty() ? "cannot load the system's trust store: " + why
                                  : "cannot load " + s.ca_file + ": " + why);
  }
}

client_context::~client_context()
{
  SSL_CTX_free(ctx_);
}

} // namespace natter::tls
