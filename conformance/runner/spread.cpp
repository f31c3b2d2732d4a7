#include "spread.hpp"

#include "matcher.hpp"

#include <algorithm>
#include <charconv>

namespace natter::conform
{

address parse_address(std::string_view text)
{
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    throw case_error("'" + std::string(text) + "' is not HOST:PORT");
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string_view::npos)
    throw case_error("'" + std::string(text) + "': an IPv6 host goes in brackets, [V6]:PORT");
  const std::string_view digits = text.substr(colon + 1);
  unsigned long port = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (host.empty() || digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
      port == 0 || port > 65535)
    throw case_error("'" + std::string(text) + "' is not HOST:PORT (a port is 1 to 65535)");
  return {std::string(host), static_cast<std::uint16_t>(port)};
}

namespace
{

void collect(const std::vector<step>& steps, std::vector<std::string>& names)
{
  for (const step& st : steps)
  {
    if (!st.client.empty() && std::find(names.begin(), names.end(), st.client) == names.end())
      names.push_back(st.client);
    collect(st.body, names);
  }
}

} // namespace

std::vector<std::string> client_names(const test_case& tc)
{
  std::vector<std::string> names;
  collect(tc.steps, names);
  return names;
}

std::vector<std::string> peer_clients(const test_case& tc)
{
  const std::vector<std::string> names = client_names(tc);
  std::vector<std::string> peer;
  for (std::size_t k = 1; k < names.size(); k += 2)
    peer.push_back(names[k]);
  return peer;
}

} // namespace natter::conform
