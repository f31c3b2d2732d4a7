#include "nicks.hpp"

#include "matcher.hpp"

#include "natter/proto/ascii.hpp"
#include "natter/proto/reply.hpp"
#include "natter/proto/server_line.hpp"

#include <algorithm>
#include <functional>
#include <utility>

namespace natter::conform
{

namespace
{

std::string to_lower(std::string_view s)
{
  std::string out(s);
  for (char& c : out)
    c = proto::ascii_lower(c);
  return out;
}

std::string base36(unsigned long v)
{
  static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string out;
  do
  {
    out.insert(out.begin(), digits[v % 36]);
    v /= 36;
  } while (v != 0);
  return out;
}

} // namespace

std::string run_id(std::string_view salt, unsigned index)
{
  return std::string(salt) + base36(index);
}

case_nicks::case_nicks(std::string run_id) : run_id_(std::move(run_id)) {}

std::string case_nicks::nick(std::string_view name, std::size_t length)
{
  const std::string key(name);
  if (const auto it = nicks_.find(key); it != nicks_.end())
  {
    if (length != 0 && it->second.size() != length)
      throw case_error("$" + key + " is already " + std::to_string(it->second.size()) +
                       " octets long");
    return it->second;
  }
  std::string value;
  const std::string tail = "_" + run_id_;
  const std::size_t want =
      length != 0 ? length : std::min<std::size_t>(16, key.size() + tail.size());
  if (want >= tail.size() + 1)
  {
    std::string head = key.substr(0, want - tail.size());
    while (head.size() < want - tail.size())
      head += 'x';
    value = head + tail;
  }
  else
  {
    // Too short to carry the run's id: letters derived from it.
    unsigned long h = std::hash<std::string>{}(run_id_ + key);
    value = key.substr(0, 1);
    while (value.size() < want)
    {
      value += static_cast<char>('a' + h % 26);
      h /= 26;
    }
  }
  for (const auto& [other, v] : nicks_)
    if (to_lower(v) == to_lower(value))
      throw case_error("$" + key + " and $" + other + " give the same nick; rename one");
  nicks_.emplace(key, value);
  ours_.insert(to_lower(value));
  return value;
}

bool case_nicks::is_ours(std::string_view nick) const
{
  return ours_.count(to_lower(nick)) != 0;
}

bool case_nicks::about_others(std::string_view line) const
{
  const auto sl = proto::parse_server_line(line);
  using k = proto::server_line::kind;
  switch (sl.what)
  {
  case k::join:
  case k::msg:
  case k::quit: return !is_ours(sl.nick);
  case k::nick: return !is_ours(sl.nick) && !is_ours(sl.new_nick);
  case k::reply:
    return static_cast<proto::reply_code>(sl.code) == proto::reply_code::who && sl.more &&
           !is_ours(sl.text);
  default: return false;
  }
}

} // namespace natter::conform
