#include "natter/bench/ports.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <string>

namespace natter::bench
{

namespace
{

// "N1,N2[,...]": each from `lo` to `hi`, no two the same.
std::vector<unsigned long> parse_list(std::string_view text, unsigned long lo, unsigned long hi,
                                      const char* what)
{
  std::vector<unsigned long> out;
  for (;;)
  {
    const std::size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    unsigned long n = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), n);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() || n < lo || n > hi)
      throw std::invalid_argument("'" + std::string(item) + "' is not a " + what + " (" +
                                  std::to_string(lo) + " to " + std::to_string(hi) + ")");
    if (std::find(out.begin(), out.end(), n) != out.end())
      throw std::invalid_argument(std::string(what) + " " + std::string(item) + " is given twice");
    out.push_back(n);
    if (comma == std::string_view::npos)
      return out;
    text.remove_prefix(comma + 1);
  }
}

} // namespace

std::vector<unsigned short> parse_ports(std::string_view text)
{
  const std::vector<unsigned long> n = parse_list(text, 1, 65535, "port");
  return {n.begin(), n.end()};
}

std::vector<int> parse_pids(std::string_view text)
{
  if (text.empty() || text == "0")
    return {};
  const std::vector<unsigned long> n = parse_list(text, 1, 1UL << 22, "pid");
  return {n.begin(), n.end()};
}

} // namespace natter::bench
