// natter-bench's five modes: their options and entry points. Each is
// bounded in time and count, stops by itself, prints its report and returns
// the exit status: 0 when everything sent was received intact, 1 when
// something was lost, corrupted or could not be set up. Each is a class of
// the one shape in mode_driver.hpp, in its own .cpp, run by run_mode().
#ifndef NATTER_BENCH_MODES_HPP
#define NATTER_BENCH_MODES_HPP

#include "natter/bench/options.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace natter::bench
{

/// `echo`: C connections, each with W messages of S octets in flight.
struct echo_options : common_options
{
  unsigned conns = 1;
  std::size_t size = 65536;
  unsigned window = 4;
  double drain = 5; ///< seconds to wait for the last echoes
};
int run_echo(const echo_options& o);

/// `fanout`: N receivers and K senders in one room.
struct fanout_options : common_options
{
  unsigned receivers = 100;
  unsigned senders = 10;
  double rate = 0;      ///< total messages/s; 0 = as fast as the window allows
  unsigned window = 32; ///< per sender: messages sent but not yet at every receiver
  std::string dialect = "natter";
  std::string channel = "#bench";
  double drain = 5;
  unsigned concurrency = 64; ///< connections being set up at once
  /// --ports: several nodes of a cluster, each a port of --host; receivers
  /// and senders spread over them round-robin (ports.hpp). Empty: --port.
  std::string ports;
  tls_options tls;
};
int run_fanout(const fanout_options& o);

/// `idle`: N registered connections held open.
struct idle_options : common_options
{
  unsigned conns = 1000;
  std::string dialect = "natter";
  unsigned concurrency = 200; ///< registrations in progress at once
  bool spread = true;         ///< spread source addresses over 127.0.0.0/8
  tls_options tls;
};
int run_idle(const idle_options& o);

/// `handshake`: new TLS connections, --connections at a time, each closed
/// once the greeting is read (or, with no_greeting, once the server has
/// closed after the client's close_notify).
struct handshake_options : common_options
{
  unsigned connections = 16; ///< connections in progress at once
  bool resume = false;       ///< offer the newest session (TLS 1.3 tickets)
  bool no_greeting = false;  ///< the server sends nothing first (IRC servers, ncat)
  tls_options tls{true, {}, false};
};
int run_handshake(const handshake_options& o);

/// `soak`: a mixed workload for --duration seconds (soak.cpp), sampling the
/// server each second; fails on loss, leak (slopes) or latency.
struct soak_options : common_options
{
  unsigned clients = 2000;         ///< a fifth of them churn, read slowly, flood or send garbage
  double rate = 20;                ///< steady MSGs per second in all
  unsigned short tls_port = 0;     ///< a running natterd's TLS port; 0 = none
  unsigned tls_every = 8;          ///< every N'th client uses TLS; 0 = none
  unsigned short metrics_port = 0; ///< a running natterd's --metrics port
  std::string natterd;             ///< start this natterd (free ports, throwaway certificate)
  std::string natterd_args;        ///< more flags for it
  std::string wrap;                ///< a command natterd runs under, e.g. fiu-run -x -c '...'
  double warmup = 60;              ///< seconds of samples left out of the slopes
  double max_rss_slope = 1024;     ///< KiB per minute
  double max_fd_slope = 30;        ///< descriptors per minute
  double max_p99_ms = 1000;        ///< send-to-receipt p99 over the run
  bool faults = false;             ///< steady clients may be closed (fault injection)
  std::vector<std::string> fiu;    ///< libfiu commands enabled for the run (implies faults)
  double drain = 30;
};
int run_soak(const soak_options& o);

} // namespace natter::bench

#endif // NATTER_BENCH_MODES_HPP
