// natter-bench: the options every mode takes (main.cpp defines the flags).
#ifndef NATTER_BENCH_OPTIONS_HPP
#define NATTER_BENCH_OPTIONS_HPP

#include <string>
#include <vector>

namespace natter::bench
{

/// Options every mode takes.
struct common_options
{
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  double duration = 5;       ///< seconds of measurement (echo, fanout) or hold (idle)
  double setup_timeout = 60; ///< seconds allowed to connect and register
  bool json = false;
  /// The server's processes (a cluster's nodes and Redis: several); their
  /// CPU and memory are summed. Empty or 0: not reported.
  std::vector<int> server_pids;
  std::string server_pid_list = "0"; ///< --server-pid as given; main parses it
};

/// How the chat modes speak TLS (spec section 3.1): to the server's TLS
/// port, the certificate checked against --tls-ca (or the system's store)
/// and --host, unless --tls-insecure.
struct tls_options
{
  bool on = false;       ///< --tls (the handshake mode: always)
  std::string ca_file;   ///< --tls-ca
  bool insecure = false; ///< --tls-insecure: no verification
};

} // namespace natter::bench

#endif // NATTER_BENCH_OPTIONS_HPP
