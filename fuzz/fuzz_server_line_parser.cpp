// The server-line parser used by the client and the conformance runner.
// 1. Arbitrary octets: a line it accepts is canonical, i.e. formatting the
//    parsed fields again gives the same octets.
// 2. Round trip: every line natterd's formatting can produce from
//    fuzzer-chosen fields parses back to those fields.
// 3. The stream splitter never holds more than its limit.
// 4. A greeting the greeting parser accepts is a 220 reply, and its version
//    token, adverts and text put together again give the same octets.
#include "check.hpp"
#include "natter/proto/greeting.hpp"
#include "natter/proto/reply.hpp"
#include "natter/proto/server_line.hpp"

#include <string>
#include <string_view>

namespace
{

using natter::fuzz::check;
using natter::proto::server_line;

std::string_view event_verb(server_line::kind k)
{
  switch (k)
  {
  case server_line::kind::join: return "JOIN";
  case server_line::kind::nick: return "NICK";
  case server_line::kind::msg: return "MSG";
  case server_line::kind::quit: return "QUIT";
  case server_line::kind::echo: return "ECHO";
  case server_line::kind::pong: return "PONG";
  case server_line::kind::tell: return "TELL";
  default: return {};
  }
}

// Formats a parsed line again, the way natterd does.
std::string format(const server_line& l)
{
  std::string out;
  if (l.what == server_line::kind::reply)
    natter::proto::append_reply(out, static_cast<natter::proto::reply_code>(l.code), l.text,
                                l.more);
  else if (l.what == server_line::kind::nick)
    natter::proto::append_event(out, "NICK", l.nick, l.new_nick);
  else if (l.what == server_line::kind::echo || l.what == server_line::kind::pong)
  {
    out.append(event_verb(l.what));
    if (l.has_text)
      out.append(" ").append(l.text);
    out.append("\r\n");
  }
  else
  {
    out.append(event_verb(l.what)).append(" ").append(l.nick);
    if (l.what == server_line::kind::msg || l.what == server_line::kind::tell || l.has_text)
      out.append(" ").append(l.text);
    out.append("\r\n");
  }
  return out;
}

// Makes a valid nick out of arbitrary octets.
std::string make_nick(std::string_view raw)
{
  std::string nick = "n";
  for (char c : raw.substr(0, 15))
  {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    nick.push_back(ok ? c : 'x');
  }
  return nick;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  // 1. Anything: accepted lines are canonical.
  const server_line parsed = natter::proto::parse_server_line(in);
  if (parsed.what != server_line::kind::invalid)
  {
    check(natter::proto::is_valid_text(in), "an accepted line is valid text");
    check(format(parsed) == std::string(in) + "\r\n", "an accepted line is canonical");
  }

  // 2. Round trip of formatted lines.
  if (size >= 2)
  {
    const std::string_view rest = in.substr(2);
    const std::size_t cut = rest.size() / 2;
    const std::string nick = make_nick(rest.substr(0, cut));
    std::string text;
    natter::proto::append_printable(text, rest.substr(cut));
    check(natter::proto::is_valid_text(text), "append_printable makes valid text");

    std::string line;
    const auto table = natter::proto::reply_table();
    const auto& row = table[data[0] % table.size()];
    natter::proto::append_reply(line, row.code, text, data[1] % 2 == 1);
    line.resize(line.size() - 2);
    const server_line r = natter::proto::parse_server_line(line);
    check(r.what == server_line::kind::reply && r.code == static_cast<int>(row.code) &&
              r.text == text && r.more == (data[1] % 2 == 1),
          "a formatted reply parses back");

    for (const server_line::kind k : {server_line::kind::msg, server_line::kind::tell})
    {
      if (text.find_first_not_of(' ') == std::string::npos)
        break;
      line.clear();
      natter::proto::append_event(line, event_verb(k), nick, text);
      line.resize(line.size() - 2);
      const server_line m = natter::proto::parse_server_line(line);
      check(m.what == k && m.nick == nick && m.text == text,
            "a formatted MSG or TELL event parses back");
    }
    line.clear();
    natter::proto::append_event(line, "NICK", nick, make_nick(rest.substr(cut)));
    line.resize(line.size() - 2);
    const server_line n = natter::proto::parse_server_line(line);
    check(n.what == server_line::kind::nick && n.nick == nick,
          "a formatted NICK event parses back");
  }

  // 3. The splitter stays bounded and finds every LF.
  natter::proto::server_line_reader reader(64);
  std::size_t lines = 0;
  reader.feed(in,
              [&](std::string_view l, bool)
              {
                check(l.size() <= 64, "a split line is cut to the limit");
                ++lines;
              });
  check(reader.buffered() <= 64, "the splitter holds at most its limit");
  std::size_t lfs = 0;
  for (char c : in)
    lfs += c == '\n';
  check(lines == lfs, "one line per LF");

  // 4. Greetings: the parts of an accepted one make it up exactly.
  const natter::proto::greeting g = natter::proto::parse_greeting(in);
  if (g.what == natter::proto::greeting::status::ok)
  {
    check(parsed.what == server_line::kind::reply && parsed.code == 220,
          "an accepted greeting is a 220 reply");
    std::string again(in.substr(0, in.find(' ', 4)));
    for (const natter::proto::advert& a : g.adverts)
      again.append(" ").append(a.key).append("=").append(a.value);
    if (!g.text.empty())
      again.append(" ").append(g.text);
    check(again == in, "an accepted greeting is its version token, adverts and text");
  }
  return 0;
}
