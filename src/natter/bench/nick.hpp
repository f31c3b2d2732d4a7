// natter-bench: the nicks of its clients, "s" (sender) or "r" (receiver),
// a run tag of two letters, and the client's number, e.g. "skq12"; valid in
// natter and in RFC 2812 for up to 6 digits. Fanout reads a sender's number
// back from the nick the server relays.
#ifndef NATTER_BENCH_NICK_HPP
#define NATTER_BENCH_NICK_HPP

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace natter::bench
{

/// The two letters of a run's nicks.
using nick_tag = std::array<char, 2>;

/// The tag for the process `pid`: its last two base-26 digits as letters,
/// so that a rerun against the same server (a new PID) does not collide
/// with nicks the server has not freed yet.
nick_tag run_tag(unsigned pid) noexcept;

/// run_tag() of this process.
nick_tag this_run_tag() noexcept;

/// The nick of sender or receiver number `index`.
std::string make_nick(bool sender, const nick_tag& tag, std::uint32_t index);

/// If `nick` starts as a sender nick of `tag` ("s", the tag, a number),
/// stores the number in `index` and returns true.
bool parse_sender_nick(std::string_view nick, const nick_tag& tag, std::uint64_t& index) noexcept;

} // namespace natter::bench

#endif // NATTER_BENCH_NICK_HPP
