#include "natter/server/options.hpp"

#include "natter/cluster/redis.hpp"
#include "natter/server/config_file.hpp"
#include "natter/server/wall_clock.hpp"

#include <CLI/CLI.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <string_view>
#include <system_error>
#include <thread>

namespace natter::server
{

namespace
{

// "off" or a port number (0: ephemeral).
std::optional<unsigned short> parse_port(std::string_view flag, const std::string& text,
                                         const config_file& config)
{
  if (text == "off")
    return std::nullopt;
  unsigned n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || n > 65535)
    config.reject(flag, "'" + text + "' is not a port: use 0..65535 or off");
  return static_cast<unsigned short>(n);
}

// --metrics: "off", PORT or :PORT (on 127.0.0.1), ADDR:PORT with an IPv4
// address, or [ADDR]:PORT with an IPv6 one.
std::optional<options::metrics_address> parse_metrics(const std::string& text,
                                                      const config_file& config)
{
  if (text == "off")
    return std::nullopt;
  options::metrics_address m{"127.0.0.1", 0};
  std::string port = text;
  bool ok = true;
  if (const std::size_t colon = text.rfind(':'); colon != std::string::npos)
  {
    std::string host = text.substr(0, colon);
    port = text.substr(colon + 1);
    in6_addr v6{};
    in_addr v4{};
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    {
      host = host.substr(1, host.size() - 2);
      ok = ::inet_pton(AF_INET6, host.c_str(), &v6) == 1;
    }
    else if (!host.empty())
      ok = ::inet_pton(AF_INET, host.c_str(), &v4) == 1;
    if (!host.empty())
      m.address = host;
  }
  unsigned n = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  if (!ok || port.empty() || ec != std::errc() || end != port.data() + port.size() || n > 65535)
    config.reject("--metrics", "'" + text +
                                   "' is not ADDR:PORT, :PORT, PORT or off (an IPv6 address in "
                                   "brackets: [::1]:9100)");
  m.port = static_cast<unsigned short>(n);
  return m;
}

// --check-config anywhere on the command line: then every refusal, of the
// command line too, is a failed check (status 1).
bool checking(int argc, char** argv)
{
  return std::any_of(argv + std::min(argc, 1), argv + argc,
                     [](const char* a) { return std::strcmp(a, "--check-config") == 0; });
}

// The default of `flag` as the README and the spec write it (limits.hpp).
std::string shown_default(std::string_view flag)
{
  const auto row = core::limits::for_flag(flag);
  return row ? std::string(row->value) : std::string();
}

std::string seconds_text(std::chrono::seconds s)
{
  return std::to_string(s.count()) + " s";
}

// The value `o` was set to, as a reload compares and logs it: a switch is
// true or false, a flag without a value its default ("" when it has none).
std::string value_of(const CLI::Option& o)
{
  if (o.get_expected_max() == 0)
    return o.count() > 0 && o.as<bool>() ? "true" : "false";
  if (o.count() == 0)
    return o.get_default_str();
  std::string v;
  for (const std::string& r : o.results())
    v.append(v.empty() ? "" : " ").append(r);
  return v;
}

// parse_options(), with a refusal's cause put in `error` instead of being
// printed when `error` is not null (a reload).
std::optional<int> parse(int argc, char** argv, options& out, std::string* error)
{
  CLI::App app{"natterd: the natter chat server (TCP, default port 7777) and an "
               "RFC 862 echo service (default port 7)",
               "natterd"};
  app.set_version_flag("--version", "natterd 0.1.0 (natter/1)")->configurable(false);
  app.get_help_ptr()->configurable(false);
  const auto config = std::make_shared<config_file>(app);
  app.config_formatter(config);
  // Wide enough that every flag with its default stands apart from its
  // description ("--redis-prefix TEXT=natter:" is 29 columns).
  app.get_formatter()->column_width(32);
  app.set_config("--config", "",
                 "read flags from FILE: `key = value` lines, a key for every flag here but "
                 "--config, --check-config, --help and --version; the command line wins")
      ->type_name("FILE");
  app.add_flag("--check-config", out.check_config,
               "check the configuration as at start-up (--tls-cert and --tls-key loaded and "
               "matched), bind nothing, print 'natterd: configuration ok' and exit 0, or the "
               "reason and exit 1")
      ->configurable(false);

  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  out.threads = 0;
  namespace limits = core::limits;
  std::string chat_port = std::to_string(limits::chat_port);
  std::string echo_port = std::to_string(limits::echo_port);
  std::string level = "info";
  auto secs = [](std::chrono::seconds d) { return static_cast<double>(d.count()); };
  double reg_timeout = secs(limits::registration_timeout);
  double idle_timeout = secs(limits::idle_timeout);
  double echo_idle = secs(limits::echo_idle_timeout);
  double user_timeout = secs(limits::tcp_user_timeout);
  std::string tls_port = "off";
  std::string metrics = "off";
  double handshake_timeout = secs(limits::tls_handshake_timeout);
  double check_interval = secs(limits::tls_check_interval);
  double node_timeout = secs(limits::node_timeout);
  core::config& c = out.chat;

  app.add_option("--bind", out.bind,
                 "address to listen on; :: is dual-stack (IPv4 and IPv6), "
                 "0.0.0.0 is used where the host has no IPv6")
      ->default_str(shown_default("--bind"));
  app.add_option("--chat-port", chat_port, "chat port; 0 = ephemeral, off = disabled")
      ->default_str(shown_default("--chat-port"));
  app.add_option("--echo-port", echo_port, "echo port (RFC 862); 0 = ephemeral, off = disabled")
      ->default_str(shown_default("--echo-port"));
  app.add_option("--max-clients", out.max_clients,
                 "chat connections in all; beyond it a new one gets 503 and is closed")
      ->default_str(shown_default("--max-clients"));
  app.add_option("--max-per-ip", out.max_per_ip,
                 "chat connections per client address (504 beyond it); 0 = no limit")
      ->default_str(shown_default("--max-per-ip"));
  // CLI11 passes -1 for a flag set false (no-loopback-exempt = false in a
  // config file).
  app.add_flag(
      "--no-loopback-exempt", [&out](std::int64_t n) { out.loopback_exempt = n <= 0; },
      "count loopback addresses against --max-per-ip too (exempt by default)");
  app.add_option("--max-line", c.max_line,
                 "line limit in octets, terminator included (min " +
                     std::to_string(proto::min_max_line) + ")")
      ->default_str(shown_default("--max-line"))
      ->check(CLI::Range(std::size_t{proto::min_max_line}, std::size_t{1} << 24));
  app.add_option("--max-sendq", c.max_sendq,
                 "pending output per registered client in bytes (524 beyond it); "
                 "unregistered clients: " +
                     std::to_string(limits::unregistered_sendq / limits::kib) + " KiB")
      ->default_str(shown_default("--max-sendq"))
      ->check(CLI::PositiveNumber);
  app.add_option("--max-total-sendq", c.max_total_sendq,
                 "pending output of all clients in bytes; the largest queues are dropped first")
      ->default_str(shown_default("--max-total-sendq"))
      ->check(CLI::PositiveNumber);
  app.add_option("--rate", c.rate,
                 "flood control: lines per second, burst of " +
                     std::to_string(static_cast<int>(limits::burst)) + "; 0 = off")
      ->default_str(shown_default("--rate"))
      ->check(CLI::Validator(
          [](const std::string& v)
          {
            double r = -1;
            const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), r);
            const bool number = ec == std::errc() && end == v.data() + v.size();
            return number && (r == 0 || (r >= 0.001 && r <= 1e9))
                       ? std::string()
                       : "must be 0 or a number from 0.001 to 1e9";
          },
          "0 or 0.001..1e9"));
  // Timeouts stop at a year, so a deadline never overflows the clock.
  const auto seconds = CLI::Range(0.0, 31536000.0);
  app.add_option("--registration-timeout", reg_timeout,
                 "seconds a connection has to register with NICK (522); 0 = none")
      ->default_str(shown_default("--registration-timeout"))
      ->check(seconds);
  app.add_option("--idle-timeout", idle_timeout,
                 "seconds without an octet before a chat connection is closed (523); 0 = none")
      ->default_str(shown_default("--idle-timeout"))
      ->check(seconds);
  app.add_option("--history", c.history,
                 "room messages kept for HISTORY; 0 = none; at most (--max-sendq - " +
                     std::to_string(limits::history_end_line) + ") / (--max-line + " +
                     std::to_string(limits::history_line_overhead) +
                     "), so a whole HISTORY reply fits a send queue")
      ->default_str(shown_default("--history"));
  app.add_option("--sndbuf", out.sndbuf,
                 "kernel send buffer per chat socket in bytes (SO_SNDBUF, which the kernel "
                 "doubles); 0 = the kernel's autotuning (up to megabytes per client)")
      ->default_str(shown_default("--sndbuf"))
      ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 30));
  app.add_option("--tcp-user-timeout", user_timeout,
                 "seconds output may stay unacknowledged, or wait behind a client's zero "
                 "window, before the connection is dropped (TCP_USER_TIMEOUT); 0 = the kernel's")
      ->default_str(shown_default("--tcp-user-timeout"))
      ->check(CLI::Range(0.0, 2147483.0));
  app.add_option("--tls-port", tls_port,
                 "chat port over TLS (conventionally " + std::to_string(limits::tls_port) +
                     "); 0 = ephemeral, off = disabled; needs --tls-cert and --tls-key")
      ->default_str(shown_default("--tls-port"));
  app.add_option("--tls-cert", out.tls.cert,
                 "PEM file: the TLS port's certificate, then its chain; reloaded on SIGHUP "
                 "and when it changes");
  app.add_option("--tls-key", out.tls.key, "PEM file: the private key of --tls-cert");
  app.add_option("--tls-handshake-timeout", handshake_timeout,
                 "seconds a TLS connection has to finish its handshake")
      ->default_str(shown_default("--tls-handshake-timeout"))
      ->check(CLI::Range(0.001, 3600.0));
  app.add_option("--tls-check-interval", check_interval,
                 "seconds between looks at --tls-cert and --tls-key for a new pair")
      ->default_str(shown_default("--tls-check-interval"))
      ->check(CLI::Range(0.01, 3600.0));
  app.add_option("--redis", out.cluster.redis,
                 "cluster mode (spec 17): redis://[:PASSWORD@]HOST:PORT[/DB] or "
                 "unix:///PATH; without it natterd is a whole server on its own");
  app.add_option("--node-id", out.cluster.node_id,
                 "this node's name in the cluster, unique among its nodes (default: the "
                 "host name and the chat port)");
  app.add_option("--redis-prefix", out.cluster.prefix,
                 "prefix of the cluster's keys in Redis, so rooms can share one Redis")
      ->default_str(shown_default("--redis-prefix"));
  app.add_option("--node-timeout", node_timeout,
                 "seconds a node keeps its nicks without renewing them; then the others "
                 "send QUIT <nick> node lost for its clients")
      ->default_str(shown_default("--node-timeout"))
      ->check(CLI::Range(0.3, 3600.0));
  app.add_option("--redis-backlog", out.cluster.backlog,
                 "MSGs a node holds while Redis is away; beyond it 450")
      ->default_str(shown_default("--redis-backlog"))
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));
  app.add_option("--redis-log", out.cluster.log,
                 "entries of the room's log Redis keeps; a node that missed more sends GAP")
      ->default_str(shown_default("--redis-log"))
      ->check(CLI::Range(std::size_t{100}, std::size_t{1} << 32));
  app.add_option("--echo-max-total-sendq", out.echo_max_total_sendq,
                 "echo output held for all echo connections in bytes; beyond it the "
                 "connections holding the most are closed first")
      ->default_str(shown_default("--echo-max-total-sendq"))
      ->check(CLI::PositiveNumber);
  app.add_option("--echo-max-clients", out.echo_max_clients,
                 "echo connections in all; beyond it a new one is closed at once")
      ->default_str(shown_default("--echo-max-clients"));
  app.add_option("--echo-idle-timeout", echo_idle,
                 "seconds without an octet before an echo connection is closed; 0 = none")
      ->default_str(shown_default("--echo-idle-timeout"))
      ->check(seconds);
  app.add_option("--metrics", metrics,
                 "serve Prometheus metrics (GET /metrics over HTTP) at ADDR:PORT, never a chat "
                 "port; PORT or :PORT alone listens on 127.0.0.1; 0 = ephemeral, off = disabled")
      ->type_name("ADDR:PORT")
      ->default_str(shown_default("--metrics"));
  app.add_option("--threads", out.threads,
                 "I/O threads; 0 = one per core (" + std::to_string(cores) + " here)")
      ->default_str("0")
      ->check(CLI::Range(0u, 1024u));
  app.add_option("--log-level", level, "debug, info, warn, error or off (log to stderr)")
      ->default_str(shown_default("--log-level"))
      ->check(CLI::IsMember({"debug", "info", "warn", "error", "off"}));
  app.footer("TCP keepalive on chat connections: " + seconds_text(limits::keepalive_idle) +
             " idle, " + seconds_text(limits::keepalive_interval) + " interval, " +
             std::to_string(limits::keepalive_probes) + " probes.\nSoft mark " +
             std::to_string(limits::soft_sendq / limits::kib) +
             " KiB: while a client's pending output is above it, its commands are not "
             "read.\nA closing connection has " +
             seconds_text(limits::flush_deadline) +
             " to take its last lines, then it is reset.\nSIGTERM/SIGINT: 521 to every "
             "client, exit 0 within 5 s; a second signal exits at once.\nSIGHUP: reload "
             "--tls-cert and --tls-key (new connections get the new pair); with --config, "
             "read the file again and apply --log-level, the TLS pair, --max-clients, "
             "--max-per-ip, --no-loopback-exempt and --echo-max-clients (new "
             "connections), keeping the rest until a restart.");

  try
  {
    app.parse(argc, argv);
    if (app.get_config_ptr()->count() > 0 && app.get_config_ptr()->as<std::string>().empty())
      throw CLI::ValidationError("--config", "needs a file name");
    out.chat_port = parse_port("--chat-port", chat_port, *config);
    out.echo_port = parse_port("--echo-port", echo_port, *config);
    out.tls.port = parse_port("--tls-port", tls_port, *config);
    out.metrics = parse_metrics(metrics, *config);
    if (out.tls.port && (out.tls.cert.empty() || out.tls.key.empty()))
      config->reject(out.tls.cert.empty() ? "--tls-cert" : "--tls-key", "is needed with --tls-port",
                     {"--tls-port"});
    if (!out.tls.port && !(out.tls.cert.empty() && out.tls.key.empty()))
      config->reject(out.tls.cert.empty() ? "--tls-key" : "--tls-cert",
                     "is used only with --tls-port");
    // The services share --bind: one port cannot serve two of them. The
    // metrics endpoint is never a chat port, whatever its address.
    const std::pair<const char*, std::optional<unsigned short>> ports[] = {
        {"--chat-port", out.chat_port},
        {"--tls-port", out.tls.port},
        {"--echo-port", out.echo_port},
        {"--metrics", out.metrics ? std::optional(out.metrics->port) : std::nullopt}};
    for (std::size_t i = 0; i < std::size(ports); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (ports[i].second && ports[i].second == ports[j].second && *ports[i].second != 0)
          config->reject(ports[i].first,
                         "port " + std::to_string(*ports[i].second) + " is " + ports[j].first +
                             "'s already",
                         {ports[j].first});
    if (!out.cluster.redis.empty())
    {
      try
      {
        (void)cluster::redis_address::parse(out.cluster.redis);
      }
      catch (const std::invalid_argument& e)
      {
        config->reject("--redis", e.what());
      }
    }
    else if (!out.cluster.node_id.empty())
      config->reject("--node-id", "is used only with --redis");
    if (out.cluster.node_id.find_first_of(" \t") != std::string::npos)
      config->reject("--node-id", "must not contain spaces");
    // A HISTORY reply is queued whole (N-REPLY-4): a full one must not get
    // the client that asked for it dropped (spec 7.11).
    if (const std::size_t most = limits::max_history(c.max_line, c.max_sendq); c.history > most)
      config->reject("--history",
                     std::to_string(c.history) + " messages may not fit a send queue: at most " +
                         std::to_string(most) + " with --max-line " + std::to_string(c.max_line) +
                         " and --max-sendq " + std::to_string(c.max_sendq),
                     {"--max-line", "--max-sendq"});
  }
  catch (const CLI::ParseError& e)
  {
    // --help and --version exit 0. Every other refusal exits 2 (spec
    // 13.1), whatever CLI11's own code for it, or 1 when it fails a
    // --check-config. What a config file got wrong, a failed check, and
    // anything on the journal take one line; the command line's own
    // errors keep CLI11's hint at --help.
    if (error != nullptr)
    {
      *error = dynamic_cast<const CLI::FileError*>(&e) != nullptr ? config->unreadable() : e.what();
      return 1;
    }
    if (e.get_exit_code() == 0)
      return app.exit(e);
    const bool check = checking(argc, argv);
    if (dynamic_cast<const CLI::FileError*>(&e) != nullptr)
      log_failure(config->unreadable());
    else if (check || log_to_journal() || dynamic_cast<const CLI::ConfigError*>(&e) != nullptr)
      log_failure(e.what());
    else
      app.exit(e);
    return check ? 1 : 2;
  }
  catch (const std::exception& e)
  {
    if (error != nullptr)
    {
      *error = e.what();
      return 1;
    }
    log_failure(e.what());
    return checking(argc, argv) ? 1 : 2;
  }
  if (app.get_config_ptr()->count() > 0)
    out.config_file = app.get_config_ptr()->as<std::string>();
  out.command_line.assign(argv + std::min(argc, 1), argv + argc);
  for (const CLI::Option* o : app.get_options())
    if (o->get_configurable() && o != app.get_config_ptr())
      out.values.insert_or_assign(o->get_name(), value_of(*o));
  if (out.threads == 0)
    out.threads = cores;
  parse_log_level(level, out.level);
  // Rounded, not truncated: 1.001 * 1000 is 1000.9999... in binary, and the
  // greeting advertises the milliseconds applied (reg=1.001).
  auto millis = [](double s) { return std::chrono::milliseconds(std::llround(s * 1000)); };
  c.wall_clock = system_wall_clock(); // messages' times (N-MSG-5)
  c.registration_timeout = millis(reg_timeout);
  c.idle_timeout = millis(idle_timeout);
  out.echo_idle_timeout = millis(echo_idle);
  out.tcp_user_timeout = millis(user_timeout);
  out.tls.handshake_timeout = millis(handshake_timeout);
  out.tls.check_interval = millis(check_interval);
  out.cluster.node_timeout = millis(node_timeout);
  return std::nullopt;
}

} // namespace

std::optional<int> parse_options(int argc, char** argv, options& out)
{
  return parse(argc, argv, out, nullptr);
}

std::optional<std::string> parse_again(const std::vector<std::string>& command_line, options& out)
{
  std::vector<std::string> args{"natterd"};
  args.insert(args.end(), command_line.begin(), command_line.end());
  std::vector<char*> argv;
  for (std::string& a : args)
    argv.push_back(a.data());
  std::string error;
  if (parse(static_cast<int>(argv.size()), argv.data(), out, &error))
    return error;
  return std::nullopt;
}

} // namespace natter::server
