#include "natter/proto/command.hpp"

namespace natter::proto
{

std::string_view verb_name(command_type type) noexcept
{
  switch (type)
  {
  case command_type::nick: return "NICK";
  case command_type::msg: return "MSG";
  case command_type::echo: return "ECHO";
  case command_type::ping: return "PING";
  case command_type::who: return "WHO";
  case command_type::help: return "HELP";
  case command_type::quit: return "QUIT";
  case command_type::tell: return "TELL";
  case command_type::history: return "HISTORY";
  case command_type::ids: return "IDS";
  }
  return {};
}

} // namespace natter::proto
