#include "natter/client/nick.hpp"

#include "natter/proto/limits.hpp"

namespace natter::client
{
namespace
{

bool is_letter(char c) noexcept
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool is_nick_char(char c) noexcept
{
  return is_letter(c) || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

} // namespace

std::string sanitize_nick(std::string_view user)
{
  std::string nick;
  for (const char c : user)
    if (is_nick_char(c))
      nick += c;
  if (nick.empty())
    return "guest";
  if (!is_letter(nick.front()))
    nick.insert(nick.begin(), 'n');
  if (nick.size() > proto::max_nick_length)
    nick.resize(proto::max_nick_length);
  return nick;
}

std::string nick_candidate(std::string_view base, unsigned attempt)
{
  if (attempt == 0)
    return std::string(base);
  const std::string suffix = attempt == 1 ? "_" : std::to_string(attempt);
  const std::size_t room =
      proto::max_nick_length > suffix.size() ? proto::max_nick_length - suffix.size() : 1;
  std::string nick(base.substr(0, room));
  nick += suffix;
  return nick;
}

} // namespace natter::client
