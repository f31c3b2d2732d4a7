#include "support/test_pki.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace natter::test
{

namespace
{

using key_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using cert_ptr = std::unique_ptr<X509, decltype(&X509_free)>;

key_ptr new_key()
{
  key_ptr k(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free);
  if (!k)
    throw std::runtime_error("test_pki: cannot make a key");
  return k;
}

void check(int ok, const char* what)
{
  if (ok != 1)
    throw std::runtime_error(std::string("test_pki: ") + what);
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value)
{
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr)
    throw std::runtime_error("test_pki: bad extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

cert_ptr make_cert(EVP_PKEY* key, const std::string& cn, long serial, long from_s, long for_s,
                   X509* issuer)
{
  cert_ptr c(X509_new(), X509_free);
  X509_set_version(c.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), from_s);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), from_s + for_s);
  X509_set_pubkey(c.get(), key);
  X509_NAME* name = X509_get_subject_name(c.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(c.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
  return c;
}

void write_pem(const std::filesystem::path& path, const std::vector<X509*>& certs, EVP_PKEY* key)
{
  // Written to a new file renamed over the old, as an ACME client does, so
  // a reader never sees half a file.
  const std::filesystem::path tmp = path.string() + ".new";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr)
    throw std::runtime_error("test_pki: cannot write " + tmp.string());
  for (X509* c : certs)
    PEM_write_X509(f, c);
  if (key != nullptr)
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  std::filesystem::rename(tmp, path);
}

} // namespace

struct test_pki::keys
{
  key_ptr ca_key = new_key();
  cert_ptr ca = cert_ptr(nullptr, X509_free);
};

test_pki::test_pki(const std::string& name) : keys_(std::make_unique<keys>())
{
  std::string tmpl = (std::filesystem::temp_directory_path() / "natter-pki-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr)
    throw std::runtime_error("test_pki: mkdtemp failed");
  dir_ = tmpl;
  keys_->ca = make_cert(keys_->ca_key.get(), name, 1, -3600, 365L * 86400, nullptr);
  X509* ca = keys_->ca.get();
  add_extension(ca, ca, NID_basic_constraints, "critical,CA:TRUE");
  add_extension(ca, ca, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(ca, ca, NID_subject_key_identifier, "hash");
  check(X509_sign(ca, keys_->ca_key.get(), EVP_sha256()) > 0 ? 1 : 0, "cannot sign the CA");
  ca_cert_ = dir_ / "ca.crt";
  write_pem(ca_cert_, {ca}, nullptr);
}

test_pki::~test_pki()
{
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

issued test_pki::issue(const std::string& stem, const leaf& l)
{
  const long serial = l.serial != 0 ? l.serial : next_serial_++;
  key_ptr key = new_key();
  const std::string cn = l.dns.empty() ? std::string("natter test") : l.dns.front();
  cert_ptr c = make_cert(key.get(), cn, serial, static_cast<long>(l.valid_from.count()),
                         static_cast<long>(l.valid_for.count()), keys_->ca.get());
  std::string san;
  for (const std::string& d : l.dns)
    san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
  for (const std::string& ip : l.ips)
    san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
  add_extension(c.get(), keys_->ca.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(c.get(), keys_->ca.get(), NID_key_usage, "critical,digitalSignature");
  add_extension(c.get(), keys_->ca.get(), NID_ext_key_usage, "serverAuth");
  if (!san.empty())
    add_extension(c.get(), keys_->ca.get(), NID_subject_alt_name, san);
  check(X509_sign(c.get(), keys_->ca_key.get(), EVP_sha256()) > 0 ? 1 : 0,
        "cannot sign a certificate");
  issued out{dir_ / (stem + ".crt"), dir_ / (stem + ".key"), serial};
  write_pem(out.cert, {c.get(), keys_->ca.get()}, nullptr);
  write_pem(out.key, {}, key.get());
  return out;
}

void test_pki::write_unrelated_key(const std::filesystem::path& path)
{
  key_ptr key = new_key();
  write_pem(path, {}, key.get());
}

} // namespace natter::test
