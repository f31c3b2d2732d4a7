// natter command line: verb and argument of one complete line whose text the
// stream stage has already validated (spec/natter.md section 7). Only the
// verb, the separator and a NICK argument are scanned: the argument of the
// other commands is the rest of the line, so its octets are read once, by the
// stream stage.
#include "natter/proto/command_parser.hpp"
#include "natter/proto/server_line.hpp"

namespace natter::proto
{

%%{
  machine natter_command;
  alphtype unsigned char;
  include natter_lexical "lexical.rl";

  action verb_end   { verb_end = p; }
  action arg_begin  { arg_begin = p; }
  action arg_found  { arg_begin = p; fbreak; }
  action nick_end   { arg_end = p; }
  action set_nick   { type = command_type::nick; }
  action set_msg    { type = command_type::msg; }
  action set_echo   { type = command_type::echo; }
  action set_ping   { type = command_type::ping; }
  action set_who    { type = command_type::who; }
  action set_help   { type = command_type::help; }
  action set_quit   { type = command_type::quit; }
  action set_unknown { unknown = true; }
  action nick_ok    { nick_state = 1; }
  action nick_bad   { nick_state = 2; }

  # The text is valid, so any octet but SP is part of a verb or an argument.
  nonsp        = any - sp;

  # Section 7.1: verb [1*SP argument]; the argument is everything after the
  # run of spaces, kept exactly as sent.
  verb_generic = ( 'MSG'i %set_msg | 'ECHO'i %set_echo | 'PING'i %set_ping
                 | 'WHO'i %set_who | 'HELP'i %set_help | 'QUIT'i %set_quit
                 | (nonsp+ - known_verb) %set_unknown ) %verb_end;
  generic_line = verb_generic (sp+ (nonsp >arg_found)?)?;

  # Section 7.2: NICK's argument is one nick; trailing spaces are ignored.
  nick_arg     = ( (nick %nick_end sp*) %nick_ok
                 | ((nonsp any*) - (nick sp*)) %nick_bad ) >arg_begin;
  nick_line    = 'NICK'i %set_nick %verb_end (sp+ nick_arg?)?;

  # A line that starts with a space has an empty verb (421); a line that is
  # empty or only spaces is ignored (section 4).
  leading_sp   = sp+ nonsp @set_unknown;

  main := sp* | leading_sp | generic_line | nick_line;
}%%

%% write data noerror nofinal noentry;

parse_event parse_valid_line(std::string_view line) noexcept
{
  const auto* const begin = reinterpret_cast<const unsigned char*>(line.data());
  const unsigned char* p = begin;
  const unsigned char* const pe = p + line.size();
  const unsigned char* const eof = pe;
  const unsigned char* verb_end = begin;
  const unsigned char* arg_begin = nullptr;
  const unsigned char* arg_end = pe;
  command_type type{};
  bool unknown = false;
  int nick_state = 0;
  int cs = 0;

  %% write init;
  %% write exec;

  auto view = [](const unsigned char* from, const unsigned char* to) {
    return std::string_view(reinterpret_cast<const char*>(from),
                            static_cast<std::size_t>(to - from));
  };

  parse_event ev;
  if (unknown)
  {
    ev.what = parse_event::kind::error;
    ev.error = parse_error::unknown_command;
    ev.token = view(begin, verb_end);
    return ev;
  }
  if (type == command_type{})
    return ev; // empty or only spaces: ignored
  ev.cmd.type = type;
  if (type == command_type::nick)
  {
    if (nick_state != 1)
    {
      ev.what = parse_event::kind::error;
      ev.error = nick_state == 0 ? parse_error::missing_argument
                                 : parse_error::invalid_nick;
      ev.token = nick_state == 0 ? verb_name(type) : view(arg_begin, pe);
      return ev;
    }
    ev.cmd.arg = view(arg_begin, arg_end);
  }
  else if (arg_begin != nullptr)
    ev.cmd.arg = view(arg_begin, pe);
  ev.what = parse_event::kind::command;
  return ev;
}

parse_event parse_line(std::string_view line) noexcept
{
  if (is_valid_text(line))
    return parse_valid_line(line);
  parse_event ev;
  ev.what = parse_event::kind::error;
  ev.error = parse_error::invalid_text;
  return ev;
}

} // namespace natter::proto
