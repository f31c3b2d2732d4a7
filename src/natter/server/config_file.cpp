#include "natter/server/config_file.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>

namespace natter::server
{

namespace
{

std::string_view trimmed(std::string_view s)
{
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos)
    return {};
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

// The file the --config option names (CLI11 reads one at a time).
std::string file_of(const CLI::App& app)
{
  const auto files = app.get_config_ptr()->as<std::vector<std::string>>();
  return files.empty() ? std::string() : files.front();
}

} // namespace

std::vector<CLI::ConfigItem> config_file::from_config(std::istream& input) const
{
  if (app_.get_config_ptr()->count() > 1)
    throw CLI::ConfigError("--config: give one file");
  const std::string file = file_of(app_);
  std::map<std::string, std::size_t, std::less<>> seen; // key -> line
  std::string line;
  for (std::size_t number = 1; std::getline(input, line); ++number)
  {
    const std::string at = file + ":" + std::to_string(number);
    const std::string_view text = trimmed(line);
    if (text.empty() || text.front() == '#')
      continue;
    if (text.front() == '[')
      throw CLI::ConfigError(at + ": sections are not used: every key stands alone");
    if (text.find('=') == std::string_view::npos)
      throw CLI::ConfigError(at + ": expected key = value");
    // CLI11's own TOML reader, for the syntax of one line (quotes,
    // comments, arrays); lines are taken one by one to know their numbers.
    std::istringstream one{std::string(text)};
    const std::vector<CLI::ConfigItem> parsed = CLI::ConfigTOML::from_config(one);
    if (parsed.size() != 1)
      throw CLI::ConfigError(at + ": expected key = value");
    const CLI::ConfigItem& item = parsed.front();
    const std::string key = item.fullname();
    CLI::Option* op = item.parents.empty() ? app_.get_option_no_throw("--" + key) : nullptr;
    if (op == nullptr || !op->get_configurable())
      throw CLI::ConfigError(at + ": unknown key '" + key + "'");
    if (const auto [first, fresh] = seen.emplace(key, number); !fresh)
      throw CLI::ConfigError(at + ": '" + key + "' is set already on line " +
                             std::to_string(first->second));
    if (!op->empty())
      continue; // given on the command line, which wins
    const bool flag = op->get_expected_min() == 0;
    // CLI11 splits an unquoted value at spaces and commas ("1 MiB").
    if (item.inputs.size() != 1)
      throw CLI::ConfigError(at + ": " + op->get_name() + ": expected one value, not '" +
                             std::string(trimmed(text.substr(text.find('=') + 1))) + "'");
    try
    {
      // As CLI11 applies a config item, with the option's own conversion
      // and checks run at once so that a refusal names this line.
      if (flag)
        op->add_result(op->get_flag_value(item.name, to_flag(item)));
      else
        op->add_result(item.inputs);
      op->run_callback();
    }
    catch (const CLI::Error& e)
    {
      throw CLI::ConfigError(at + ": " + e.what());
    }
    catch (const std::exception&) // a flag's value that is no number or boolean
    {
      throw CLI::ConfigError(at + ": " + op->get_name() + ": expected true or false, not '" +
                             item.inputs.front() + "'");
    }
    origin_.insert_or_assign(op->get_name(), at);
  }
  return {};
}

void config_file::reject(std::string_view flag, const std::string& why,
                         std::initializer_list<std::string_view> related) const
{
  auto from = origin_.find(flag);
  for (auto r = related.begin(); from == origin_.end() && r != related.end(); ++r)
    from = origin_.find(*r);
  if (from == origin_.end())
    throw CLI::ValidationError(std::string(flag), why);
  throw CLI::ConfigError(from->second + ": " + std::string(flag) + ": " + why);
}

std::string config_file::unreadable() const
{
  const std::string file = file_of(app_);
  std::string why = "cannot be read";
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec))
    why = std::strerror(EISDIR);
  else if (std::FILE* f = std::fopen(file.c_str(), "r"); f == nullptr)
    why = std::strerror(errno);
  else
    std::fclose(f);
  return "--config " + file + ": " + why;
}

} // namespace natter::server
