// natter server->client lines (spec/natter.md section 8): replies and events.
// Also the text and nick checks and the terminal-safe copy used by clients.
#include "natter/proto/server_line.hpp"

namespace natter::proto
{

%%{
  machine natter_server_line;
  alphtype unsigned char;
  include natter_lexical "lexical.rl";

  action mark      { mark = p; }
  action nick_end  { nick = view(mark, p); }
  action new_end   { new_nick = view(mark, p); }
  action text_end  { text = view(mark, p); has_text = true; }
  action code_digit { code = code * 10 + (fc - '0'); }
  action more      { more = true; }
  action k_reply   { what = server_line::kind::reply; }
  action k_join    { what = server_line::kind::join; }
  action k_nick    { what = server_line::kind::nick; }
  action k_msg     { what = server_line::kind::msg; }
  action k_quit    { what = server_line::kind::quit; }
  action k_echo    { what = server_line::kind::echo; }
  action k_pong    { what = server_line::kind::pong; }
  action k_tell    { what = server_line::kind::tell; }

  nick_p   = nick >mark %nick_end;
  new_p    = nick >mark %new_end;
  text_p   = text_char* >mark %text_end;
  some_p   = (text_char* nonsp_char text_char*) >mark %text_end;

  # 8.1: three digits, "-" or SP, text. 2xx, 4xx and 5xx are the classes.
  reply = ([245] [0-9] [0-9]) $code_digit ('-' @more | sp) text_p %k_reply;

  # 8.3: events never start with a digit.
  join  = 'JOIN' sp nick_p %k_join;
  rename = 'NICK' sp nick_p sp new_p %k_nick;
  msg   = 'MSG' sp nick_p sp some_p %k_msg;
  quit  = 'QUIT' sp nick_p (sp text_p)? %k_quit;
  echo  = 'ECHO' (sp text_p)? %k_echo;
  pong  = 'PONG' (sp text_p)? %k_pong;
  tell  = 'TELL' sp nick_p sp some_p %k_tell;

  main := reply | join | rename | msg | quit | echo | pong | tell;
}%%

%% write data noerror noentry;

namespace
{
std::string_view view(const unsigned char* from, const unsigned char* to)
{
  return std::string_view(reinterpret_cast<const char*>(from),
                          static_cast<std::size_t>(to - from));
}
} // namespace

server_line parse_server_line(std::string_view line) noexcept
{
  const unsigned char* p = reinterpret_cast<const unsigned char*>(line.data());
  const unsigned char* const pe = p + line.size();
  const unsigned char* const eof = pe;
  const unsigned char* mark = p;
  server_line::kind what = server_line::kind::invalid;
  int code = 0;
  bool more = false;
  bool has_text = false;
  std::string_view nick, new_nick, text;
  int cs = 0;

  %% write init;
  %% write exec;

  server_line out;
  if (cs < natter_server_line_first_final)
    return out;
  out.what = what;
  out.code = code;
  out.more = more;
  out.nick = nick;
  out.new_nick = new_nick;
  out.text = text;
  out.has_text = has_text;
  return out;
}

%%{
  machine natter_text;
  alphtype unsigned char;
  include natter_lexical "lexical.rl";
  main := text_char*;
}%%

%% write data noerror noentry;

bool is_valid_text(std::string_view text) noexcept
{
  const unsigned char* p = reinterpret_cast<const unsigned char*>(text.data());
  const unsigned char* const pe = p + text.size();
  int cs = 0;
  %% write init;
  %% write exec;
  return cs >= natter_text_first_final;
}

%%{
  machine natter_nick;
  alphtype unsigned char;
  include natter_lexical "lexical.rl";
  main := nick;
}%%

%% write data noerror noentry;

bool is_valid_nick(std::string_view nick) noexcept
{
  const unsigned char* p = reinterpret_cast<const unsigned char*>(nick.data());
  const unsigned char* const pe = p + nick.size();
  int cs = 0;
  %% write init;
  %% write exec;
  return cs >= natter_nick_first_final;
}

%%{
  machine natter_printable;
  alphtype unsigned char;
  include natter_lexical "lexical.rl";

  # Longest match: a whole valid character is copied, anything else becomes
  # one U+FFFD per offending octet.
  main := |*
    text_char => { out.append(reinterpret_cast<const char*>(ts),
                              static_cast<std::size_t>(te - ts)); };
    any       => { out.append("\xEF\xBF\xBD"); };
  *|;
}%%

%% write data noerror nofinal noentry;

void append_printable(std::string& out, std::string_view text)
{
  const unsigned char* p = reinterpret_cast<const unsigned char*>(text.data());
  const unsigned char* const pe = p + text.size();
  const unsigned char* const eof = pe;
  const unsigned char* ts = nullptr;
  const unsigned char* te = nullptr;
  int cs = 0;
  int act = 0;
  %% write init;
  %% write exec;
  (void)act;
}

} // namespace natter::proto
