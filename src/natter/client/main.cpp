// natter: the terminal chat client (issue 4). Parses the command line and
// runs the client; exceptions are caught only here.
#include "natter/client/address.hpp"
#include "natter/client/client.hpp"
#include "natter/client/nick.hpp"
#include "natter/proto/limits.hpp"
#include "natter/proto/server_line.hpp"
#include "natter/tls/context.hpp"

#include <CLI/CLI.hpp>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <string>

#include <unistd.h>

namespace
{

/// Exit status for a bad command line.
constexpr int exit_usage = 2;

std::string env(const char* name)
{
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// Why `path` cannot be read ("" when it can): OpenSSL's own message for a
// missing file says little more than "system lib".
std::string unreadable(const std::string& path)
{
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr)
    return std::strerror(errno);
  std::fclose(f);
  return {};
}

} // namespace

int main(int argc, char** argv)
{
  namespace nc = natter::client;

  CLI::App cli{"natter: chat in a natter room from a terminal, or post from a script.\n"
               "Reads stdin: interactive with line editing on a terminal, otherwise\n"
               "every line is sent as a message and natter exits at end of input.",
               "natter"};
  std::string nick;
  bool no_colour = false;
  bool no_reconnect = false;
  unsigned timeout = 30;
  unsigned reconnects = 0;
  bool tls = false;
  std::string tls_ca;
  bool tls_insecure = false;
  std::string address = "localhost";
  cli.add_option("--nick", nick, "nick to use (default: from $USER)");
  cli.add_flag("--no-color", no_colour, "never colour the output (also: NO_COLOR set)");
  cli.add_flag("--no-reconnect", no_reconnect, "exit when the connection is lost");
  cli.add_option("--timeout", timeout,
                 "with stdin not a terminal: exit 1 when the server leaves natter waiting this\n"
                 "many seconds for an answer (to connect, to register, to confirm what was\n"
                 "sent); 0 waits for ever (default: 30)");
  cli.add_option("--reconnects", reconnects,
                 "exit 1 after this many reconnections in a row, none of which stayed up\n"
                 "30 s (default: 5 with stdin not a terminal, no limit on one)");
  CLI::Option* tls_flag =
      cli.add_flag("--tls", tls,
                   "connect over TLS (default port 7778), verifying the server's certificate\n"
                   "against the system's trust store and the host name");
  cli.add_option("--tls-ca", tls_ca,
                 "with --tls: trust the CA certificates in this PEM file instead of the\n"
                 "system's store")
      ->needs(tls_flag);
  cli.add_flag("--tls-insecure", tls_insecure,
               "with --tls: do not verify the server's certificate (natter warns)")
      ->needs(tls_flag)
      ->excludes("--tls-ca");
  cli.add_option("address", address,
                 "HOST[:PORT], [IPV6]:PORT (default: localhost:7777, with --tls localhost:7778)");
  cli.set_version_flag("--version", "natter " NATTER_VERSION);

  try
  {
    cli.parse(argc, argv);
  }
  catch (const CLI::ParseError& e)
  {
    if (e.get_exit_code() == 0)
      return cli.exit(e); // --help, --version
    std::fprintf(stderr, "natter: %s (try --help)\n", e.what());
    return exit_usage;
  }

  nc::settings s;
  s.server = nc::parse_host_port(address, tls ? natter::proto::default_tls_port
                                              : natter::proto::default_chat_port);
  if (!s.server)
  {
    std::fprintf(stderr, "natter: %s\n", s.server.error.c_str());
    return exit_usage;
  }
  if (!nick.empty() || cli.count("--nick") > 0)
  {
    if (!natter::proto::is_valid_nick(nick))
    {
      std::fprintf(stderr,
                   "natter: invalid nick \"%s\": 1-16 of A-Z a-z 0-9 _ -, starting with a letter\n",
                   nick.c_str());
      return exit_usage;
    }
    s.nick = nick;
  }
  else
  {
    std::string user = env("USER");
    if (user.empty())
      user = env("LOGNAME");
    s.nick = nc::sanitize_nick(user);
  }
  s.interactive = ::isatty(STDIN_FILENO) != 0;
  s.colour = !no_colour && env("NO_COLOR").empty() && ::isatty(STDOUT_FILENO) != 0;
  s.reconnect = !no_reconnect;
  s.timeout = std::chrono::seconds(timeout);
  s.max_reconnects = cli.count("--reconnects") > 0 ? reconnects
                     : s.interactive               ? std::numeric_limits<unsigned>::max()
                                                   : 5;
  if (const std::string home = env("HOME"); !home.empty() && s.interactive)
    s.history_path = home + "/.natter_history";

  if (tls)
  {
    // A CA file that cannot be used ends natter as a server whose --tls-cert
    // cannot be used ends natterd: status 1, naming the flag and the file.
    if (const std::string why = tls_ca.empty() ? "" : unreadable(tls_ca); !why.empty())
    {
      std::fprintf(stderr, "natter: --tls-ca: cannot read %s: %s\n", tls_ca.c_str(), why.c_str());
      return 1;
    }
    try
    {
      s.tls = std::make_shared<const natter::tls::client_context>(
          natter::tls::client_settings{!tls_insecure, tls_ca});
    }
    catch (const natter::tls::error& e)
    {
      std::fprintf(stderr, "natter: %s%s\n", tls_ca.empty() ? "" : "--tls-ca: ", e.what());
      return 1;
    }
    s.tls_insecure = tls_insecure;
  }

  // A reader of our stdout that goes away must not kill us mid-QUIT.
  std::signal(SIGPIPE, SIG_IGN);

  try
  {
    return nc::run_client(s);
  }
  catch (const std::exception& e)
  {
    std::fprintf(stderr, "natter: %s\n", e.what());
    return 1;
  }
}
