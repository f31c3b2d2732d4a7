// The natter program: a conversation wired to a connection and to either the
// readline terminal or a pipe, all on one io_context.
#ifndef NATTER_CLIENT_CLIENT_HPP
#define NATTER_CLIENT_CLIENT_HPP

#include "natter/client/address.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace natter::tls
{
class client_context;
}

namespace natter::client
{

/// Everything the command line decided.
struct settings
{
  host_port server;
  std::string nick;                             ///< valid nick to register with
  bool colour = false;                          ///< colour escapes in output
  bool reconnect = true;                        ///< reconnect after losing the connection
  bool interactive = false;                     ///< stdin is a terminal: readline mode
  std::string history_path;                     ///< empty: no persistent history
  std::chrono::milliseconds backoff_first{500}; ///< first reconnect delay
  std::chrono::milliseconds backoff_max{15000}; ///< reconnect delay cap
  /// Not interactive: the longest wait for each answer natter needs from
  /// the server before it gives up; 0 waits for ever.
  std::chrono::seconds timeout{30};
  /// Reconnections in a row (none of which stayed up 30 s) before natter
  /// gives up.
  unsigned max_reconnects = 5;
  /// Over TLS with this context (spec 3.1), plain TCP when null.
  std::shared_ptr<const tls::client_context> tls;
  /// The TLS context does not verify the server: natter warns once it is
  /// connected.
  bool tls_insecure = false;
};

/// Runs the client until it quits. Returns the exit status: 0 after a clean
/// quit, 1 when the server cannot be reached, the connection is lost for
/// good, a TLS handshake fails (at once, never retried: spec N-TLS-13), or
/// (not interactive) the server leaves natter waiting too long.
int run_client(const settings& s);

} // namespace natter::client

#endif // NATTER_CLIENT_CLIENT_HPP
