// One chat connection's protocol logic, without sockets (spec/natter.md).
// A transport (natterd's Asio connection, a test, a fuzzer) feeds it bytes
// and time, and writes what appears in its outbox. All calls but shutdown()
// and output() come from one thread at a time (natterd: the thread of the
// connection's worker); the room may touch the session's nick and outbox
// from others, under its lock.
#ifndef NATTER_CORE_SESSION_HPP
#define NATTER_CORE_SESSION_HPP

#include "natter/core/config.hpp"
#include "natter/core/outbox.hpp"
#include "natter/core/room.hpp"
#include "natter/proto/command_parser.hpp"
#include "natter/proto/reply.hpp"
#include "natter/proto/telnet.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace natter::core
{

/// The protocol side of one chat connection.
class session
{
public:
  /// What the transport waits for before calling resume().
  enum class wait
  {
    input,   ///< nothing pending: read more bytes, then receive()
    output,  ///< too much output queued: resume() once the outbox drained
    rate,    ///< flood control: resume() at resume_at()
    closed,  ///< no more input is processed: write what is queued, close
    cluster, ///< a cluster's answer to a command: resume() once answer_came()
  };

  session(room& r, transport& t, time_point now);
  session(const session&) = delete;
  session& operator=(const session&) = delete;
  ~session();

  /// Queues the greeting (220).
  void start();

  /// Processes received bytes as far as flood control and the send queue
  /// allow; keeps the rest (see pending()) for resume().
  void receive(std::string_view data, time_point now);

  /// Continues with the kept bytes.
  void resume(time_point now);

  /// What to wait for next (see `wait`).
  wait next_wait() const;

  /// When flood control lets reading go on (meaningful for wait::rate).
  time_point resume_at() const noexcept { return resume_at_; }

  /// The next timeout (registration or idle) to call on_timer() at, or
  /// time_point::max() when none applies.
  time_point deadline() const;

  /// Checks the timeouts; closes the session with 522 or 523 when one passed.
  void on_timer(time_point now);

  /// The client shut down its sending side: the complete lines already
  /// received are still processed (as flood control and the send queue
  /// allow), then the session leaves with "connection closed" and the
  /// outbox closes once flushed.
  void end_of_input(time_point now);

  /// The connection failed (reset, error, write timeout): leaves the room
  /// with "connection closed" and discards queued output.
  void on_closed();

  /// In a cluster: the answer the session waits for (wait::cluster) came.
  bool answer_came() const noexcept { return awaiting_ && seat_.answered(); }

  /// This connection's pending output.
  outbox& output() noexcept { return seat_.output(); }
  const outbox& output() const noexcept { return seat_.output(); }

  /// Octets received and not yet processed (kept while reading is paused).
  std::size_t pending() const noexcept { return pending_ ? pending_->size() : 0; }

  /// The nick, empty before registration (this session's thread only).
  const std::string& nick() const noexcept { return seat_.nick(); }

private:
  std::size_t run(std::string_view in, time_point now);
  void handle(const proto::parse_event& ev, time_point now);
  void handle_command(const proto::command& cmd, time_point now);
  void handle_error(const proto::parse_event& ev);
  bool refused(const proto::command& cmd);
  void reply(proto::reply_code code);
  void reply(proto::reply_code code, std::string_view subject);
  static shared_text reply_line(proto::reply_code code, std::string_view subject);
  void send(shared_text text);
  void queued(std::size_t pending);
  void close_with(close_reason why);
  outbox& out() noexcept { return seat_.output(); }
  const outbox& out() const noexcept { return seat_.output(); }
  bool first_line_is_http();
  proto::parse_event next_on_first_line(std::string_view window, std::size_t& used, bool& http);
  bool idle_clock_runs() const noexcept;
  void finish_input();
  std::size_t sendq_limit() const noexcept;
  void refill(time_point now);
  void charge(std::size_t bytes, std::uint64_t lines);
  void take_answer();

  room& room_;
  room::seat seat_;
  proto::command_parser parser_;
  proto::telnet_answerer telnet_;
  std::unique_ptr<std::string> pending_; // input held while paused; null when none
  time_point started_;
  time_point last_input_;
  time_point refilled_;
  time_point resume_at_{};
  double tokens_;
  std::size_t byte_debt_ = 0;   // octets received since the last byte token
  bool registered_ = false;     // this session's thread only
  bool tls_checked_ = false;    // the first octet was checked for TLS
  bool protocol_known_ = false; // the first line is known not to be HTTP
  bool eof_ = false;            // the client shut down its sending side
  bool awaiting_ = false;       // a cluster's answer to the last command
  bool done_ = false;           // QUIT, error close or end of connection
  wait blocked_ = wait::input;  // why run() last stopped early
};

} // namespace natter::core

#endif // NATTER_CORE_SESSION_HPP
