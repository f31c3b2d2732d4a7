// What the TLS library reports, as one line each.
#ifndef NATTER_TLS_ERRORS_HPP
#define NATTER_TLS_ERRORS_HPP

#include <stdexcept>
#include <string>

using X509 = struct x509_st;

namespace natter::tls
{

/// A TLS failure with its reason in one line.
struct error : std::runtime_error
{
  using std::runtime_error::runtime_error;
};

/// OpenSSL's error queue of this thread as one line (the reasons, joined by
/// "; "), emptying it; "unknown error" when it is empty.
std::string drain_errors();

/// A certificate's serial number in upper-case hex ("0" for zero).
std::string serial_of(const X509* cert);

} // namespace natter::tls

#endif // NATTER_TLS_ERRORS_HPP
