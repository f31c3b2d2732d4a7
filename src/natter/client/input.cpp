#include "natter/client/input.hpp"

#include "natter/proto/ascii.hpp"
#include "natter/proto/server_line.hpp"

namespace natter::client
{
namespace
{

std::string_view trim(std::string_view s) noexcept
{
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s)
{
  std::string out(s);
  for (char& c : out)
    c = proto::ascii_lower(c);
  return out;
}

user_input make(user_input::kind what, std::string_view text = {})
{
  return user_input{what, std::string(text)};
}

} // namespace

user_input parse_user_input(std::string_view line)
{
  using kind = user_input::kind;
  if (trim(line).empty())
    return make(kind::nothing);
  if (line.front() != '/')
    return make(kind::message, line);
  if (line.starts_with("//"))
    return make(kind::message, line.substr(1));

  const std::size_t space = line.find(' ');
  const std::string name =
      lower(line.substr(1, space == std::string_view::npos ? std::string_view::npos : space - 1));
  const std::string_view arg =
      space == std::string_view::npos ? std::string_view{} : trim(line.substr(space + 1));

  if (name == "nick")
  {
    if (arg.empty())
      return make(kind::error, "usage: /nick NAME");
    if (!proto::is_valid_nick(arg))
      return make(kind::error, "invalid nick \"" + std::string(arg) +
                                   "\": 1-16 of A-Z a-z 0-9 _ -, starting with a letter");
    return make(kind::nick, arg);
  }
  if (name == "who" || name == "ping" || name == "help")
  {
    if (!arg.empty())
      return make(kind::error, "usage: /" + name);
    return make(name == "who" ? kind::who : name == "ping" ? kind::ping : kind::help);
  }
  if (name == "echo")
    return make(kind::echo, arg);
  if (name == "raw")
  {
    if (arg.empty())
      return make(kind::error, "usage: /raw LINE");
    return make(kind::raw, arg);
  }
  if (name == "quit")
    return make(kind::quit, arg);
  return make(kind::error, "unknown command /" + name + " (try /help)");
}

std::string_view user_help()
{
  return "/nick NAME     change your nick\n"
         "/who           list who is in the room\n"
         "/echo TEXT     have the server echo TEXT back\n"
         "/ping          measure the round trip to the server\n"
         "/raw LINE      send a protocol line as it is (e.g. /raw HELP)\n"
         "/help          this list\n"
         "/quit [REASON] leave (Ctrl-D does the same)\n"
         "//text         send a message that starts with /";
}

} // namespace natter::client
