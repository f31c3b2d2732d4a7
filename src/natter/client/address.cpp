#include "natter/client/address.hpp"

#include <algorithm>

namespace natter::client
{
namespace
{

host_port fail(std::string why)
{
  host_port hp;
  hp.error = std::move(why);
  return hp;
}

// A port is 1..65535 in decimal; "0" is refused because the client cannot
// connect to it (it only means "any" to a listener).
bool parse_port(std::string_view text, std::uint16_t& port)
{
  if (text.empty() || text.size() > 5)
    return false;
  unsigned value = 0;
  for (const char c : text)
  {
    if (c < '0' || c > '9')
      return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535)
    return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

} // namespace

host_port parse_host_port(std::string_view text, std::uint16_t default_port)
{
  host_port hp;
  hp.port = default_port;
  std::string_view port_text;
  bool has_port = false;

  if (text.empty())
    return fail("empty address");
  if (text.front() == '[')
  {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos)
      return fail("missing ']' in \"" + std::string(text) + "\"");
    hp.host = std::string(text.substr(1, close - 1));
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty())
    {
      if (rest.front() != ':')
        return fail("expected ':PORT' after ']' in \"" + std::string(text) + "\"");
      port_text = rest.substr(1);
      has_port = true;
    }
    if (hp.host.empty())
      return fail("empty host in \"" + std::string(text) + "\"");
  }
  else
  {
    const auto colons = std::count(text.begin(), text.end(), ':');
    if (colons == 1)
    {
      const std::size_t colon = text.find(':');
      hp.host = std::string(text.substr(0, colon));
      port_text = text.substr(colon + 1);
      has_port = true;
      if (hp.host.empty())
        return fail("empty host in \"" + std::string(text) + "\"");
    }
    else
    {
      // No colon: a plain host. Several: an IPv6 literal without brackets,
      // which cannot carry a port ("::1:7777" would be ambiguous).
      hp.host = std::string(text);
    }
  }

  if (has_port && !parse_port(port_text, hp.port))
    return fail("invalid port \"" + std::string(port_text) + "\" (expected 1-65535)");
  return hp;
}

std::string to_string(const host_port& hp)
{
  const bool v6 = hp.host.find(':') != std::string::npos;
  std::string out = v6 ? "[" + hp.host + "]" : hp.host;
  out += ':';
  out += std::to_string(hp.port);
  return out;
}

} // namespace natter::client
