#include "natter/tls/errors.hpp"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <memory>

namespace natter::tls
{

std::string drain_errors()
{
  std::string out;
  while (const unsigned long e = ERR_get_error())
  {
    const char* reason = ERR_reason_error_string(e);
    std::string text = reason != nullptr ? reason : "error " + std::to_string(ERR_GET_REASON(e));
    if (out.find(text) != std::string::npos)
      continue; // OpenSSL often queues the same reason at several levels
    if (!out.empty())
      out += "; ";
    out += text;
  }
  return out.empty() ? "unknown error" : out;
}

std::string serial_of(const X509* cert)
{
  const std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(
      ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr), BN_free);
  if (!bn)
    return "?";
  const std::unique_ptr<char, void (*)(char*)> hex(BN_bn2hex(bn.get()),
                                                   [](char* p) { OPENSSL_free(p); });
  return hex ? std::string(hex.get()) : "?";
}

} // namespace natter::tls
