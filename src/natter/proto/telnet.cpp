#include "natter/proto/telnet.hpp"

namespace natter::proto
{

// Marks `option` in `set`; returns true when it was marked already.
bool telnet_answerer::refused(std::array<std::uint64_t, 4>& set, std::uint8_t option) noexcept
{
  std::uint64_t& word = set[option / 64];
  const std::uint64_t bit = std::uint64_t{1} << (option % 64);
  const bool before = (word & bit) != 0;
  word |= bit;
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
    else if (!refused(wont_sent_, option))
      reply = telnet_verb::wont_;
    break;
  case telnet_verb::will_:
    if (!refused(dont_sent_, option))
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
