// natter-bench: a load generator for natterd and the servers it is compared
// with (bench/compare). Five modes, each bounded in time and count:
//
//   natter-bench echo      --host H --port P --conns C --size S --window W --duration T
//   natter-bench fanout    --host H --port P|--ports P1,P2 --receivers N --senders K [--rate R]
//                          --duration T [--dialect natter|irc|raw] [--tls]
//   natter-bench idle      --host H --port P --conns N [--dialect natter|irc] [--tls]
//   natter-bench handshake --host H --port P --connections N [--resume] [--no-greeting]
//                          --duration T
//   natter-bench soak      --natterd PATH | --port P [--tls-port P] [--metrics-port P]
//                          --duration T [--wrap 'fiu-run ...' --faults]
//
// Loopback only. --json prints one JSON object instead of the table;
// --server-pid adds the server's CPU (and, for idle, its memory) beside
// natter-bench's own CPU; a list of pids (a cluster's nodes and Redis) is
// summed. --tls (fanout, idle) connects to the server's
// TLS port; handshake always does; --tls-ca or --tls-insecure say what to
// trust.
#include "natter/bench/modes.hpp"
#include "natter/bench/ports.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

namespace
{

void add_common(CLI::App& app, natter::bench::common_options& o, double default_duration)
{
  o.duration = default_duration;
  app.add_option("--host", o.host, "server address (loopback only: 127.0.0.0/8 or ::1)")
      ->capture_default_str();
  app.add_option("--port", o.port, "server port (fanout: or --ports; soak: or --natterd)");
  app.add_option("--duration", o.duration, "seconds to measure (idle: to hold)")
      ->capture_default_str()
      ->check(CLI::Range(0.05, 3600.0));
  app.add_option("--setup-timeout", o.setup_timeout,
                 "seconds allowed to connect and register every client")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  app.add_option("--server-pid", o.server_pid_list,
                 "report the CPU (with children) and memory of these processes, summed, "
                 "from /proc: a pid, or a comma-separated list (a cluster's nodes and "
                 "redis-server); 0 = not reported")
      ->capture_default_str();
  app.add_flag("--json", o.json, "print one JSON object instead of a table (default: a table)");
}

// --tls (unless the mode always speaks TLS), --tls-ca, --tls-insecure.
void add_tls(CLI::App& app, natter::bench::tls_options& o, bool always)
{
  if (!always)
    app.add_flag("--tls", o.on,
                 "connect to the server's TLS port (--port is then natterd's --tls-port; "
                 "default: plain TCP)");
  app.add_option("--tls-ca", o.ca_file,
                 "PEM file of the CA certificates to verify the server's certificate and "
                 "--host against (default: the system's trust store)");
  app.add_flag("--tls-insecure", o.insecure,
               "do not verify the server's certificate, e.g. a self-signed test certificate "
               "(default: verify)");
}

} // namespace

int main(int argc, char** argv)
{
  CLI::App app{"natter-bench: load generator for natterd and comparable servers (loopback only)",
               "natter-bench"};
  app.require_subcommand(1);

  natter::bench::echo_options echo;
  CLI::App* echo_cmd = app.add_subcommand(
      "echo", "C connections each keep W messages of S octets in flight; every echoed octet "
              "is verified; reports MB/s, messages/s and round-trip p50/p99/max");
  add_common(*echo_cmd, echo, 5);
  echo_cmd->add_option("--conns", echo.conns, "connections")
      ->capture_default_str()
      ->check(CLI::Range(1u, 19000u));
  echo_cmd->add_option("--size", echo.size, "message size in octets")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{16} << 20));
  echo_cmd->add_option("--window", echo.window, "messages in flight per connection")
      ->capture_default_str()
      ->check(CLI::Range(1u, 4096u));
  echo_cmd->add_option("--drain", echo.drain, "seconds to wait for the last echoes")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 60.0));

  natter::bench::fanout_options fan;
  CLI::App* fan_cmd = app.add_subcommand(
      "fanout", "N receivers and K senders in one room; reports deliveries/s, send-to-receipt "
                "latency p50/p99/max, and what was lost or reordered after a drain");
  add_common(*fan_cmd, fan, 5);
  fan_cmd->add_option("--receivers", fan.receivers, "receiving clients")
      ->capture_default_str()
      ->check(CLI::Range(1u, 19000u));
  fan_cmd->add_option("--senders", fan.senders, "sending clients")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000u));
  fan_cmd
      ->add_option("--rate", fan.rate,
                   "total messages per second; 0 = as fast as the window allows")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e7));
  fan_cmd
      ->add_option("--window", fan.window,
                   "per sender: messages not yet received by every receiver")
      ->capture_default_str()
      ->check(CLI::Range(1u, 4096u));
  fan_cmd
      ->add_option("--dialect", fan.dialect,
                   "natter; irc (NICK/USER, JOIN, PRIVMSG, PONG); or raw (plain lines "
                   "through a relay such as ncat --chat)")
      ->capture_default_str()
      ->check(CLI::IsMember({"natter", "irc", "raw"}));
  fan_cmd->add_option("--channel", fan.channel, "IRC channel")->capture_default_str();
  fan_cmd->add_option("--concurrency", fan.concurrency, "connections being set up at once")
      ->capture_default_str()
      ->check(CLI::Range(1u, 10000u));
  fan_cmd->add_option("--drain", fan.drain, "seconds to wait for the last deliveries")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 60.0));
  fan_cmd
      ->add_option("--ports", fan.ports,
                   "P1,P2[,...]: ports of --host, the nodes of a natter cluster; receivers and "
                   "senders spread over them round-robin, and the latency is also reported for "
                   "a message received on its sender's node and on another (instead of --port)")
      ->excludes(fan_cmd->get_option("--port"));
  add_tls(*fan_cmd, fan.tls, false);

  natter::bench::idle_options idle;
  CLI::App* idle_cmd = app.add_subcommand(
      "idle", "opens N registered connections, holds them for --duration seconds, reports how "
              "many succeeded and the server's RSS per client");
  add_common(*idle_cmd, idle, 2);
  idle_cmd->add_option("--conns", idle.conns, "connections")
      ->capture_default_str()
      ->check(CLI::Range(1u, 100000u));
  idle_cmd->add_option("--dialect", idle.dialect, "natter or irc")
      ->capture_default_str()
      ->check(CLI::IsMember({"natter", "irc"}));
  idle_cmd->add_option("--concurrency", idle.concurrency, "registrations in progress at once")
      ->capture_default_str()
      ->check(CLI::Range(1u, 10000u));
  idle_cmd->add_flag("!--no-spread", idle.spread,
                     "use one source address instead of spreading over 127.0.0.0/8 "
                     "(default: spread)");
  add_tls(*idle_cmd, idle.tls, false);

  natter::bench::handshake_options hs;
  CLI::App* hs_cmd = app.add_subcommand(
      "handshake", "new TLS connections to the server's TLS port, N at a time: each completes "
                   "the handshake, reads the greeting and closes; reports handshakes/s, per "
                   "server CPU second, and with --resume the fraction resumed");
  add_common(*hs_cmd, hs, 5);
  hs_cmd->add_option("--connections", hs.connections, "connections in progress at once")
      ->capture_default_str()
      ->check(CLI::Range(1u, 10000u));
  hs_cmd->add_flag("--resume", hs.resume,
                   "offer the session (TLS 1.3 ticket) of the newest connection that read its "
                   "greeting (default: full handshakes only)");
  hs_cmd->add_flag("--no-greeting", hs.no_greeting,
                   "for servers that send nothing first (IRC servers, ncat --chat): send "
                   "close_notify once the handshake is complete and count the connection when "
                   "the server has closed (default: wait for natter's 220 greeting)");
  add_tls(*hs_cmd, hs.tls, true);

  natter::bench::soak_options soak;
  CLI::App* soak_cmd = app.add_subcommand(
      "soak", "a mixed workload (steady chatters, churn, TELL, HISTORY, WHO, slow readers, "
              "floods, garbage, plain and TLS) sampling the server's RSS, descriptors, send "
              "queue and latency each second; fails on a lost message, a leak or a slow p99");
  add_common(*soak_cmd, soak, 600);
  soak_cmd->add_option("--clients", soak.clients, "clients; four fifths are steady")
      ->capture_default_str()
      ->check(CLI::Range(20u, 19000u));
  soak_cmd->add_option("--rate", soak.rate, "steady MSGs per second in all")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 1e5));
  soak_cmd->add_option("--tls-port", soak.tls_port, "a running natterd's TLS port (0 = none)")
      ->capture_default_str();
  soak_cmd->add_option("--tls-every", soak.tls_every, "every N'th client uses TLS; 0 = none")
      ->capture_default_str();
  soak_cmd
      ->add_option("--metrics-port", soak.metrics_port,
                   "a running natterd's --metrics port on 127.0.0.1 (0 = not sampled)")
      ->capture_default_str();
  soak_cmd->add_option("--natterd", soak.natterd,
                       "start this natterd on free loopback ports with a throwaway "
                       "certificate, and stop it by its PID at the end; without it --port names a "
                       "running natterd");
  soak_cmd->add_option("--natterd-args", soak.natterd_args, "more flags for that natterd");
  soak_cmd->add_option("--wrap", soak.wrap,
                       "a command line natterd is run under (shell words), e.g. "
                       "\"fiu-run -x -c 'enable_random name=posix/io/rw/*,probability=0.001'\"");
  soak_cmd->add_option("--warmup", soak.warmup, "seconds of samples left out of the slopes")
      ->capture_default_str();
  soak_cmd
      ->add_option("--max-rss-slope", soak.max_rss_slope,
                   "bound on the server's RSS slope after the warm-up, KiB per minute")
      ->capture_default_str();
  soak_cmd
      ->add_option("--max-fd-slope", soak.max_fd_slope,
                   "bound on the server's descriptor slope after the warm-up, per minute")
      ->capture_default_str();
  soak_cmd->add_option("--max-p99", soak.max_p99_ms, "bound on the send-to-receipt p99, ms")
      ->capture_default_str();
  soak_cmd->add_flag("--faults", soak.faults,
                     "steady clients may be closed by the server (fault injection); only "
                     "those that kept their connection are checked (default: any close fails)");
  soak_cmd->add_option("--fiu", soak.fiu,
                       "with --natterd: run it under fiu-run -x and, for the run only (not "
                       "setup, drain or shutdown), enable this libfiu command with fiu-ctrl, "
                       "e.g. 'enable_random name=posix/io/net/recvmsg,probability=0.001'; "
                       "repeatable; implies --faults");
  soak_cmd->add_option("--drain", soak.drain, "seconds to wait for the last deliveries")
      ->capture_default_str();

  for (CLI::App* cmd : {echo_cmd, idle_cmd, hs_cmd})
    cmd->get_option("--port")->required();
  CLI11_PARSE(app, argc, argv);
  try
  {
    for (natter::bench::common_options* o :
         std::initializer_list<natter::bench::common_options*>{&echo, &fan, &idle, &hs})
      o->server_pids = natter::bench::parse_pids(o->server_pid_list);
    if (*echo_cmd)
      return natter::bench::run_echo(echo);
    if (*fan_cmd)
      return natter::bench::run_fanout(fan);
    if (*hs_cmd)
      return natter::bench::run_handshake(hs);
    if (*soak_cmd)
      return natter::bench::run_soak(soak);
    return natter::bench::run_idle(idle);
  }
  catch (const std::exception& e)
  {
    std::fprintf(stderr, "natter-bench: %s\n", e.what());
    return 2;
  }
}
