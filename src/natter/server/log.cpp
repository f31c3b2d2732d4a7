#include "natter/server/log.hpp"

#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <new>
#include <string>

namespace natter::server
{

namespace
{

constexpr std::array<std::string_view, 5> names{"debug", "info", "warn", "error", "off"};
// syslog(3) priorities: LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR.
constexpr std::array<std::string_view, 4> priorities{"<7>", "<6>", "<4>", "<3>"};
constexpr std::string_view error_priority = priorities[static_cast<std::size_t>(log_level::error)];

std::atomic<log_level> threshold{log_level::info};
std::mutex out_mutex;

// $JOURNAL_STREAM is "<device>:<inode>" in decimal. systemd sets it when
// stdout or stderr goes to the journal and passes it on to children, so
// only a match with descriptor 2 itself says stderr is the journal now.
bool stderr_is_journal() noexcept
{
  const char* env = std::getenv("JOURNAL_STREAM");
  if (env == nullptr)
    return false;
  const std::string_view text(env);
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos)
    return false;
  auto number = [](std::string_view s, unsigned long long& out)
  {
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return !s.empty() && ec == std::errc() && end == s.data() + s.size();
  };
  unsigned long long dev = 0;
  unsigned long long ino = 0;
  struct stat st
  {
  };
  return number(text.substr(0, colon), dev) && number(text.substr(colon + 1), ino) &&
         ::fstat(2, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

// One fwrite per line under a lock, so lines from threads never interleave.
void write_line(std::string_view prefix, std::string_view text)
{
  std::string line(prefix);
  line += text;
  line += '\n';
  std::lock_guard lock(out_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

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

bool log_to_journal() noexcept
{
  static const bool journal = stderr_is_journal();
  return journal;
}

void log(log_level level, std::string_view text)
{
  if (!log_enabled(level))
    return;
  const auto i = static_cast<std::size_t>(level);
  // The journal stamps each line and records which program wrote it.
  std::string prefix(log_to_journal() ? priorities[i] : "natterd: ");
  prefix += names[i];
  prefix += ": ";
  write_line(prefix, text);
}

void log_failure(std::string_view text)
{
  write_line(log_to_journal() ? error_priority : "natterd: ", text);
}

namespace
{

[[noreturn]] void on_terminate() noexcept
{
  const char* why = "terminated";
  if (const std::exception_ptr e = std::current_exception())
  {
    try
    {
      std::rethrow_exception(e);
    }
    catch (const std::bad_alloc&)
    {
      why = "out of memory";
    }
    catch (const std::exception& x)
    {
      why = x.what();
    }
    catch (...)
    {
      why = "an exception of unknown type";
    }
  }
  // LOG_CRIT on the journal. No lock: a thread holding out_mutex may be
  // the one that failed; a line cut into another is better than none.
  const std::string_view prefix = log_to_journal() ? "<2>fatal: " : "natterd: fatal: ";
  std::array<iovec, 3> parts{iovec{const_cast<char*>(prefix.data()), prefix.size()},
                             iovec{const_cast<char*>(why), std::char_traits<char>::length(why)},
                             iovec{const_cast<char*>("\n"), 1}};
  [[maybe_unused]] const ssize_t n = ::writev(2, parts.data(), static_cast<int>(parts.size()));
  std::abort();
}

} // namespace

void install_fatal_handler() noexcept
{
  (void)log_to_journal(); // looked at now, not while terminating
  std::set_terminate(on_terminate);
}

} // namespace natter::server
