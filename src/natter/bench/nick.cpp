#include "natter/bench/nick.hpp"

#include "natter/bench/parse_number.hpp"

#include <unistd.h>

namespace natter::bench
{

nick_tag run_tag(unsigned pid) noexcept
{
  return {static_cast<char>('a' + pid % 26), static_cast<char>('a' + (pid / 26) % 26)};
}

nick_tag this_run_tag() noexcept
{
  return run_tag(static_cast<unsigned>(::getpid()));
}

std::string make_nick(bool sender, const nick_tag& tag, std::uint32_t index)
{
  std::string n(1, sender ? 's' : 'r');
  n += tag[0];
  n += tag[1];
  n += std::to_string(index);
  return n;
}

bool parse_sender_nick(std::string_view nick, const nick_tag& tag, std::uint64_t& index) noexcept
{
  if (nick.size() < 4 || nick[0] != 's' || nick[1] != tag[0] || nick[2] != tag[1])
    return false;
  nick.remove_prefix(3);
  return parse_u64(nick, index);
}

} // namespace natter::bench
