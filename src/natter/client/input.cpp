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
  return user_input{what, std::string(text), {}};
}

// "/tell NICK TEXT": the text is kept as typed after the spaces that
// follow the nick, as the server keeps it (spec 7.10).
user_input parse_tell(std::string_view name, std::string_view rest)
{
  using kind = user_input::kind;
  const std::string usage = "usage: /" + std::string(name) + " NICK TEXT";
  while (!rest.empty() && rest.front() == ' ')
    rest.remove_prefix(1);
  const std::size_t space = rest.find(' ');
  if (rest.empty() || space == std::string_view::npos)
    return make(kind::error, usage);
  const std::string_view nick = rest.substr(0, space);
  std::string_view text = rest.substr(space);
  while (!text.empty() && text.front() == ' ')
    text.remove_prefix(1);
  if (trim(text).empty())
    return make(kind::error, usage);
  if (!proto::is_valid_nick(nick))
    return make(kind::error, "invalid nick \"" + std::string(nick) + "\"");
  user_input in = make(kind::tell, text);
  in.target = nick;
  return in;
}

// "/history [N]": N from 1 to 999999999, the counts HISTORY takes (spec 7.11).
user_input parse_history(std::string_view arg)
{
  using kind = user_input::kind;
  const bool count = !arg.empty() && arg.size() <= 9 && arg.front() != '0' &&
                     arg.find_first_not_of("0123456789") == std::string_view::npos;
  if (!arg.empty() && !count)
    return make(kind::error, "usage: /history [N], N a number from 1 to 999999999");
  return make(kind::history, arg);
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
  if (name == "tell" || name == "msg")
    return parse_tell(name, space == std::string_view::npos ? std::string_view{}
                                                            : line.substr(space + 1));
  if (name == "history")
    return parse_history(arg);
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
  return "/nick NAME       change your nick\n"
         "/who             list who is in the room\n"
         "/tell NICK TEXT  say TEXT to NICK alone (/msg NICK TEXT does the same)\n"
         "/history [N]     show the last N messages (all kept) from before you came\n"
         "/echo TEXT       have the server echo TEXT back\n"
         "/ping            measure the round trip to the server\n"
         "/raw LINE        send a protocol line as it is (e.g. /raw HELP)\n"
         "/help            this list\n"
         "/quit [REASON]   leave (Ctrl-D does the same)\n"
         "//text           send a message that starts with /";
}

} // namespace natter::client
