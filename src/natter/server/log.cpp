#include "natter/server/log.hpp"

#include <array>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

namespace natter::server
{

namespace
{

constexpr std::array<std::string_view, 5> names{"debug", "info", "warn", "error", "off"};

std::atomic<log_level> threshold{log_level::info};
std::mutex out_mutex;

} // namespace

bool parse_log_level(std::string_view name, log_level& out) noexcept
{
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name)
    {
      out = static_cast<log_level>(i);
      return true;
    }
  return false;
}

void set_log_level(log_level level) noexcept
{
  threshold.store(level);
}

bool log_enabled(log_level level) noexcept
{
  return level != log_level::off && level >= threshold.load(std::memory_order_relaxed);
}

void log(log_level level, std::string_view text)
{
  if (!log_enabled(level))
    return;
  std::string line = "natterd: ";
  line += names[static_cast<std::size_t>(level)];
  line += ": ";
  line += text;
  line += '\n';
  // One fwrite per line under a lock, so lines from threads never interleave.
  std::lock_guard lock(out_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

} // namespace natter::server
