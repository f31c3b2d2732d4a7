// One table of limits (core/limits.hpp), held to its typed values, to the
// README's table of natterd's flags and to the spec's table of limits
// (section 10), so that none of the three can drift from the others.
#include "natter/core/limits.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace
{

namespace limits = natter::core::limits;

std::string read_file(const std::string& path)
{
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string trim(std::string s)
{
  const auto b = s.find_first_not_of(" `");
  const auto e = s.find_last_not_of(" `");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

/// The cells of a Markdown table row ("| a | b |" -> {"a", "b"}).
std::vector<std::string> cells(const std::string& row)
{
  std::vector<std::string> out;
  std::size_t at = row.find('|');
  while (at != std::string::npos)
  {
    const std::size_t next = row.find('|', at + 1);
    if (next == std::string::npos)
      break;
    out.push_back(trim(row.substr(at + 1, next - at - 1)));
    at = next;
  }
  return out;
}

/// The rows of the first table after `heading` in `doc`.
std::vector<std::vector<std::string>> table_after(const std::string& doc,
                                                  const std::string& heading)
{
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(doc.substr(doc.find(heading)));
  std::string line;
  bool inside = false;
  while (std::getline(in, line))
  {
    if (line.starts_with("|"))
    {
      inside = true;
      if (line.find("---") == std::string::npos)
        rows.push_back(cells(line));
    }
    else if (inside)
      break;
  }
  if (!rows.empty())
    rows.erase(rows.begin()); // the header
  return rows;
}

/// "--max-sendq BYTES" -> "--max-sendq".
std::string flag_of(const std::string& cell)
{
  return cell.substr(0, cell.find(' '));
}

/// True when `cell` starts with `value` as a whole word ("10000" does not
/// start with "1000").
bool starts_with_word(const std::string& cell, std::string_view value)
{
  return cell.starts_with(value) && (cell.size() == value.size() ||
                                     !std::isalnum(static_cast<unsigned char>(cell[value.size()])));
}

std::string bytes_text(std::size_t n)
{
  if (n % limits::mib == 0)
    return std::to_string(n / limits::mib) + " MiB";
  if (n % limits::kib == 0)
    return std::to_string(n / limits::kib) + " KiB";
  return std::to_string(n);
}

std::string_view shown(std::string_view flag_or_limit)
{
  for (const auto& row : limits::table)
    if (row.flag == flag_or_limit || (row.flag.empty() && row.spec_limit == flag_or_limit))
      return row.value;
  ADD_FAILURE() << flag_or_limit << " is not in limits::table";
  return {};
}

TEST(Limits, TheTableStatesTheTypedValues)
{
  EXPECT_EQ(shown("--chat-port"), std::to_string(limits::chat_port));
  EXPECT_EQ(shown("--echo-port"), std::to_string(limits::echo_port));
  EXPECT_EQ(shown("--max-clients"), std::to_string(limits::max_clients));
  EXPECT_EQ(shown("--max-per-ip"), std::to_string(limits::max_per_ip));
  EXPECT_EQ(shown("--max-line"), std::to_string(limits::max_line));
  EXPECT_EQ(shown("--max-sendq"), bytes_text(limits::max_sendq));
  EXPECT_EQ(shown("--max-total-sendq"), bytes_text(limits::max_total_sendq));
  EXPECT_EQ(shown("--rate"), std::to_string(static_cast<int>(limits::rate)));
  EXPECT_EQ(shown("--registration-timeout"), std::to_string(limits::registration_timeout.count()));
  EXPECT_EQ(shown("--idle-timeout"), std::to_string(limits::idle_timeout.count()));
  EXPECT_EQ(shown("--history"), std::to_string(limits::history));
  EXPECT_EQ(shown("--sndbuf"), bytes_text(limits::sndbuf));
  EXPECT_EQ(shown("--tcp-user-timeout"), std::to_string(limits::tcp_user_timeout.count()));
  EXPECT_EQ(shown("--tls-handshake-timeout"),
            std::to_string(limits::tls_handshake_timeout.count()));
  EXPECT_EQ(shown("--tls-check-interval"), std::to_string(limits::tls_check_interval.count()));
  EXPECT_EQ(shown("--echo-max-clients"), std::to_string(limits::echo_max_clients));
  EXPECT_EQ(shown("--echo-idle-timeout"), std::to_string(limits::echo_idle_timeout.count()));
  EXPECT_EQ(shown("--echo-max-total-sendq"), bytes_text(limits::echo_max_total_sendq));
  EXPECT_EQ(shown("nick length"), std::to_string(natter::proto::max_nick_length));
  EXPECT_EQ(shown("pending output of an unregistered client"),
            bytes_text(limits::unregistered_sendq));
  EXPECT_EQ(shown("soft mark of pending output"), bytes_text(limits::soft_sendq));
  EXPECT_EQ(shown("TCP keepalive"), std::to_string(limits::keepalive_idle.count()) + " s idle, " +
                                        std::to_string(limits::keepalive_interval.count()) +
                                        " s interval, " + std::to_string(limits::keepalive_probes) +
                                        " probes");
  EXPECT_EQ(shown("time a closing connection has to flush"),
            std::to_string(limits::flush_deadline.count()) + " s");
}

// Spec 7.11: natterd refuses a --history N whose full reply could exceed a
// send queue, N x (L + 64) > --max-sendq: 963 at the defaults.
TEST(Limits, TheLargestHistory)
{
  EXPECT_EQ(limits::max_history(limits::max_line, limits::max_sendq), 963u);
  EXPECT_LE(limits::history, limits::max_history(limits::max_line, limits::max_sendq));
  EXPECT_EQ(limits::max_history(32, 116), 1u); // one 96-octet line and the final 20
  EXPECT_EQ(limits::max_history(32, 115), 0u);
  EXPECT_EQ(limits::max_history(32, 19), 0u);
}

TEST(Limits, TheReadmeFlagTableStatesTheSameDefaults)
{
  const auto rows = table_after(read_file(NATTER_SOURCE_DIR "/README.md"), "## natterd's flags");
  std::map<std::string, std::string> readme;
  for (const auto& r : rows)
    if (r.size() >= 2)
      readme[flag_of(r[0])] = r[1];
  for (const auto& row : limits::table)
  {
    if (row.flag.empty())
      continue;
    const auto it = readme.find(std::string(row.flag));
    ASSERT_NE(it, readme.end()) << row.flag << " is missing from the README's table";
    EXPECT_EQ(it->second, row.value) << row.flag;
  }
  for (const auto& [flag, value] : readme)
    EXPECT_TRUE(limits::for_flag(flag).has_value()) << flag << " is not in limits::table";
}

TEST(Limits, TheSpecTableOfLimitsStatesTheSameDefaults)
{
  const auto rows = table_after(read_file(NATTER_SOURCE_DIR "/spec/natter.md"), "## 10. Limits");
  ASSERT_FALSE(rows.empty());
  std::map<std::string, std::vector<std::string>> spec;
  for (const auto& r : rows)
    if (r.size() >= 3)
      spec[r[0]] = r;
  for (const auto& row : limits::table)
  {
    if (row.spec_limit.empty())
      continue;
    const auto it = spec.find(std::string(row.spec_limit));
    ASSERT_NE(it, spec.end()) << "spec section 10 has no row \"" << row.spec_limit << "\"";
    EXPECT_TRUE(starts_with_word(it->second[1], row.value))
        << row.spec_limit << ": the spec says " << it->second[1] << ", the code " << row.value;
    if (!row.flag.empty())
      EXPECT_NE(it->second[2].find(std::string(row.flag) + " "), std::string::npos)
          << row.spec_limit << ": the spec names " << it->second[2];
    else
      EXPECT_EQ(it->second[2], "none") << row.spec_limit;
  }
  for (const auto& entry : spec)
  {
    const std::string& limit = entry.first; // (clang 14 cannot capture a binding)
    EXPECT_TRUE(std::any_of(limits::table.begin(), limits::table.end(),
                            [&](const limits::shown& s) { return s.spec_limit == limit; }))
        << "spec section 10's row \"" << limit << "\" is not in limits::table";
  }
}

} // namespace
