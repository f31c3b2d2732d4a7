#include "natter/proto/greeting.hpp"

#include "natter/proto/limits.hpp"
#include "natter/proto/server_line.hpp"

#include <algorithm>
#include <charconv>

namespace natter::proto
{

namespace
{

constexpr std::string_view greeting_prefix = "220 natter/";

bool is_digit(char c) noexcept
{
  return c >= '0' && c <= '9';
}

bool is_lower(char c) noexcept
{
  return c >= 'a' && c <= 'z';
}

// advert-key = %x61-7A *( %x61-7A / DIGIT / "-" )
bool is_advert_key(std::string_view s) noexcept
{
  return !s.empty() && is_lower(s.front()) &&
         std::all_of(s.begin(), s.end(),
                     [](char c) { return is_lower(c) || is_digit(c) || c == '-'; });
}

// advert-value = 1*( ALPHA / DIGIT / "-" / "." / "," / ":" / "/" / "_" )
bool is_advert_value(std::string_view s) noexcept
{
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c)
                                   {
                                     return is_lower(c) || (c >= 'A' && c <= 'Z') || is_digit(c) ||
                                            c == '-' || c == '.' || c == ',' || c == ':' ||
                                            c == '/' || c == '_';
                                   });
}

} // namespace

std::optional<std::string_view> greeting::find(std::string_view key) const noexcept
{
  for (const advert& a : adverts)
    if (a.key == key)
      return a.value;
  return std::nullopt;
}

greeting parse_greeting(std::string_view line)
{
  greeting g;
  if (!line.starts_with(greeting_prefix) || !is_valid_text(line))
    return g;
  std::string_view rest = line.substr(greeting_prefix.size());
  // version-token = %s"natter/" %x31-39 *DIGIT
  std::size_t digits = 0;
  while (digits < rest.size() && is_digit(rest[digits]))
    ++digits;
  if (digits == 0 || rest.front() == '0' || (digits < rest.size() && rest[digits] != ' '))
    return g;
  const auto [end, ec] = std::from_chars(rest.data(), rest.data() + digits, g.version);
  if (ec != std::errc{})
    g.version = ~0UL; // more digits than fit: a version this client cannot know
  rest.remove_prefix(digits);
  // *( SP advert ) [ SP greeting-text ]: a word with "=" must be an advert;
  // the first word without one starts the free text [N-CONN-12].
  while (!rest.empty())
  {
    rest.remove_prefix(1); // the SP
    const std::string_view word = rest.substr(0, rest.find(' '));
    const std::size_t eq = word.find('=');
    if (eq == std::string_view::npos)
    {
      if (word.empty())
      {
        g.what = greeting::status::bad_text;
        return g;
      }
      g.text = rest;
      break;
    }
    const std::string_view key = word.substr(0, eq);
    const std::string_view value = word.substr(eq + 1);
    if (!is_advert_key(key) || !is_advert_value(value))
    {
      g.what = greeting::status::bad_advert;
      g.bad = word;
      return g;
    }
    g.adverts.push_back(advert{key, value});
    rest.remove_prefix(word.size());
  }
  g.what = greeting::status::ok;
  return g;
}

std::optional<double> advert_number(std::string_view value) noexcept
{
  const std::size_t dot = value.find('.');
  const std::string_view whole = value.substr(0, dot);
  const std::string_view fraction =
      dot == std::string_view::npos ? std::string_view("0") : value.substr(dot + 1);
  if (whole.empty() || fraction.empty() || !std::all_of(whole.begin(), whole.end(), is_digit) ||
      !std::all_of(fraction.begin(), fraction.end(), is_digit))
    return std::nullopt;
  double out = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc{} || end != value.data() + value.size())
    return std::nullopt;
  return out;
}

std::size_t line_limit(const greeting& g) noexcept
{
  std::size_t limit = 0;
  if (const auto value = g.find(advert_key::line))
  {
    const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), limit);
    if (ec != std::errc{} || end != value->data() + value->size())
      limit = 0;
  }
  return std::max(limit, min_max_line);
}

} // namespace natter::proto
