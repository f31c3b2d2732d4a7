#include "natter/proto/telnet.hpp"

#include <new>

namespace natter::proto
{

// Marks `bit`; returns true when it was marked already. Without memory for
// the set it also returns true: answering nothing can never loop.
bool telnet_answerer::refused(unsigned bit) noexcept
{
  if (!refused_)
  {
    refused_.reset(new (std::nothrow) option_set{});
    if (!refused_)
      return true;
  }
  std::uint64_t& word = (*refused_)[bit / 64];
  const std::uint64_t mask = std::uint64_t{1} << (bit % 64);
  const bool before = (word & mask) != 0;
  word |= mask;
  return before;
}

std::string_view telnet_answerer::answer(telnet_verb verb, std::uint8_t option,
                                         std::array<char, 3>& buf) noexcept
{
  telnet_verb reply{};
  switch (verb)
  {
  case telnet_verb::do_:
    if (option == telnet_timing_mark)
      reply = telnet_verb::will_; // RFC 860: answered every time
    else if (!refused(256u + option))
      reply = telnet_verb::wont_;
    break;
  case telnet_verb::will_:
    if (!refused(option))
      reply = telnet_verb::dont_;
    break;
  case telnet_verb::wont_:
  case telnet_verb::dont_: break; // refusals are never answered
  }
  if (reply == telnet_verb{})
    return {};
  buf = {static_cast<char>(telnet_iac), static_cast<char>(reply), static_cast<char>(option)};
  return {buf.data(), buf.size()};
}

} // namespace natter::proto
