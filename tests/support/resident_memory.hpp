// Test support: how much memory another process holds, from /proc, for
// tests that show a program's memory stays bounded.
#ifndef NATTER_TESTS_SUPPORT_RESIDENT_MEMORY_HPP
#define NATTER_TESTS_SUPPORT_RESIDENT_MEMORY_HPP

#include <sys/types.h>

#include <fstream>
#include <string>

namespace natter::test
{

/// Resident memory of process `pid` in KiB (VmRSS), or -1.
inline long resident_kib(pid_t pid)
{
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (status >> key)
  {
    long kib = 0;
    if (key == "VmRSS:" && status >> kib)
      return kib;
  }
  return -1;
}

} // namespace natter::test

#endif // NATTER_TESTS_SUPPORT_RESIDENT_MEMORY_HPP
