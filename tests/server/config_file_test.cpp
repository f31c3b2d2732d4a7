// natterd --config FILE and --check-config (README "natterd's config
// file", spec 13.1): values from the file reach the wire, the command line
// wins, refusals name the file and line with status 2, a check binds
// nothing and says ok (0) or why not (1); and etc/natterd.conf is every
// flag at its default.
#include "natterd_process.hpp"

#include "natter/core/greeting.hpp"
#include "natter/server/options.hpp"
#include "support/test_pki.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace natter::test
{
namespace
{

using namespace std::chrono_literals;

const std::filesystem::path example = NATTER_SOURCE_DIR "/etc/natterd.conf";

/// A config file in a directory of its own, removed with it.
class config
{
public:
  explicit config(const std::string& text)
  {
    std::string dir = (std::filesystem::temp_directory_path() / "natterd-conf-XXXXXX").string();
    if (::mkdtemp(dir.data()) == nullptr)
      throw std::runtime_error("mkdtemp");
    dir_ = dir;
    path_ = dir_ / "natterd.conf";
    std::ofstream(path_) << text;
  }
  config(const config&) = delete;
  config& operator=(const config&) = delete;
  ~config() { std::filesystem::remove_all(dir_); }

  std::string path() const { return path_.string(); }
  /// Replaces the file's text (as an editor that saves in place does).
  void write(const std::string& text) const { std::ofstream(path_) << text; }

private:
  std::filesystem::path dir_;
  std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path& p)
{
  std::ifstream in(p);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Everything natterd takes from its options, as one text to compare.
std::string described(const server::options& o)
{
  auto port = [](const std::optional<unsigned short>& p)
  { return p ? std::to_string(*p) : std::string("off"); };
  std::ostringstream s;
  s << "bind=" << o.bind << " chat=" << port(o.chat_port) << " echo=" << port(o.echo_port)
    << " max-clients=" << o.max_clients << " max-per-ip=" << o.max_per_ip
    << " loopback-exempt=" << o.loopback_exempt << " sndbuf=" << o.sndbuf
    << " user-timeout=" << o.tcp_user_timeout.count() << " echo-clients=" << o.echo_max_clients
    << " echo-total=" << o.echo_max_total_sendq << " echo-idle=" << o.echo_idle_timeout.count()
    << " tls=" << port(o.tls.port) << " cert=" << o.tls.cert << " key=" << o.tls.key
    << " handshake=" << o.tls.handshake_timeout.count() << " check=" << o.tls.check_interval.count()
    << " threads=" << o.threads << " level=" << static_cast<int>(o.level)
    << " total-sendq=" << o.chat.max_total_sendq << " check-config=" << o.check_config << " | "
    << core::greeting_line(o.chat);
  return s.str();
}

// natterd's own parser on `args` (argv[0] added); throws when it refuses.
server::options parsed(std::vector<std::string> args)
{
  args.insert(args.begin(), "natterd");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  server::options o;
  if (server::parse_options(static_cast<int>(argv.size()), argv.data(), o))
    throw std::runtime_error("refused");
  return o;
}

// The advert `name=` of a greeting.
std::string advert(const std::string& greeting, const std::string& name)
{
  const auto at = greeting.find(" " + name + "=");
  if (at == std::string::npos)
    return "<none>";
  const auto from = at + name.size() + 2;
  return greeting.substr(from, greeting.find(' ', from) - from);
}

// --- values from the file ---

TEST(ConfigFile, ValuesFromTheFileReachTheWire)
{
  const config c("# a small room\n"
                 "max-line = 64\n"
                 "history = 3   # a short memory\n"
                 "rate = 0\n"
                 "log-level = \"warn\"\n");
  natterd_process d({"--config", c.path()});
  client a("127.0.0.1", d.chat_port());
  const std::string greeting = a.line();
  EXPECT_EQ(advert(greeting, "line"), "64") << greeting;
  EXPECT_EQ(advert(greeting, "history"), "3") << greeting;
  EXPECT_EQ(advert(greeting, "rate"), "0") << greeting;
  a.send("NICK a\r\n");
  EXPECT_EQ(a.line(), "200 a nick accepted");
  // 62 octets and CRLF fit; one more does not (spec 4.2).
  a.send("ECHO " + std::string(57, 'x') + "\r\n");
  EXPECT_EQ(a.line(), "ECHO " + std::string(57, 'x'));
  a.send("ECHO " + std::string(58, 'x') + "\r\n");
  EXPECT_EQ(a.line().substr(0, 4), "413 ");
}

TEST(ConfigFile, TheCommandLineWins)
{
  // The file names the port of a natterd that is listening already: had
  // the file won over --chat-port 0, this one could not start.
  natterd_process first;
  const config c("chat-port = " + std::to_string(first.chat_port()) +
                 "\n"
                 "max-line = 64\n"
                 "max-per-ip = 2\n");
  natterd_process d({"--config", c.path(), "--max-line", "128"});
  EXPECT_NE(d.chat_port(), first.chat_port());
  client a("127.0.0.1", d.chat_port());
  EXPECT_EQ(advert(a.line(), "line"), "128");
  // What the command line left alone still comes from the file.
  EXPECT_EQ(parsed({"--config", c.path(), "--max-line", "128"}).max_per_ip, 2u);
  EXPECT_EQ(parsed({"--config", c.path()}).chat.max_line, 64u);
}

TEST(ConfigFile, AFlagCanBeTurnedOnAndLeftOff)
{
  const config on("no-loopback-exempt = true\n");
  const config off("no-loopback-exempt = false\n");
  EXPECT_FALSE(parsed({"--config", on.path()}).loopback_exempt);
  EXPECT_TRUE(parsed({"--config", off.path()}).loopback_exempt);
  EXPECT_FALSE(parsed({"--config", off.path(), "--no-loopback-exempt"}).loopback_exempt);
}

// --- refusals: status 2, one line naming the file, the line, the key ---

TEST(ConfigFile, RefusalsNameTheFileAndLine)
{
  struct refusal
  {
    std::string text;
    std::string says; // after "natterd: FILE:"
  };
  for (const refusal& r :
       {refusal{"max-line = 64\nmax-lien = 65\n", "2: unknown key 'max-lien'"},
        refusal{"max-line = 31\n", "1: --max-line: Value 31 not in range"},
        refusal{"# sizes\n\nmax-sendq = 1 MiB\n",
                "3: --max-sendq: expected one value, not '1 MiB'"},
        refusal{"chat-port = 70000\n", "1: --chat-port: '70000' is not a port"},
        refusal{"log-level = \"loud\"\n", "1: --log-level: "},
        refusal{"rate = fast\n", "1: --rate: "},
        refusal{"no-loopback-exempt = maybe\n", "1: --no-loopback-exempt: expected true or false"},
        refusal{"history = 964\n", "1: --history: 964 messages may not fit a send queue"},
        refusal{"max-line = 64\nmax-line = 65\n", "2: 'max-line' is set already on line 1"},
        refusal{"[natterd]\nmax-line = 64\n", "1: sections are not used"},
        refusal{"max-line\n", "1: expected key = value"},
        refusal{"check-config = true\n", "1: unknown key 'check-config'"},
        refusal{"config = \"other.conf\"\n", "1: unknown key 'config'"},
        refusal{"help = true\n", "1: unknown key 'help'"}})
  {
    const config c(r.text);
    const run_result got = run_natterd("--echo-port off --config " + c.path());
    EXPECT_EQ(got.status, 2) << r.text << got.output;
    EXPECT_EQ(got.output.find("natterd: " + c.path() + ":" + r.says), 0u) << r.text << got.output;
    EXPECT_EQ(std::count(got.output.begin(), got.output.end(), '\n'), 1) << got.output;
  }
}

TEST(ConfigFile, AFileThatCannotBeReadIsRefused)
{
  const config c("");
  const std::string missing = c.path() + ".missing";
  run_result got = run_natterd("--config " + missing);
  EXPECT_EQ(got.status, 2) << got.output;
  EXPECT_EQ(got.output, "natterd: --config " + missing + ": No such file or directory\n");
  const std::string dir = std::filesystem::path(c.path()).parent_path().string();
  got = run_natterd("--config " + dir);
  EXPECT_EQ(got.status, 2) << got.output;
  EXPECT_EQ(got.output, "natterd: --config " + dir + ": Is a directory\n");
}

// A mistake on the command line keeps its message; the file is not blamed.
TEST(ConfigFile, TheCommandLineIsBlamedForItsOwnMistakes)
{
  const config c("max-line = 64\n");
  const run_result got = run_natterd("--config " + c.path() + " --max-line 31");
  EXPECT_EQ(got.status, 2) << got.output;
  EXPECT_EQ(got.output.find("--max-line: Value 31 not in range"), 0u) << got.output;
}

// --- --check-config ---

// SIGHUP with --config: the file is read again; what can change under live
// connections is applied and logged, the rest is kept with a warning, and
// no one is dropped [N-SHUT-8, N-SHUT-15, N-SHUT-16].
TEST(ConfigReload, SighupAppliesWhatCanChangeAndKeepsTheRest)
{
  const config c("no-loopback-exempt = true\nmax-per-ip = 3\nlog-level = \"info\"\n");
  natterd_process d({"--config", c.path()}, 0, true);
  std::vector<client> cs;
  for (const char* nick : {"a", "b"})
    cs.push_back(registered(d.chat_port(), nick));
  EXPECT_EQ(cs[0].sync(), std::vector<std::string>{"JOIN b"});
  c.write("no-loopback-exempt = true\nmax-per-ip = 2\nlog-level = \"debug\"\nmax-line = 512\n");
  // (log-level was set in the file, so the command line does not win.)
  d.signal(SIGHUP);
  ASSERT_TRUE(d.wait_log("SIGHUP: --max-line stays 1024 until a restart (the file says 512)"))
      << d.log();
  const std::string log = d.log();
  for (const std::string& line :
       {"natterd: info: SIGHUP: reading " + c.path() + " again",
        std::string("natterd: info: SIGHUP: --log-level is now debug (was info)"),
        std::string("natterd: info: SIGHUP: --max-per-ip is now 2 (was 3), for new connections")})
    EXPECT_NE(log.find(line + "\n"), std::string::npos) << line << "\n" << log;
  // Both stay; the line limit is the one the greeting promised.
  cs[0].send("MSG " + std::string(600, 'x') + "\r\n");
  EXPECT_TRUE(cs[0].sync().empty());
  EXPECT_EQ(cs[1].sync(), std::vector<std::string>{"MSG a " + std::string(600, 'x')});
  // Two are open from 127.0.0.1: a third, welcome under the old limit of
  // three, is over the new one.
  client over("127.0.0.1", d.chat_port());
  EXPECT_EQ(over.line(), "504 too many connections from your address");
  // Once one has left, there is room again.
  cs[1].send("QUIT\r\n");
  EXPECT_EQ(cs[1].line(), "221 goodbye");
  EXPECT_TRUE(cs[1].closed_within(5s));
  std::string got;
  for (int i = 0; i < 250 && (got = client("127.0.0.1", d.chat_port()).line()) != d.greeting(); ++i)
    std::this_thread::sleep_for(20ms); // natterd has not counted b out yet
  EXPECT_EQ(got, d.greeting());
  // A second SIGHUP with the same file changes nothing more: the kept
  // flag is named again, nothing is applied again.
  const auto count = [&](const std::string& what)
  {
    const std::string text = d.log();
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
      ++n;
    return n;
  };
  d.signal(SIGHUP);
  for (int i = 0; i < 500 && count("--max-line stays") < 2; ++i)
    std::this_thread::sleep_for(20ms);
  EXPECT_EQ(count("--max-line stays"), 2u) << d.log();
  EXPECT_EQ(count(" is now "), 2u) << d.log();
}

// A file that no longer passes its check changes nothing, and says why
// [N-SHUT-15].
TEST(ConfigReload, AFileThatNoLongerPassesChangesNothing)
{
  const config c("no-loopback-exempt = true\nmax-per-ip = 2\n");
  natterd_process d({"--config", c.path()}, 0, true);
  c.write("no-loopback-exempt = true\nmax-per-ip = 1\nmax-line = 10\n");
  d.signal(SIGHUP);
  ASSERT_TRUE(d.wait_log("SIGHUP: nothing changed: " + c.path() +
                         ":3: --max-line: Value 10 not in range 32 to 16777216\n"))
      << d.log();
  EXPECT_EQ(d.log().find("is now"), std::string::npos) << d.log();
  client a = registered(d.chat_port(), "a");
  client b = registered(d.chat_port(), "b"); // the limit is still two
  client over("127.0.0.1", d.chat_port());
  EXPECT_EQ(over.line(), "504 too many connections from your address");
  EXPECT_EQ(a.sync(), std::vector<std::string>{"JOIN b"});
}

TEST(CheckConfig, SaysOkAndBindsNothing)
{
  // Ports another natterd holds: a check that bound them would fail.
  natterd_process first;
  const config c("chat-port = " + std::to_string(first.chat_port()) +
                 "\n"
                 "echo-port = " +
                 std::to_string(first.echo_port()) + "\n");
  run_result got = run_natterd("--check-config --config " + c.path());
  EXPECT_EQ(got.status, 0) << got.output;
  EXPECT_EQ(got.output, "natterd: configuration ok\n");
  got = run_natterd("--check-config --echo-port off --max-line 64");
  EXPECT_EQ(got.status, 0) << got.output;
  EXPECT_EQ(got.output, "natterd: configuration ok\n");
}

TEST(CheckConfig, SaysWhyNotAndExitsOne)
{
  const config bad_key("max-lien = 64\n");
  const config bad_history("max-line = 32\nmax-sendq = 191\nhistory = 2\n");
  const config same_port("chat-port = 7000\necho-port = 7000\n");
  struct failure
  {
    std::string flags;
    std::string says;
  };
  for (const failure& f :
       {failure{"--config " + bad_key.path(), bad_key.path() + ":1: unknown key 'max-lien'"},
        failure{"--config " + bad_history.path(), bad_history.path() + ":3: --history: 2 messages"},
        failure{"--config " + same_port.path(), same_port.path() + ":2: --echo-port: port 7000"},
        failure{"--max-line 31", "--max-line: Value 31 not in range"},
        failure{"--no-such-flag", "The following argument was not expected: --no-such-flag"},
        failure{"--bind nowhere", "bad address 'nowhere'"},
        failure{"--tls-port 0", "--tls-cert: is needed with --tls-port"},
        failure{"--config " + bad_key.path() + ".missing",
                "--config " + bad_key.path() + ".missing: No such file or directory"}})
  {
    const run_result got = run_natterd("--check-config " + f.flags);
    EXPECT_EQ(got.status, 1) << f.flags << ": " << got.output;
    EXPECT_EQ(got.output.find("natterd: " + f.says), 0u) << f.flags << ": " << got.output;
    EXPECT_EQ(std::count(got.output.begin(), got.output.end(), '\n'), 1) << got.output;
  }
}

// The TLS pair is loaded and matched as at start-up (spec 3.1).
TEST(CheckConfig, LoadsAndMatchesTheTlsPair)
{
  test_pki pki;
  const issued pair = pki.issue("natterd");
  const std::string other = (pki.dir() / "other.key").string();
  pki.write_unrelated_key(other);
  const config good("tls-port = 7778\ntls-cert = \"" + pair.cert.string() + "\"\ntls-key = \"" +
                    pair.key.string() + "\"\n");
  run_result got = run_natterd("--check-config --config " + good.path());
  EXPECT_EQ(got.status, 0) << got.output;
  EXPECT_EQ(got.output, "natterd: configuration ok\n");
  // The command line's key wins over the file's, and does not match.
  got = run_natterd("--check-config --config " + good.path() + " --tls-key " + other);
  EXPECT_EQ(got.status, 1) << got.output;
  EXPECT_EQ(got.output.find("natterd: --tls-key: "), 0u) << got.output;
  EXPECT_NE(got.output.find("does not match"), std::string::npos) << got.output;
  got = run_natterd("--check-config --config " + good.path() + " --tls-cert " + other);
  EXPECT_EQ(got.status, 1) << got.output;
  EXPECT_EQ(got.output.find("natterd: --tls-cert: "), 0u) << got.output;
}

// --- etc/natterd.conf ---

// The example's keys: every "# key = value" line.
std::map<std::string, std::string> example_keys()
{
  std::map<std::string, std::string> keys;
  std::istringstream in(read_file(example));
  const std::regex line(R"(^# ([a-z-]+) = (.*)$)");
  for (std::string l; std::getline(in, l);)
    if (std::smatch m; std::regex_match(l, m, line))
    {
      EXPECT_TRUE(keys.emplace(m[1], m[2]).second) << m[1] << " twice";
    }
  return keys;
}

// `natterd --help`'s flags, each with its shown default ("" for none).
std::map<std::string, std::string> help_flags()
{
  const run_result help = run_natterd("--help");
  EXPECT_EQ(help.status, 0);
  std::map<std::string, std::string> flags;
  std::istringstream in(help.output);
  const std::regex flag(R"(^  (?:-h,)?--([a-z-]+)(.*)$)");
  for (std::string l; std::getline(in, l);)
    if (std::smatch m; std::regex_match(l, m, flag))
    {
      // "--max-sendq UINT:POSITIVE=1 MiB   pending ...": the part before
      // the description's column, and the default after its last '='.
      std::string rest = m[2];
      rest = rest.substr(0, rest.find("  "));
      const auto eq = rest.rfind('=');
      flags[m[1]] = eq == std::string::npos ? "" : rest.substr(eq + 1);
    }
  return flags;
}

// Whether the help's `shown` default is `value` from the example: the
// same text unquoted, a size the help writes in KiB or MiB, or a flag
// (false) or a file (""), which the help shows no default for.
bool help_shows(const std::string& shown, std::string value)
{
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
    value = value.substr(1, value.size() - 2);
  if (value == "false")
    value.clear();
  if (shown == value)
    return true;
  const bool number = !value.empty() && std::all_of(value.begin(), value.end(),
                                                    [](char ch) { return ch >= '0' && ch <= '9'; });
  if (!number)
    return false;
  const unsigned long long n = std::stoull(value);
  return (n % 1024 == 0 && shown == std::to_string(n / 1024) + " KiB") ||
         (n % (1024 * 1024) == 0 && shown == std::to_string(n / (1024 * 1024)) + " MiB");
}

TEST(ExampleConfig, HasEveryFlagAtTheDefaultHelpShows)
{
  const auto keys = example_keys();
  auto flags = help_flags();
  for (const char* not_a_key : {"config", "check-config", "help", "version"})
    EXPECT_EQ(flags.erase(not_a_key), 1u) << not_a_key;
  std::set<std::string> key_names;
  std::set<std::string> flag_names;
  for (const auto& k : keys)
    key_names.insert(k.first);
  for (const auto& f : flags)
    flag_names.insert(f.first);
  EXPECT_EQ(key_names, flag_names);
  for (const auto& [key, value] : keys)
  {
    if (flags.count(key) != 0)
    {
      EXPECT_TRUE(help_shows(flags[key], value))
          << key << ": the example says " << value << ", --help " << flags[key];
    }
  }
}

TEST(ExampleConfig, LoadsAsItIsAndUncommentedChangesNothing)
{
  const run_result got = run_natterd("--check-config --config " + example.string());
  EXPECT_EQ(got.status, 0) << got.output;
  EXPECT_EQ(got.output, "natterd: configuration ok\n");
  // Every setting uncommented: the options are natterd's defaults.
  std::string all;
  for (const auto& [key, value] : example_keys())
    all += key + " = " + value + "\n";
  const config c(all);
  EXPECT_EQ(run_natterd("--check-config --config " + c.path()).status, 0);
  server::options defaults = parsed({});
  server::options from_file = parsed({"--config", c.path()});
  EXPECT_EQ(described(from_file), described(defaults));
}

} // namespace
} // namespace natter::test
