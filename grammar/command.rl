// natter command line: verb and argument of one complete line whose text the
// stream stage has already validated (spec/natter.md section 7). Only the
// verb, the separator and the arguments of NICK, TELL (its nick) and HISTORY
// are scanned: the argument of the other commands is the rest of the line,
// so its octets are read once, by the stream stage.
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
  action set_ids    { type = command_type::ids; }
  action set_tell   { type = command_type::tell; }
  action set_history { type = command_type::history; }
  action text_found { text_begin = p; fbreak; }
  action num_begin  { num_begin = p; }
  action num_end    { num_end = p; }
  action hist_count { hist_state = 1; }
  action hist_after { hist_state = 2; }
  action hist_bad   { hist_state = 3; }
  action set_unknown { unknown = true; }
  action nick_ok    { nick_state = 1; }
  action nick_bad   { nick_state = 2; }

  # The text is valid, so any octet but SP is part of a verb or an argument.
  nonsp        = any - sp;

  # Section 7.1: verb [1*SP argument]; the argument is everything after the
  # run of spaces, kept exactly as sent.
  verb_generic = ( 'MSG'i %set_msg | 'ECHO'i %set_echo | 'PING'i %set_ping
                 | 'WHO'i %set_who | 'HELP'i %set_help | 'QUIT'i %set_quit
                 | 'IDS'i %set_ids
                 | (nonsp+ - known_verb) %set_unknown ) %verb_end;
  generic_line = verb_generic (sp+ (nonsp >arg_found)?)?;

  # Section 7.2: NICK's argument is one nick; trailing spaces are ignored.
  nick_arg     = ( (nick %nick_end sp*) %nick_ok
                 | ((nonsp any*) - (nick sp*)) %nick_bad ) >arg_begin;
  nick_line    = 'NICK'i %set_nick %verb_end (sp+ nick_arg?)?;

  # Section 7.10: TELL's nick is what the sender wrote up to the next SP; a
  # 434 may quote it only when it is a nick-arg (a text character, then
  # printable ASCII). The text after its run of SP is kept exactly as sent.
  nick_arg_tok = nonsp_char (0x21..0x7E)*;
  tell_nick    = ( nick_arg_tok %nick_ok | (nonsp+ - nick_arg_tok) %nick_bad )
                 >arg_begin %nick_end;
  tell_line    = 'TELL'i %set_tell %verb_end
                 (sp+ (tell_nick (sp+ (nonsp >text_found)?)?)?)?;

  # Section 7.11: HISTORY [<count> | AFTER <id>], trailing spaces ignored;
  # any other argument is refused (400) once registration is checked.
  count        = [1-9] [0-9]{0,8};
  msg_id       = '0' | [1-9] [0-9]{0,19};
  history_good = ((count >num_begin %num_end) sp*) %hist_count
               | ('AFTER'i sp+ (msg_id >num_begin %num_end) sp*) %hist_after;
  history_arg  = history_good
               | ((nonsp any*) - (count sp* | 'AFTER'i sp+ msg_id sp*)) %hist_bad;
  history_line = 'HISTORY'i %set_history %verb_end (sp+ history_arg?)?;

  # A line that starts with a space has an empty verb (421); a line that is
  # empty or only spaces is ignored (section 4).
  leading_sp   = sp+ nonsp @set_unknown;

  main := sp* | leading_sp | generic_line | nick_line | tell_line | history_line;
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
  const unsigned char* text_begin = nullptr;
  const unsigned char* num_begin = pe;
  const unsigned char* num_end = pe;
  command_type type{};
  bool unknown = false;
  int nick_state = 0; // 1: a valid nick (TELL: a nick-arg), 2: not one
  int hist_state = 0; // 1: a count, 2: AFTER and an id, 3: neither
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
  else if (type == command_type::tell)
  {
    if (arg_begin != nullptr)
      ev.cmd.arg = view(arg_begin, arg_end);
    if (text_begin != nullptr)
      ev.cmd.text = view(text_begin, pe);
    ev.cmd.valid = nick_state == 1 && text_begin != nullptr;
  }
  else if (type == command_type::history)
  {
    ev.cmd.valid = hist_state != 3;
    ev.cmd.after = hist_state == 2;
    if (hist_state == 1 || hist_state == 2)
      ev.cmd.arg = view(num_begin, num_end);
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
