#include "natter/proto/reply.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace natter::proto
{

namespace
{

// The rows of spec/replies.tsv; tests/proto/reply_test.cpp compares them.
constexpr std::array<reply_info, 24> rows{{
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
    {reply_code::try_again, "try_again", "try again later"},
    {reply_code::wrong_protocol, "wrong_protocol",
     "this port speaks natter, a line-based chat protocol"},
    {reply_code::server_full, "server_full", "server full"},
    {reply_code::too_many_from_address, "too_many_from_address",
     "too many connections from your address"},
    {reply_code::shutting_down, "shutting_down", "server shutting down"},
    {reply_code::registration_timeout, "registration_timeout", "registration timeout"},
    {reply_code::idle_timeout, "idle_timeout", "idle timeout"},
    {reply_code::sendq_exceeded, "sendq_exceeded", "send queue exceeded"},
    {reply_code::nick_lost, "nick_lost", "nick lost to another client"},
}};

void append_code(std::string& out, reply_code code)
{
  const int n = static_cast<int>(code);
  out.push_back(static_cast<char>('0' + n / 100));
  out.push_back(static_cast<char>('0' + n / 10 % 10));
  out.push_back(static_cast<char>('0' + n % 10));
}

// Writes `n` in exactly `width` decimal digits at `out` (n < 10^width).
void put_digits(char* out, unsigned n, int width) noexcept
{
  for (int i = width - 1; i >= 0; --i, n /= 10)
    out[i] = static_cast<char>('0' + n % 10);
}

// Writes `n` in decimal at `out`; returns the octets written (1 to 20).
std::size_t put_decimal(char* out, std::uint64_t n) noexcept
{
  char buf[20];
  std::size_t at = sizeof buf;
  do
  {
    buf[--at] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  std::memcpy(out, buf + at, sizeof buf - at);
  return sizeof buf - at;
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

std::string reply_with_subject(reply_code code, std::string_view subject)
{
  std::string text(subject);
  text += ' ';
  text += reply_text(code);
  std::string line;
  append_reply(line, code, text);
  return line;
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

void msg_time_writer::write(char* out, std::chrono::system_clock::time_point t) noexcept
{
  using namespace std::chrono;
  // Milliseconds since 1970, rounded down and clamped to the years 0000 to
  // 9999, then split into the second and its milliseconds; the date and time
  // of day of the second are written only when the second changes.
  constexpr std::int64_t lo =
      duration_cast<milliseconds>(sys_days(year(0) / January / 1).time_since_epoch()).count();
  constexpr std::int64_t hi =
      duration_cast<milliseconds>(sys_days(year(10000) / January / 1).time_since_epoch()).count() -
      1;
  const std::int64_t ms =
      std::clamp<std::int64_t>(floor<milliseconds>(t).time_since_epoch().count(), lo, hi);
  const std::int64_t second = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  const auto milli = static_cast<unsigned>(ms - second * 1000);
  if (second != second_)
  {
    second_ = second;
    const sys_seconds at{seconds(second)};
    const sys_days day = floor<days>(at);
    const year_month_day ymd(day);
    const hh_mm_ss hms(at - day);
    char* p = prefix_.data();
    put_digits(p, static_cast<unsigned>(static_cast<int>(ymd.year())), 4);
    p[4] = '-';
    put_digits(p + 5, static_cast<unsigned>(ymd.month()), 2);
    p[7] = '-';
    put_digits(p + 8, static_cast<unsigned>(ymd.day()), 2);
    p[10] = 'T';
    put_digits(p + 11, static_cast<unsigned>(hms.hours().count()), 2);
    p[13] = ':';
    put_digits(p + 14, static_cast<unsigned>(hms.minutes().count()), 2);
    p[16] = ':';
    put_digits(p + 17, static_cast<unsigned>(hms.seconds().count()), 2);
    p[19] = '.';
  }
  std::memcpy(out, prefix_.data(), prefix_.size());
  out[20] = static_cast<char>('0' + milli / 100);
  out[21] = static_cast<char>('0' + milli / 10 % 10);
  out[22] = static_cast<char>('0' + milli % 10);
  out[23] = 'Z';
}

void append_msg_time(std::string& out, std::chrono::system_clock::time_point t)
{
  char buf[msg_time_writer::size];
  msg_time_writer().write(buf, t);
  out.append(buf, sizeof buf);
}

std::size_t write_history_item(char* out, std::uint64_t id, msg_time_writer& times,
                               std::chrono::system_clock::time_point t, std::string_view nick,
                               std::string_view text) noexcept
{
  char* p = out;
  std::memcpy(p, "212-", 4);
  p += 4;
  p += put_decimal(p, id);
  *p++ = ' ';
  times.write(p, t);
  p += msg_time_writer::size;
  *p++ = ' ';
  std::memcpy(p, nick.data(), nick.size());
  p += nick.size();
  *p++ = ' ';
  std::memcpy(p, text.data(), text.size());
  p += text.size();
  *p++ = '\r';
  *p++ = '\n';
  return static_cast<std::size_t>(p - out);
}

void append_history_item(std::string& out, std::uint64_t id,
                         std::chrono::system_clock::time_point t, std::string_view nick,
                         std::string_view text)
{
  const std::size_t at = out.size();
  out.resize(at + history_item_size(id, nick, text));
  msg_time_writer times;
  write_history_item(out.data() + at, id, times, t, nick, text);
}

} // namespace natter::proto
