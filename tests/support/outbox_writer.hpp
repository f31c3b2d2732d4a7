// Plays a connection's writer in memory: peeks at an outbox and "writes"
// what a socket taking at most `limit` octets would.
#ifndef NATTER_TESTS_SUPPORT_OUTBOX_WRITER_HPP
#define NATTER_TESTS_SUPPORT_OUTBOX_WRITER_HPP

#include "natter/core/outbox.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>

namespace natter::test
{

/// One write: appends up to `limit` octets of `out`'s front to `into` and
/// reports them written. Returns the octets written; 0 when none are
/// pending (the outbox is then idle and wakes its transport on output).
inline std::size_t write_some(core::outbox& out, std::string& into,
                              std::size_t limit = std::size_t(-1))
{
  std::array<core::piece, 8> pieces;
  const std::size_t count = out.peek(pieces, 4096);
  std::size_t n = 0;
  for (std::size_t i = 0; i < count && n < limit; ++i)
  {
    const std::size_t part = std::min(pieces[i].size, limit - n);
    into.append(pieces[i].data, part);
    n += part;
  }
  if (count > 0)
    out.written(n); // even 0: a peek is always answered (outbox::peek)
  return n;
}

} // namespace natter::test

#endif // NATTER_TESTS_SUPPORT_OUTBOX_WRITER_HPP
