// One connection of a named client of a conformance case, as the steps see
// it: it connects, sends (or collects what it sends while corked), passes
// everything that arrives through the checks of checks.hpp, sets aside the
// lines that are not the case's (about other cases' nicks, or skipped) and
// holds the rest until a step expects it.
//
// Each expect_* member plays one kind of step against the server. It throws
// `failure` when the server did not do what the step expects, and lets the
// `violation` of a check through. Whether a step may be used at all (on an
// echo client, while corked, ...) is the interpreter's to check, before it
// calls; the requirements are stated with each member.
#ifndef NATTER_CONFORMANCE_CASE_CLIENT_HPP
#define NATTER_CONFORMANCE_CASE_CLIENT_HPP

#include "checks.hpp"
#include "engine.hpp"
#include "matcher.hpp"
#include "nicks.hpp"
#include "pump.hpp"
#include "transcript.hpp"

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace natter::conform
{

/// A failed expectation; ends the case.
struct failure
{
  std::string reason;
  std::vector<std::string> details; ///< "expected: ...", "actual: ..."
};

/// What the clients of one running case share.
struct case_context
{
  const run_options& opt;
  const case_nicks& nicks; ///< lines about other nicks are set aside
  transcript& log;
  std::string run_id;    ///< see run_id(); makes barrier tokens unique
  unsigned barriers = 0; ///< barrier PINGs sent so far
  /// Octets the clients hold received and not yet expected, at most
  /// held_bound().
  std::size_t held = 0;

  /// A PING token no other barrier of the run uses.
  std::string barrier_token() { return "barrier-" + run_id + "-" + std::to_string(++barriers); }
};

/// One connection of a client of a case. A client that connects again gets
/// a new case_client under the same name.
class case_client
{
public:
  /// `on_peer`: its chat connections go to the peer (run_options::peer_host).
  case_client(std::string name, case_context& ctx, bool on_peer = false);
  case_client(const case_client&) = delete;
  case_client& operator=(const case_client&) = delete;
  ~case_client();

  const std::string& name() const noexcept { return name_; }
  bool echo() const noexcept { return echo_; }
  bool connected() const noexcept { return conn_.opened(); }
  /// Nothing more can arrive: the server ended the connection or we closed it.
  bool over() const noexcept { return conn_.over(); }
  bool closed_by_us() const noexcept { return conn_.closed(); }
  bool corked() const noexcept { return corked_; }
  bool skipping() const noexcept { return skip_.has_value(); }
  /// Registered by a `register` step.
  bool registered() const noexcept { return registered_; }

  /// The server may still answer a PING on it (a corked client sends none).
  bool live() const noexcept;

  /// Connects to the chat service (expecting the greeting unless `raw`) or
  /// to the echo service; `rcvbuf` (0: the default) is its SO_RCVBUF, and
  /// `source` (empty: the default) its local address. Requires: not
  /// connected().
  /// With --tls a chat connection speaks TLS (offering ALPN natter, or
  /// with `no_alpn` none), its handshake done here, unless `plaintext`:
  /// plain TCP to the TLS port, whose octets are taken as they come, not as
  /// lines (expect_alert()).
  enum class transport
  {
    usual,
    no_alpn,
    plaintext,
  };
  void connect(bool raw, bool echo, int rcvbuf = 0, const std::string& source = {},
               transport how = transport::usual);

  /// Sends `bytes` (`line`: they end in CRLF, which the transcript leaves
  /// out), connecting first if need be. While corked, only collects them.
  void send(const std::string& bytes, bool line);

  /// `cork` (connecting first if need be) or `uncork`, which writes what
  /// was collected in one write. Requires: corked() != on.
  void cork(bool on);

  /// `uncork A B ...`: what each of `clients` collected since `cork` is
  /// written at the same moment, each by a thread of its own, released
  /// together; then each is uncorked. Requires: at least two clients, all
  /// distinct and corked.
  static void uncork_together(const std::vector<case_client*>& clients);

  /// `close` (with a FIN, or an RST with `reset`) and `shutdown`.
  void close(bool reset);
  void shutdown();

  /// `sync`: PING and wait for the PONG, leaving every other line queued.
  void sync();

  /// `nothing`, once the other clients are synced: PING, and the PONG must
  /// be the next line [N-FRAME-16]. Requires: live().
  void expect_silence();

  /// `register`: NICK `nick`, answered by 200 (connecting first if need
  /// be); registered() from then on.
  void register_as(const std::string& nick);

  /// The next line is the JOIN of `nick` (another client's `register`).
  void expect_join(const std::string& nick);

  /// `<` and `<~`: the next line matches `p`, or (whole) the regex.
  void expect_line(const pattern& p);
  void expect_regex(const std::string& re_text);

  /// `reply`: the next lines are a multi-line reply of `code`: one or more
  /// `code-` lines, then the `code ` line, where each of `words` begins
  /// some `code-` line. Requires: a chat client.
  void expect_reply(const std::string& code, const std::vector<std::string>& words);

  /// `<<`: chat: the next thing received is the telnet answer `want`;
  /// echo: `want` comes back.
  void expect_bytes(const std::string& want);

  /// `closed`: the server closes the connection with nothing more sent.
  void expect_closed();

  /// `idle` (see conformance/README.md) [N-CONN-6]: the server's idle
  /// timeout, or for an echo client the echo service's [N-ECHOSVC-6].
  /// Requires: live(), or an echo client that is connected and not over().
  void stay_idle();

  /// `reg-timeout`: the registration timeout ends the connection, counted
  /// from the connect [N-CONN-4]. Requires: a chat client, connected.
  void expect_registration_timeout();

  /// `adverts KEY[=VALUE] ...`: the greeting advertised each KEY exactly
  /// once, with VALUE when given (as numbers when both are) [N-CONN-11].
  /// Requires: a chat client connected without `raw`.
  void expect_adverts(std::string_view list);

  /// `skip`: from now on the lines that match `p` are checked, counted and
  /// set aside, those already queued too. Requires: a chat client, not
  /// skipping().
  void start_skipping(pattern p);

  /// `skipped`: exactly `want` lines were set aside since `skip` (waiting
  /// for the last of them); the skipping ends. Requires: skipping().
  void expect_skipped(long want);

  /// `reset within`: reading nothing more, the connection is reset (or
  /// closed, its FIN behind everything sent) within `ms` milliseconds.
  /// Requires: connected(), not closed_by_us().
  void expect_reset(long ms);

  /// `backpressure`: writes of `unit` over and over, reading nothing, stall
  /// (the kernel takes nothing for half a second) before `limit` octets
  /// (connecting first if need be). Requires: `unit` is not empty.
  void backpressure(const std::string& unit, std::size_t limit);

  /// `alpn P`: the TLS connection negotiated the ALPN protocol P, or with
  /// `none` none [N-TLS-4]. Requires: connected over TLS.
  void expect_alpn(const std::string& want);

  /// `alert`: what arrives on a `plaintext` connection is a TLS alert
  /// record, then the close, and nothing else [N-TLS-8].
  void expect_alert();

  /// `refused tls1.1`: a handshake offering only TLS 1.1 does not complete
  /// [N-TLS-3]. Requires: not connected().
  void expect_refused_old_tls();

  /// Every line received was expected (at the end of a case, or before the
  /// name connects again).
  void expect_no_leftovers();

private:
  clock::time_point deadline() const;
  void note(std::string_view op, std::string_view text);
  void write(const std::string& bytes);
  void receive();
  void account();
  bool wait(clock::time_point until);
  bool foreign(const frame& f) const;
  void drop_foreign();
  static std::size_t cost(const frame& f);
  void queue(frame f);
  frame unqueue(std::deque<frame>::iterator it);
  std::optional<frame> queued_item();
  std::optional<frame> next_item(clock::time_point until);
  std::string actual(const frame& f) const;
  std::string nothing_came() const;
  bool anything_arrived();
  void await_timeout(const std::string& name, clock::time_point from, clock::duration limit,
                     clock::time_point quiet_until, clock::time_point until,
                     const std::string& bound);

  std::string name_;
  case_context& ctx_;
  bool on_peer_ = false;
  /// Where its chat connections go: the main address or the peer.
  const std::string& chat_host() const noexcept;
  std::uint16_t chat_port() const noexcept;
  bool echo_ = false;
  bool plaintext_ = false; ///< transport::plaintext: octets, not lines
  clock::time_point connected_at_{};
  std::optional<std::string> greeting_; ///< the greeting `connect` expected
  pump conn_;
  line_checks checks_;
  std::deque<frame> items_;      ///< received, not yet expected
  std::size_t items_octets_ = 0; ///< what items_ costs (cost())
  std::size_t held_ = 0;         ///< this client's part of case_context::held
  /// The deadline of the wait under way (wait()), and what arrived since
  /// that wait began, for the message when it passes.
  clock::time_point waiting_until_{};
  std::size_t lines_in_wait_ = 0;
  std::size_t octets_in_wait_ = 0;
  bool ran_out_busy_ = false; ///< the last wait ended at its deadline with input still coming
  bool quit_sent_ = false;
  bool registered_ = false;
  bool corked_ = false; ///< between `cork` and `uncork`: sends are collected
  std::string cork_;    ///< what the sends collected
  /// Between `skip` and `skipped`: lines that match are set aside, counted.
  std::optional<pattern> skip_;
  long skipped_ = 0;
};

} // namespace natter::conform

#endif // NATTER_CONFORMANCE_CASE_CLIENT_HPP
