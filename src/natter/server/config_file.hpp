// natterd --config FILE: CLI11's config-file support, with a reader that
// knows which line each value came from. Every long flag of natterd but
// --config, --check-config, --help and --version is a key of the same name
// without its dashes; each line is `key = value` in TOML's syntax (CLI11's
// TOML reader parses it), `#` starts a comment. A flag given on the command
// line wins over the file.
#ifndef NATTER_SERVER_CONFIG_FILE_HPP
#define NATTER_SERVER_CONFIG_FILE_HPP

#include <CLI/CLI.hpp>

#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace natter::server
{

/// The reader app.set_config() uses for natterd.
class config_file : public CLI::ConfigTOML
{
public:
  /// A reader for `app`, whose set_config() option names the file.
  explicit config_file(CLI::App& app) : app_(app) {}

  /// Applies the file to `app`'s options itself, one line at a time, and
  /// returns nothing more for CLI11 to apply. Throws CLI::ConfigError
  /// "FILE:LINE: why" for a key that is no flag's, a key given twice, a
  /// section, a line that is not `key = value`, or a value its flag refuses.
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;

  /// Throws the error for `flag`'s value: a CLI::ConfigError that starts
  /// with "FILE:LINE: " when that value, or failing that one of `related`,
  /// came from the file; CLI::ValidationError otherwise.
  [[noreturn]] void reject(std::string_view flag, const std::string& why,
                           std::initializer_list<std::string_view> related = {}) const;

  /// "--config FILE: <why it cannot be read>", for a CLI::FileError.
  std::string unreadable() const;

private:
  CLI::App& app_;
  /// "--flag" -> "FILE:LINE" of each value applied from the file.
  mutable std::map<std::string, std::string, std::less<>> origin_;
};

} // namespace natter::server

#endif // NATTER_SERVER_CONFIG_FILE_HPP
