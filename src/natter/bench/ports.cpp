#include "natter/bench/ports.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <string>

namespace natter::bench
{

std::vector<unsigned short> parse_ports(std::string_view text)
{
  std::vector<unsigned short> ports;
  for (;;)
  {
    const std::size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    unsigned long p = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), p);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() || p == 0 ||
        p > 65535)
      throw std::invalid_argument("'" + std::string(item) + "' is not a port (1 to 65535)");
    if (std::find(ports.begin(), ports.end(), p) != ports.end())
      throw std::invalid_argument("port " + std::string(item) + " is given twice");
    ports.push_back(static_cast<unsigned short>(p));
    if (comma == std::string_view::npos)
      return ports;
    text.remove_prefix(comma + 1);
  }
}

} // namespace natter::bench
