// For tests/bench/smoke.sh: a throwaway CA and a certificate for
// localhost, 127.0.0.1 and ::1 signed by it (tests/support/test_pki),
// copied into DIR as ca.crt, natterd.crt and natterd.key. The test removes
// DIR when it ends; no key is ever committed.
#include "support/test_pki.hpp"

#include <cstdio>
#include <exception>
#include <filesystem>

int main(int argc, char** argv)
{
  if (argc != 2)
  {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  try
  {
    namespace fs = std::filesystem;
    const fs::path dir = argv[1];
    natter::test::test_pki pki;
    const natter::test::issued leaf = pki.issue("natterd");
    fs::copy_file(pki.ca_cert(), dir / "ca.crt", fs::copy_options::overwrite_existing);
    fs::copy_file(leaf.cert, dir / "natterd.crt", fs::copy_options::overwrite_existing);
    fs::copy_file(leaf.key, dir / "natterd.key", fs::copy_options::overwrite_existing);
    fs::permissions(dir / "natterd.key", fs::perms::owner_read | fs::perms::owner_write);
    return 0;
  }
  catch (const std::exception& e)
  {
    std::fprintf(stderr, "write_test_pki: %s\n", e.what());
    return 1;
  }
}
