#include "natter/proto/reply.hpp"

#include <algorithm>
#include <array>

namespace natter::proto
{

namespace
{

// The rows of spec/replies.tsv; tests/proto/reply_test.cpp compares them.
constexpr std::array<reply_info, 19> rows{{
    {reply_code::nick_accepted, "nick_accepted", "nick accepted"},
    {reply_code::who, "who", "users in the room"},
    {reply_code::help, "help", "end of help"},
    {reply_code::greeting, "greeting", "natter/1 ready"},
    {reply_code::closing, "closing", "goodbye"},
    {reply_code::bad_argument, "bad_argument", "missing or bad argument"},
    {reply_code::not_registered, "not_registered", "register first with NICK"},
    {reply_code::line_too_long, "line_too_long", "line too long"},
    {reply_code::invalid_text, "invalid_text", "invalid text: not UTF-8 or a control character"},
    {reply_code::unknown_command, "unknown_command", "unknown command"},
    {reply_code::invalid_nick, "invalid_nick", "invalid nick"},
    {reply_code::nick_in_use, "nick_in_use", "nick already in use"},
    {reply_code::wrong_protocol, "wrong_protocol",
     "this port speaks natter, a line-based chat protocol"},
    {reply_code::server_full, "server_full", "server full"},
    {reply_code::too_many_from_address, "too_many_from_address",
     "too many connections from your address"},
    {reply_code::shutting_down, "shutting_down", "server shutting down"},
    {reply_code::registration_timeout, "registration_timeout", "registration timeout"},
    {reply_code::idle_timeout, "idle_timeout", "idle timeout"},
    {reply_code::sendq_exceeded, "sendq_exceeded", "send queue exceeded"},
}};

void append_code(std::string& out, reply_code code)
{
  const int n = static_cast<int>(code);
  out.push_back(static_cast<char>('0' + n / 100));
  out.push_back(static_cast<char>('0' + n / 10 % 10));
  out.push_back(static_cast<char>('0' + n % 10));
}

} // namespace

std::span<const reply_info> reply_table() noexcept
{
  return rows;
}

std::string_view reply_text(reply_code code) noexcept
{
  const auto* it = std::find_if(rows.begin(), rows.end(),
                                [code](const reply_info& r) { return r.code == code; });
  return it == rows.end() ? std::string_view{} : it->text;
}

std::string to_string(reply_code code)
{
  std::string out;
  append_code(out, code);
  return out;
}

void append_reply(std::string& out, reply_code code, std::string_view text, bool more)
{
  append_code(out, code);
  out.push_back(more ? '-' : ' ');
  out.append(text);
  out.append("\r\n");
}

void append_event(std::string& out, std::string_view verb, std::string_view a, std::string_view b,
                  std::string_view c)
{
  out.append(verb);
  for (std::string_view part : {a, b, c})
  {
    if (part.empty())
      break;
    out.push_back(' ');
    out.append(part);
  }
  out.append("\r\n");
}

} // namespace natter::proto
