// Runs one conformance case against a server: opens its clients, plays its
// steps, checks every line received against the invariants of the spec, and
// reports pass, fail (with a transcript) or skip.
#ifndef NATTER_CONFORMANCE_ENGINE_HPP
#define NATTER_CONFORMANCE_ENGINE_HPP

#include "case_file.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

using SSL_CTX = struct ssl_ctx_st;

namespace natter::conform
{

/// With --tls, the TLS client configurations of the chat connections (main
/// owns them); all null without --tls, when chat connections are plain.
struct tls_offers
{
  SSL_CTX* usual = nullptr;   ///< offers ALPN natter: every chat connection
  SSL_CTX* no_alpn = nullptr; ///< offers no ALPN (`connect no-alpn`)
  SSL_CTX* tls11 = nullptr;   ///< offers TLS 1.1 only (`refused tls1.1`)
};

/// Where the server is and what it is configured with.
struct run_options
{
  std::string host = "localhost";
  std::uint16_t port = 7777;
  /// --peer: another node of the server's cluster (spec section 17), where
  /// every other client of a multi-client case connects (spread.hpp);
  /// peer_port 0: none. Echo clients and `open` crowds stay on host.
  std::string peer_host;
  std::uint16_t peer_port = 0;
  std::uint16_t echo_port = 7;
  bool echo = true;                        ///< false: echo cases are skipped
  std::chrono::milliseconds timeout{3000}; ///< bound of every single wait
  long max_line = 1024;                    ///< the server's line limit L
  /// The server's idle timeout (T); zero when it has none or it is not
  /// known, and then the cases that need it are skipped.
  std::chrono::milliseconds idle_timeout{0};
  std::string salt = "zz"; ///< makes nicks unique per run
  /// The rest of what the runner knows of the server (settings.hpp): from
  /// its first greeting's adverts and from the runner's flags.
  std::chrono::milliseconds registration_timeout{0}; ///< R; zero: none or not known
  std::chrono::milliseconds echo_idle_timeout{0};    ///< zero: not known
  std::chrono::milliseconds max_wait{5000};          ///< the longest timeout a case waits for
  long max_per_ip = -1;                              ///< P; 0: no limit; -1: not known
  std::vector<std::string> sources; ///< local addresses the per-address limit counts
  /// The first greeting's adverts, in order; a repeated key keeps its first.
  std::vector<std::pair<std::string, std::string>> adverts;
  bool defaults = false; ///< the server runs with natterd's defaults
  /// How long a negative case (test_case::negative) waits before its final
  /// barriers, for lines a server sends late; zero: not at all.
  std::chrono::milliseconds settle{300};
  tls_offers tls; ///< --tls: chat connections speak TLS
};

/// The most octets a case may hold received and not yet expected (its
/// clients' queued lines, each with its bookkeeping, and input not yet
/// framed): 8 MiB, or 16 of the
/// longest lines a server may send (L + 64) when that is more. A server
/// that sends more than the case takes fails the case, instead of growing
/// the runner.
inline std::size_t held_bound(const run_options& opt)
{
  return std::max<std::size_t>(std::size_t{8} << 20,
                               16 * static_cast<std::size_t>(opt.max_line + 64));
}

/// The outcome of one case.
struct case_result
{
  enum class status
  {
    pass,
    fail,
    skip,
  };
  status what = status::pass;
  std::string reason;                  ///< one line: why it failed or was skipped
  int line = 0;                        ///< the case-file line of the failing step
  std::vector<std::string> details;    ///< "expected: ...", "actual: ..."
  std::vector<std::string> transcript; ///< what was sent and received
  std::chrono::milliseconds duration{0};
};

/// Runs `tc`. `index` is the case's position in the suite; with the salt it
/// makes the case's nicks unique. Never throws.
case_result run_case(const test_case& tc, const run_options& opt, unsigned index);

} // namespace natter::conform

#endif // NATTER_CONFORMANCE_ENGINE_HPP
