#include "checks.hpp"

#include "greeting_check.hpp"
#include "matcher.hpp"

#include "natter/proto/ascii.hpp"
#include "natter/proto/reply.hpp"
#include "natter/proto/server_line.hpp"

#include <utility>

namespace natter::conform
{

namespace
{

using proto::reply_code;

std::string to_lower(std::string_view s)
{
  std::string out(s);
  for (char& c : out)
    c = proto::ascii_lower(c);
  return out;
}

} // namespace

line_checks::line_checks(std::string client, long max_line)
    : client_(std::move(client)), max_line_(max_line)
{
}

void line_checks::sent(std::string_view bytes)
{
  if (bytes.find('\xFF') != std::string_view::npos)
    sent_iac_ = true;
}

void line_checks::line(std::string_view text, bool crlf)
{
  if (!crlf)
    throw violation{"N-FRAME-5",
                    client_ + " received a line not ended by CRLF: " + printable(text)};
  if (static_cast<long>(text.size()) + 2 > max_line_ + 64)
    throw violation{"N-REPLY-1", client_ + " received a line of " +
                                     std::to_string(text.size() + 2) +
                                     " octets, over the line limit plus 64"};
  if (text.find('\xFF') != std::string_view::npos)
    throw violation{"N-TELNET-13", client_ + " received an IAC inside a line: " + printable(text)};
  if (!proto::is_valid_text(text))
    throw violation{"N-ENC-6",
                    client_ + " received a line that is not valid text: " + printable(text)};
  if (got_closing_reply_)
    throw violation{"N-REPLY-6",
                    client_ + " received a line after a 5xx reply: " + printable(text)};
  const auto sl = proto::parse_server_line(text);
  using k = proto::server_line::kind;
  if (sl.what == k::invalid)
  {
    if (!text.empty() && text[0] >= '0' && text[0] <= '9')
      throw violation{"N-REPLY-2", client_ + " received a malformed reply: " + printable(text)};
    throw violation{
        "N-EVENT-1",
        client_ + " received a line that is neither a reply nor an event: " + printable(text)};
  }
  if (sl.what == k::reply)
  {
    // A code this version does not know keeps its value (N-REPLY-9).
    const auto code = static_cast<reply_code>(sl.code);
    if (more_code_ != 0 && sl.code != more_code_)
      throw violation{"N-REPLY-3", client_ + " received " + std::to_string(sl.code) +
                                       " inside a multi-line " + std::to_string(more_code_) +
                                       " reply"};
    more_code_ = sl.more ? sl.code : 0;
    if (code == reply_code::greeting && got_line_)
      throw violation{"N-CONN-1", client_ + " received a " + proto::to_string(code) +
                                      " that is not the first line"};
    if (code == reply_code::greeting)
      check_greeting(client_, text);
    if (proto::closes_connection(code))
      got_closing_reply_ = true;
    if (code == reply_code::nick_accepted)
      got_nick_accepted_ = true;
    if (code == reply_code::who)
      who_line(sl.more, sl.text);
  }
  else
  {
    if (more_code_ != 0)
      throw violation{"N-REPLY-4",
                      client_ + " received an event inside a multi-line reply: " + printable(text)};
    if (sl.what != k::echo && sl.what != k::pong && !got_nick_accepted_)
      throw violation{"N-EVENT-2", client_ + " is not registered but received " + printable(text)};
  }
  got_line_ = true;
}

void line_checks::who_line(bool more, std::string_view text)
{
  const std::string who = proto::to_string(reply_code::who);
  if (more)
  {
    if (!proto::is_valid_nick(text))
      throw violation{"N-WHO-2", client_ + " received a " + who + "- line without a nick: " + who +
                                     "-" + printable(text)};
    if (who_count_ != 0 && to_lower(who_last_) >= to_lower(text))
      throw violation{"N-WHO-3", client_ + " received " + who + "-" + std::string(text) +
                                     " after " + who + "-" + who_last_ +
                                     ": not in ascending order"};
    ++who_count_;
    who_last_ = text;
    return;
  }
  const std::string_view count = text.substr(0, text.find(' '));
  if (count != std::to_string(who_count_))
    throw violation{"N-WHO-2", client_ + " received '" + who + " " + printable(text) + "' after " +
                                   std::to_string(who_count_) + " " + who + "- lines"};
  who_count_ = 0;
  who_last_.clear();
}

void line_checks::telnet(std::string_view answer) const
{
  const auto verb = static_cast<unsigned char>(answer[1]);
  if (!sent_iac_ || (verb != 0xFB && verb != 0xFC && verb != 0xFE))
    throw violation{"N-TELNET-12", client_ + " received telnet negotiation it did not ask for: " +
                                       printable(answer)};
  if (more_code_ != 0)
    throw violation{"N-TELNET-13", client_ + " received a telnet answer inside a multi-line reply"};
}

void line_checks::unterminated(std::size_t pending) const
{
  if (static_cast<long>(pending) > max_line_ + 64)
    throw violation{"N-REPLY-1", client_ + " received over " + std::to_string(max_line_ + 64) +
                                     " octets without a line end"};
}

void line_checks::ended(std::string_view rest) const
{
  if (!rest.empty())
    throw violation{"N-FRAME-5", client_ + " received an unterminated line before the close: " +
                                     printable(rest)};
}

} // namespace natter::conform
