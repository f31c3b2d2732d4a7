// Test support: a throwaway certificate authority and the certificates and
// keys it signs, made with OpenSSL in a temporary directory by each test
// that needs them (no key is ever committed). ECDSA P-256, so a key costs
// microseconds.
#ifndef NATTER_TESTS_SUPPORT_TEST_PKI_HPP
#define NATTER_TESTS_SUPPORT_TEST_PKI_HPP

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace natter::test
{

/// A certificate and its key, as PEM files.
struct issued
{
  std::filesystem::path cert; ///< the leaf, then the CA (the full chain)
  std::filesystem::path key;
  long serial = 0;
};

/// A CA in a directory of its own, removed with it.
class test_pki
{
public:
  /// A new CA named `name`, valid from an hour ago for a year.
  explicit test_pki(const std::string& name = "natter test CA");
  test_pki(const test_pki&) = delete;
  test_pki& operator=(const test_pki&) = delete;
  ~test_pki();

  /// What a leaf certificate says.
  struct leaf
  {
    std::vector<std::string> dns = {"localhost"};
    std::vector<std::string> ips = {"127.0.0.1", "::1"};
    std::chrono::seconds valid_from{-3600}; ///< relative to now
    std::chrono::seconds valid_for{86400};  ///< from valid_from
    long serial = 0;                        ///< 0: the next one
  };

  /// Issues a leaf signed by this CA, written as `<stem>.crt` and
  /// `<stem>.key` in the directory (overwriting them in place).
  issued issue(const std::string& stem, const leaf& l);
  issued issue(const std::string& stem) { return issue(stem, leaf{}); }

  /// Writes a fresh key, unrelated to any certificate, to `path`.
  void write_unrelated_key(const std::filesystem::path& path);

  /// The CA's certificate (PEM), to trust.
  const std::filesystem::path& ca_cert() const noexcept { return ca_cert_; }
  const std::filesystem::path& dir() const noexcept { return dir_; }

private:
  struct keys;
  std::filesystem::path dir_;
  std::filesystem::path ca_cert_;
  std::unique_ptr<keys> keys_;
  long next_serial_ = 100;
};

} // namespace natter::test

#endif // NATTER_TESTS_SUPPORT_TEST_PKI_HPP
