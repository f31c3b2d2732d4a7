// A simulated client of the core, for tests: the connection natterd would
// give it (the same state machine), a socket that takes everything it is
// given, and what it has received so far. Time is passed in.
#ifndef NATTER_TESTS_SUPPORT_CORE_CLIENT_HPP
#define NATTER_TESTS_SUPPORT_CORE_CLIENT_HPP

#include "natter/core/connection.hpp"
#include "natter/core/room.hpp"

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace natter::test
{

using lines = std::vector<std::string>;

/// The time tests start at.
inline const core::time_point t0{};

/// One simulated client.
struct core_client : core::transport
{
  explicit core_client(core::room& r, core::time_point now = t0) : c(r, *this, now), s(c.session())
  {
    c.start();
  }

  void wake() noexcept override { ++wakes; }

  /// Everything written to the client since the last call, split into lines.
  lines read(core::time_point now = t0)
  {
    std::array<core::piece, 8> pieces;
    for (std::size_t count; (count = c.peek(pieces, 4096)) > 0;)
    {
      std::size_t n = 0;
      for (std::size_t i = 0; i < count; ++i)
      {
        raw.append(pieces[i].data, pieces[i].size);
        n += pieces[i].size;
      }
      c.wrote(n, now);
    }
    lines out;
    std::size_t pos;
    while ((pos = raw.find("\r\n")) != std::string::npos)
    {
      out.push_back(raw.substr(0, pos));
      raw.erase(0, pos + 2);
    }
    return out;
  }

  void send(std::string_view bytes, core::time_point now = t0) { c.received(bytes, now); }

  /// The connection's timer fires at `now`.
  void tick(core::time_point now) { c.timer_fired(now); }

  int wakes = 0;
  std::string raw;
  core::connection c;
  core::session& s; // for what the tests look at
};

/// natterd's limits without flood control: tests send as fast as they like.
inline core::config fast()
{
  core::config c;
  c.rate = 0;
  return c;
}

/// Registers `c` as `nick` and reads what that brings.
inline void join(core_client& c, const std::string& nick)
{
  c.send("NICK " + nick + "\n");
  c.read();
}

} // namespace natter::test

#endif // NATTER_TESTS_SUPPORT_CORE_CLIENT_HPP
