#include "natter/tls/channel.hpp"

#include "natter/tls/errors.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <new>

namespace natter::tls
{

namespace
{

channel& owner(BIO* b)
{
  return *static_cast<channel*>(BIO_get_data(b));
}

// The BIO under every channel: reads from the ciphertext receive() was
// given, writes into the channel's queue, and never blocks or fails.
int bio_write(BIO* b, const char* data, int size)
{
  BIO_clear_retry_flags(b);
  return owner(b).bio_write(data, size);
}

int bio_read(BIO* b, char* data, int size)
{
  BIO_clear_retry_flags(b);
  const int n = owner(b).bio_read(data, size);
  if (n == 0)
  {
    BIO_set_retry_read(b); // nothing yet: more may come
    return -1;
  }
  return n;
}

long bio_ctrl(BIO*, int cmd, long, void*)
{
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

int bio_create(BIO* b)
{
  BIO_set_init(b, 1);
  return 1;
}

BIO_METHOD* bio_method()
{
  static BIO_METHOD* const method = []
  {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "natter");
    if (m == nullptr || BIO_meth_set_write(m, bio_write) != 1 ||
        BIO_meth_set_read(m, bio_read) != 1 || BIO_meth_set_ctrl(m, bio_ctrl) != 1 ||
        BIO_meth_set_create(m, bio_create) != 1)
      throw std::bad_alloc();
    return m;
  }();
  return method;
}

// An address literal gets no SNI (RFC 6066 section 3) and is checked
// against the certificate's IP addresses, not its names.
bool is_address(const std::string& host)
{
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// The plaintext of the record being gathered (see channel::gather()).
std::span<char> staging() noexcept
{
  thread_local std::array<char, max_record> buffer;
  return buffer;
}

// What the thread's buffer keeps of its capacity once it is free: a
// natterd write (4 records) and more, not a client's one-off paste.
constexpr std::size_t kept_capacity = 256 * 1024;

} // namespace

// The ciphertext of this thread's channels goes here: every write of the
// channel that holds it appends, and it is free again once sent. So a
// batch that goes out whole allocates nothing and is not copied again; a
// remainder is copied into its channel (sent(), spill()).
struct thread_cipher
{
  std::string bytes;
  channel* owner = nullptr; // whose ciphertext `bytes` is (and then only it)

  thread_cipher(const thread_cipher&) = delete;
  thread_cipher& operator=(const thread_cipher&) = delete;
  thread_cipher() = default;
  ~thread_cipher()
  {
    // A channel that outlives its thread keeps its ciphertext (or, out of
    // memory, has none: its connection cannot go on).
    if (owner == nullptr)
      return;
    try
    {
      owner->spill();
    }
    catch (const std::bad_alloc&)
    {
      owner->shared_ = nullptr;
    }
  }

  void release() noexcept
  {
    owner = nullptr;
    if (bytes.capacity() > kept_capacity)
      bytes = std::string();
    else
      bytes.clear();
  }

  static thread_cipher& mine() noexcept
  {
    thread_local thread_cipher t;
    return t;
  }
};

std::span<char> plain_buffer() noexcept
{
  thread_local std::array<char, max_record> buffer;
  return buffer;
}

channel::channel(SSL_CTX* ctx, role r, const std::string& host, SSL_SESSION* resume)
    : ssl_(SSL_new(ctx)), server_(r == role::server)
{
  if (ssl_ == nullptr)
    throw tls::error("cannot create a TLS connection: " + drain_errors());
  BIO* b = BIO_new(bio_method());
  if (b == nullptr)
  {
    SSL_free(ssl_);
    throw std::bad_alloc();
  }
  BIO_set_data(b, this);
  SSL_set_bio(ssl_, b, b); // one reference, for both directions
  if (r == role::server)
  {
    SSL_set_accept_state(ssl_);
    return;
  }
  SSL_set_connect_state(ssl_);
  if (!host.empty())
  {
    const bool address = is_address(host);
    if (!address)
      SSL_set_tlsext_host_name(ssl_, host.c_str());
    if (SSL_CTX_get_verify_mode(ctx) != SSL_VERIFY_NONE)
    {
      const int ok = address ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host.c_str())
                             : SSL_set1_host(ssl_, host.c_str());
      if (ok != 1)
      {
        SSL_free(ssl_);
        throw tls::error("cannot verify the name '" + host + "': " + drain_errors());
      }
    }
  }
  if (resume != nullptr)
    SSL_set_session(ssl_, resume);
}

channel::~channel()
{
  if (shared_ != nullptr)
    shared_->release();
  SSL_free(ssl_);
}

void channel::connect()
{
  (void)step(nullptr, 0); // the ClientHello, then WANT_READ
}

int channel::step(char* to, std::size_t size)
{
  int r = 0;
  if (!established_)
  {
    r = SSL_do_handshake(ssl_);
    if (r == 1)
      established_ = true;
  }
  if (established_)
  {
    if (to == nullptr)
      return 0;
    r = SSL_read(ssl_, to, static_cast<int>(std::min<std::size_t>(size, max_record)));
    if (r > 0)
      return r;
  }
  switch (SSL_get_error(ssl_, r))
  {
  case SSL_ERROR_WANT_READ: ERR_clear_error(); return 0;
  case SSL_ERROR_ZERO_RETURN: return -1;
  default:
    if (const long v = SSL_get_verify_result(ssl_); v != X509_V_OK && !established_)
    {
      ERR_clear_error();
      error_ = std::string("certificate verify failed: ") + X509_verify_cert_error_string(v);
    }
    else
      error_ = drain_errors();
    // OpenSSL sends no alert for input that is not TLS at all (it cannot
    // tell the version to send one in): the server sends decode_error
    // itself, so the peer is told before the close (spec N-TLS-8).
    if (!established_ && server_ && pending().empty())
      bio_write("\x15\x03\x01\x00\x02\x02\x32", 7); // alert, TLS 1.0 framing, fatal, 50
    return -2;
  }
}

// Short pieces (lines) are gathered into one record; a piece that is a
// whole record on its own is encrypted in place.
std::size_t channel::gather(const char* data, std::size_t size, std::size_t staged)
{
  const std::span<char> record = staging();
  while (size > 0)
  {
    if (staged == 0 && size >= max_record)
    {
      write_record(data, max_record);
      data += max_record;
      size -= max_record;
      continue;
    }
    const std::size_t take = std::min(size, max_record - staged);
    std::memcpy(record.data() + staged, data, take);
    staged += take;
    data += take;
    size -= take;
    if (staged == max_record)
    {
      write_record(record.data(), staged);
      staged = 0;
    }
  }
  return staged;
}

void channel::seal(std::size_t staged)
{
  if (staged > 0)
    write_record(staging().data(), staged);
}

void channel::write_record(const char* data, std::size_t size)
{
  // The BIO takes everything, so a write after the handshake cannot be
  // partial or wait; it fails only when the connection already failed.
  if (SSL_write(ssl_, data, static_cast<int>(size)) <= 0 && error_.empty())
    error_ = drain_errors();
}

void channel::close_notify()
{
  if (notified_ || !established_)
    return;
  notified_ = true;
  SSL_shutdown(ssl_); // 0: sent, the peer's not yet seen; our BIO never blocks
  ERR_clear_error();
}

std::string_view channel::pending() const noexcept
{
  if (shared_ != nullptr)
    return shared_->bytes;
  return std::string_view(out_).substr(sent_);
}

void channel::sent(std::size_t n)
{
  if (shared_ != nullptr)
  {
    // The rest, if any, waits in out_ for the socket to take more, while
    // the thread's buffer serves the others.
    const std::string& bytes = shared_->bytes;
    if (n < bytes.size())
      out_.assign(bytes, n);
    shared_->release();
    shared_ = nullptr;
    return;
  }
  sent_ += n;
  if (sent_ >= out_.size())
  {
    out_ = std::string(); // gives the memory back: an idle channel holds none
    sent_ = 0;
  }
}

void channel::spill()
{
  out_.assign(shared_->bytes);
  sent_ = 0;
  shared_->release();
  shared_ = nullptr;
}

int channel::bio_read(char* to, int size) noexcept
{
  const std::size_t n = std::min(in_.size(), static_cast<std::size_t>(size));
  if (n == 0)
    return 0; // (an empty view may have no data pointer to copy from)
  std::memcpy(to, in_.data(), n);
  in_.remove_prefix(n);
  return static_cast<int>(n);
}

int channel::bio_write(const char* from, int size) noexcept
{
  try
  {
    if (shared_ == nullptr && out_.empty())
    {
      // Nothing of ours waits: write in the thread's buffer, moving out
      // what another channel left there unsent.
      thread_cipher& t = thread_cipher::mine();
      if (t.owner != nullptr)
        t.owner->spill();
      t.owner = this;
      shared_ = &t;
    }
    if (shared_ != nullptr)
    {
      shared_->bytes.append(from, static_cast<std::size_t>(size));
      return size;
    }
    if (sent_ > 0 && sent_ * 2 >= out_.size())
    {
      out_.erase(0, sent_);
      sent_ = 0;
    }
    out_.append(from, static_cast<std::size_t>(size));
    return size;
  }
  catch (const std::bad_alloc&)
  {
    return -1;
  }
}

std::string channel::alpn() const
{
  const unsigned char* p = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl_, &p, &len);
  return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), len);
}

std::string channel::version() const
{
  return SSL_get_version(ssl_);
}

bool channel::resumed() const
{
  return SSL_session_reused(ssl_) == 1;
}

std::string channel::peer_serial() const
{
  X509* cert = SSL_get0_peer_certificate(ssl_);
  return cert == nullptr ? std::string() : serial_of(cert);
}

SSL_SESSION* channel::session() const
{
  return SSL_get1_session(ssl_);
}

} // namespace natter::tls
