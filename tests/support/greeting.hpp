// Test support: the greeting a client of natterd reads first, built from the
// configuration it runs with (spec/natter.md section 9.1), so tests follow
// the adverts instead of repeating them. core/greeting.hpp builds it; its
// own tests (tests/core/greeting_test.cpp) hold it to literal lines.
#ifndef NATTER_TESTS_SUPPORT_GREETING_HPP
#define NATTER_TESTS_SUPPORT_GREETING_HPP

#include "natter/core/config.hpp"
#include "natter/core/greeting.hpp"

#include <string>

namespace natter::test
{

/// The greeting of a room with `cfg`, without its CRLF.
inline std::string greeting(const core::config& cfg = {})
{
  std::string line = core::greeting_line(cfg);
  line.resize(line.size() - 2);
  return line;
}

} // namespace natter::test

#endif // NATTER_TESTS_SUPPORT_GREETING_HPP
