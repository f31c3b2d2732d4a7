#include "natter/proto/reply.hpp"

#include <algorithm>
#include <array>

namespace natter::proto
{

namespace
{

// The rows of spec/replies.tsv; tests/proto/reply_test.cpp compares them.
constexpr std::array<reply_info, 22> rows{{
    {reply_code::nick_accepted, "nick_accepted", "nick accepted"},
    {reply_code::who, "who", "users in the room"},
    {reply_code::history, "history", "end of history"},
    {reply_code::ids, "ids", "ids on"},
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
    {reply_code::no_such_nick, "no_such_nick", "no such nick"},
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

// Appends `n` in exactly `width` decimal digits (n < 10^width).
void append_digits(std::string& out, unsigned n, int width)
{
  char buf[4];
  for (int i = width - 1; i >= 0; --i, n /= 10)
    buf[i] = static_cast<char>('0' + n % 10);
  out.append(buf, static_cast<std::size_t>(width));
}

void append_decimal(std::string& out, std::uint64_t n)
{
  char buf[20];
  std::size_t at = sizeof buf;
  do
  {
    buf[--at] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  out.append(buf + at, sizeof buf - at);
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

void append_msg_time(std::string& out, std::chrono::system_clock::time_point t)
{
  using namespace std::chrono;
  constexpr sys_days first = sys_days(year(0) / January / 1);
  constexpr sys_days last = sys_days(year(9999) / December / 31);
  auto ms = floor<milliseconds>(t);
  ms = std::clamp<sys_time<milliseconds>>(ms, first, last + days(1) - milliseconds(1));
  const sys_days day = floor<days>(ms);
  const year_month_day ymd(day);
  const hh_mm_ss hms(ms - day);
  append_digits(out, static_cast<unsigned>(static_cast<int>(ymd.year())), 4);
  out.push_back('-');
  append_digits(out, static_cast<unsigned>(ymd.month()), 2);
  out.push_back('-');
  append_digits(out, static_cast<unsigned>(ymd.day()), 2);
  out.push_back('T');
  append_digits(out, static_cast<unsigned>(hms.hours().count()), 2);
  out.push_back(':');
  append_digits(out, static_cast<unsigned>(hms.minutes().count()), 2);
  out.push_back(':');
  append_digits(out, static_cast<unsigned>(hms.seconds().count()), 2);
  out.push_back('.');
  append_digits(out, static_cast<unsigned>(hms.subseconds().count()), 3);
  out.push_back('Z');
}

void append_history_item(std::string& out, std::uint64_t id,
                         std::chrono::system_clock::time_point t, std::string_view nick,
                         std::string_view text)
{
  append_code(out, reply_code::history);
  out.push_back('-');
  append_decimal(out, id);
  out.push_back(' ');
  append_msg_time(out, t);
  out.push_back(' ');
  out.append(nick);
  out.push_back(' ');
  out.append(text);
  out.append("\r\n");
}

} // namespace natter::proto
