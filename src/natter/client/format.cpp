#include "natter/client/format.hpp"

#include "natter/proto/ascii.hpp"
#include "natter/proto/server_line.hpp"

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>

namespace natter::client
{
namespace
{

constexpr std::string_view sgr_reset = "\x1b[0m";
constexpr std::string_view sgr_dim = "\x1b[2m";
constexpr std::string_view sgr_error = "\x1b[1;31m";
constexpr std::string_view sgr_bold = "\x1b[1m";

// Foreground colours readable on both dark and light backgrounds; black,
// white and their bright forms are left out.
constexpr std::array<int, 12> palette = {31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96};

// Appends `text` made printable (proto::append_printable), with U+2028 LINE
// SEPARATOR and U+2029 PARAGRAPH SEPARATOR shown as U+FFFD: a terminal or
// widget that starts a row at them would show a row that looks like the
// start of another message (spec 5, [N-ENC-11]).
void append_displayable(std::string& out, std::string_view text)
{
  const std::size_t from = out.size();
  proto::append_printable(out, text);
  // What was appended is valid UTF-8, so E2 80 A8/A9 is always the code point.
  for (std::size_t i = out.find("\xE2\x80", from); i != std::string::npos && i + 2 < out.size();
       i = out.find("\xE2\x80", i + 1))
    if (out[i + 2] == '\xA8' || out[i + 2] == '\xA9')
      out.replace(i, 3, "\xEF\xBF\xBD");
}

// Appends `text` made displayable, then closes every bidirectional embedding,
// override and isolate it leaves open, so it cannot reorder what the
// terminal shows after it (spec 5.1, [N-ENC-8]).
void append_contained(std::string& out, std::string_view text)
{
  const std::size_t from = out.size();
  append_displayable(out, text);
  std::string open; // 'e' embedding/override, 'i' isolate, innermost last
  const std::string_view added = std::string_view(out).substr(from);
  for (std::size_t i = 0; i + 2 < added.size(); ++i)
  {
    if (added[i] != '\xE2')
      continue;
    const auto b1 = static_cast<unsigned char>(added[i + 1]);
    const auto b2 = static_cast<unsigned char>(added[i + 2]);
    if (b1 == 0x80 && (b2 == 0xAA || b2 == 0xAB || b2 == 0xAD || b2 == 0xAE))
      open += 'e'; // LRE RLE LRO RLO
    else if (b1 == 0x80 && b2 == 0xAC)
    {
      if (!open.empty() && open.back() == 'e')
        open.pop_back(); // PDF closes the innermost embedding only
    }
    else if (b1 == 0x81 && (b2 == 0xA6 || b2 == 0xA7 || b2 == 0xA8))
      open += 'i'; // LRI RLI FSI
    else if (b1 == 0x81 && b2 == 0xA9)
    {
      // PDI closes the innermost isolate and everything opened inside it.
      const std::size_t isolate = open.rfind('i');
      if (isolate != std::string::npos)
        open.resize(isolate);
    }
  }
  for (auto it = open.rbegin(); it != open.rend(); ++it)
    out += *it == 'e' ? "\xE2\x80\xAC" : "\xE2\x81\xA9";
}

// One unit of layout: an escape sequence (our own SGR: the text itself can
// hold none, see printable()), or a character with the zero-width
// characters after it.
struct piece
{
  std::string_view bytes;
  std::size_t width = 0;
  bool space = false;
};

std::size_t code_point_width(utf8proc_int32_t c) noexcept
{
  const utf8proc_category_t category = utf8proc_category(c);
  if (category == UTF8PROC_CATEGORY_CN || category == UTF8PROC_CATEGORY_CO)
    return 2; // a later Unicode or a font may make it wide
  return static_cast<std::size_t>(std::max(utf8proc_charwidth(c), 0));
}

// The piece that starts at `at`.
piece next_piece(std::string_view s, std::size_t at) noexcept
{
  const auto decode = [&](std::size_t i, utf8proc_int32_t& c)
  {
    const utf8proc_ssize_t n =
        utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + i),
                         static_cast<utf8proc_ssize_t>(s.size() - i), &c);
    return n > 0 ? static_cast<std::size_t>(n) : std::size_t{1};
  };
  if (s[at] == '\x1b')
  {
    std::size_t end = at + 1;
    if (end < s.size() && s[end] == '[')
      for (++end; end < s.size(); ++end)
        if (s[end] >= 0x40 && s[end] <= 0x7E)
        {
          ++end;
          break;
        }
    return piece{s.substr(at, end - at), 0, false};
  }
  utf8proc_int32_t c = 0;
  std::size_t end = at + decode(at, c);
  piece p{{}, c == '\t' ? 1 : code_point_width(c), c == ' ' || c == '\t'};
  while (end < s.size() && s[end] != '\x1b')
  {
    utf8proc_int32_t next = 0;
    const std::size_t n = decode(end, next);
    if (next == 0xFE0F)
      p.width = std::max<std::size_t>(p.width, 2); // emoji presentation
    else if (next == '\t' || code_point_width(next) != 0)
      break;
    end += n;
  }
  p.bytes = s.substr(at, end - at);
  return p;
}

std::string prefix(std::string_view clock)
{
  std::string out;
  out += '[';
  out += clock;
  out += "] ";
  return out;
}

// Appends `nick` made printable; with `colour` in its colour, and then
// `after` (an SGR that restores what the nick's colour replaced).
void append_nick(std::string& out, std::string_view nick, bool colour, std::string_view after)
{
  if (colour)
  {
    out += "\x1b[";
    out += std::to_string(nick_colour(nick));
    out += 'm';
  }
  append_displayable(out, nick);
  if (colour)
  {
    out += sgr_reset;
    out += after;
  }
}

// "[HH:MM] <arrow>*nick* text", bold with `colour`.
std::string private_line(std::string_view clock, std::string_view arrow, std::string_view nick,
                         std::string_view text, bool colour)
{
  std::string out = prefix(clock);
  if (colour)
    out += sgr_bold;
  out += arrow;
  out += '*';
  append_nick(out, nick, colour, colour ? sgr_bold : std::string_view{});
  out += "* ";
  append_contained(out, text);
  if (colour)
    out += sgr_reset;
  return out;
}

} // namespace

std::string format_clock(const std::tm& local)
{
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d:%02d", local.tm_hour % 100, local.tm_min % 100);
  return buf;
}

std::string printable(std::string_view text)
{
  std::string out;
  out.reserve(text.size());
  append_displayable(out, text);
  return out;
}

int nick_colour(std::string_view nick)
{
  // FNV-1a over the ASCII-lowercased nick: fixed by its definition, unlike
  // std::hash, so a nick keeps its colour across runs and builds.
  std::uint32_t h = 2166136261u;
  for (const char c : nick)
  {
    h ^= static_cast<unsigned char>(proto::ascii_lower(c));
    h *= 16777619u;
  }
  return palette[h % palette.size()];
}

std::string format_message(std::string_view clock, std::string_view nick, std::string_view text,
                           bool colour)
{
  std::string out = prefix(clock);
  out += '<';
  append_nick(out, nick, colour, {});
  out += "> ";
  append_contained(out, text);
  return out;
}

std::string format_private(std::string_view clock, std::string_view from, std::string_view text,
                           bool colour)
{
  return private_line(clock, {}, from, text, colour);
}

std::string format_private_sent(std::string_view clock, std::string_view to, std::string_view text,
                                bool colour)
{
  return private_line(clock, "-> ", to, text, colour);
}

std::string format_earlier(std::string_view clock, std::string_view nick, std::string_view text,
                           bool colour)
{
  std::string out;
  if (colour)
    out += sgr_dim;
  out += prefix(clock);
  out += '<';
  append_displayable(out, nick);
  out += "> ";
  append_contained(out, text);
  if (colour)
    out += sgr_reset;
  return out;
}

std::optional<std::time_t> parse_message_time(std::string_view text) noexcept
{
  // YYYY-MM-DDTHH:MM:SS[.fraction]Z
  const auto number = [&](std::size_t at, std::size_t digits) -> std::optional<int>
  {
    if (at + digits > text.size())
      return std::nullopt;
    int n = 0;
    for (std::size_t i = at; i < at + digits; ++i)
    {
      if (text[i] < '0' || text[i] > '9')
        return std::nullopt;
      n = n * 10 + (text[i] - '0');
    }
    return n;
  };
  const auto year = number(0, 4);
  const auto month = number(5, 2);
  const auto day = number(8, 2);
  const auto hour = number(11, 2);
  const auto minute = number(14, 2);
  const auto second = number(17, 2);
  if (!year || !month || !day || !hour || !minute || !second || text[4] != '-' || text[7] != '-' ||
      text[10] != 'T' || text[13] != ':' || text[16] != ':')
    return std::nullopt;
  std::size_t end = 19;
  if (end < text.size() && text[end] == '.')
  {
    const std::size_t digits = text.find_first_not_of("0123456789", end + 1);
    if (digits == end + 1)
      return std::nullopt;
    end = digits == std::string_view::npos ? text.size() : digits;
  }
  if (end + 1 != text.size() || text[end] != 'Z' || *month < 1 || *month > 12 || *day < 1 ||
      *day > 31 || *hour > 23 || *minute > 59 || *second > 60)
    return std::nullopt;
  std::tm utc{};
  utc.tm_year = *year - 1900;
  utc.tm_mon = *month - 1;
  utc.tm_mday = *day;
  utc.tm_hour = *hour;
  utc.tm_min = *minute;
  utc.tm_sec = *second;
  return timegm(&utc);
}

std::string format_notice(std::string_view clock, std::string_view text, bool colour)
{
  std::string out;
  if (colour)
    out += sgr_dim;
  out += prefix(clock);
  out += "* ";
  append_contained(out, text);
  if (colour)
    out += sgr_reset;
  return out;
}

std::string format_error(std::string_view clock, std::string_view text, bool colour)
{
  std::string out = prefix(clock);
  if (colour)
    out += sgr_error;
  out += "! ";
  append_contained(out, text);
  if (colour)
    out += sgr_reset;
  return out;
}

std::size_t display_width(std::string_view text) noexcept
{
  std::size_t width = 0;
  for (std::size_t at = 0; at < text.size();)
  {
    const piece p = next_piece(text, at);
    width += p.width;
    at += p.bytes.size();
  }
  return width;
}

std::vector<std::string> wrap_rows(std::string_view line, std::size_t columns)
{
  constexpr std::size_t min_columns = 8;
  if (columns < min_columns)
    return {std::string(line)};
  // The text starts after the second space: the continuation rows hang
  // there.
  std::size_t hang = 0;
  for (std::size_t at = 0, spaces = 0; at < line.size() && spaces < 2;)
  {
    const piece p = next_piece(line, at);
    at += p.bytes.size();
    hang += p.width;
    spaces += p.space ? 1 : 0;
  }
  hang = std::clamp<std::size_t>(hang, 1, columns / 2);

  std::vector<std::string> rows;
  std::string row;
  std::size_t col = 0;
  std::size_t spaces = 0;    // spaces seen, up to the two before the text
  std::size_t break_at = 0;  // in `row`: just after its last space in the text
  std::size_t break_col = 0; // the column there; 0: no such space
  for (std::size_t at = 0; at < line.size();)
  {
    const piece p = next_piece(line, at);
    at += p.bytes.size();
    if (p.width > 0 && col + p.width > columns)
    {
      std::string carried;
      std::size_t carried_width = 0;
      if (break_col > 0)
      {
        carried = row.substr(break_at);
        carried_width = col - break_col;
        row.resize(break_at);
      }
      rows.push_back(std::move(row));
      row.assign(hang, ' ');
      row += carried;
      col = hang + carried_width;
      break_col = 0;
      if (col + p.width > columns)
      {
        // What was carried and this piece do not fit together: break here.
        rows.push_back(std::move(row));
        row.assign(hang, ' ');
        col = hang;
      }
    }
    row += p.space ? std::string_view(" ") : p.bytes;
    col += p.width;
    if (p.space && spaces < 2)
      ++spaces;
    else if (p.space)
    {
      break_at = row.size();
      break_col = col;
    }
  }
  rows.push_back(std::move(row));
  return rows;
}

} // namespace natter::client
