// One chat connection's whole life without a socket (spec sections 9-12):
// the session, and every decision natterd's Asio connection used to make
// around it (when to read, what to write next, one timer for every
// deadline, the flush deadline of a closing connection, the linger after a
// final line, when to reset). A transport tells it what happened, with the
// time (on a write, a way to read it, called only when the time matters),
// and asks step() what to do; natterd, the session fuzzer and the core tests
// all drive this same class.
//
// Threads: as session (one thread at a time; the room may queue output and
// close the outbox from others, which wakes the transport).
#ifndef NATTER_CORE_CONNECTION_HPP
#define NATTER_CORE_CONNECTION_HPP

#include "natter/core/session.hpp"

#include <chrono>
#include <concepts>
#include <cstddef>
#include <span>
#include <string_view>

namespace natter::core
{

/// The state machine of one chat connection.
class connection
{
public:
  /// How long a closing connection (QUIT, a 5xx, dropped) may take to write
  /// its last lines before it is reset (spec N-SLOW-6).
  static constexpr std::chrono::milliseconds flush_deadline{limits::flush_deadline};
  /// How long input is drained after the final line went out, so that the
  /// client's unread input does not turn the close into a reset that
  /// destroys that line (spec N-CONN-9).
  static constexpr std::chrono::milliseconds linger_time{limits::linger_time};

  /// What the transport does next, as step() answers it. Whether output is
  /// pending is not in it: peek() and wrote() tell that, and the outbox
  /// wakes the transport when there is more.
  struct next
  {
    bool read = false;                      ///< wait for input: received() or end_of_input()
    bool shutdown_send = false;             ///< shut down the sending side now (told once)
    bool close = false;                     ///< close the socket now (told once)
    bool reset = false;                     ///< ...abortively: output was left unsent
    time_point wake_at = time_point::max(); ///< call timer_fired() then
    /// Waiting for a cluster's answer or for its output to drain: only a
    /// wake-up moves it on (the answer, or the writer woken for output that
    /// appeared while it was idle). The transport stays alive until then,
    /// whether or not an operation of its own is pending. (The other waits
    /// without reading, flood control and a closing connection's flush,
    /// have wake_at, whose timer keeps it.)
    bool hold = false;

    bool operator==(const next&) const = default;
  };

  connection(room& r, transport& t, time_point now) : session_(r, t, now) {}
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Queues the greeting.
  void start() { session_.start(); }

  /// Octets arrived (while lingering they are only drained).
  void received(std::string_view data, time_point now);

  /// The client shut down its sending side.
  void end_of_input(time_point now);

  /// The socket failed (reset, error): the connection is over.
  void failed();

  /// The time step() asked for (or later) has come.
  void timer_fired(time_point now);

  /// The front of the pending output (see outbox::peek): nothing once the
  /// final line went out or the connection is over.
  std::size_t peek(std::span<piece> out, std::size_t max_bytes);

  /// The socket took `n` octets of what peek() gave (0: none). Returns the
  /// octets still pending. `now()` gives the time and is called only when
  /// the time matters: when the session had stopped reading at the soft
  /// mark and goes on now. So a transport reads no clock on a write that
  /// does not resume the session: nearly every write.
  template <std::invocable Now>
  std::size_t wrote(std::size_t n, Now&& now)
  {
    const std::size_t left = session_.output().written(n);
    if (n > 0 && session_.next_wait() == session::wait::output)
    {
      session_.resume(now()); // below the soft mark again, perhaps
      due_ = true;
    }
    return left;
  }

  /// wrote() at a time already known.
  std::size_t wrote(std::size_t n, time_point now)
  {
    return wrote(n, [now] { return now; });
  }

  /// What to do now. Each one-time action (shutdown_send, close) is told
  /// once; after close, nothing more is asked.
  next step(time_point now);

  /// False when step() would answer just what it answered last, so the
  /// transport need not ask: since then only output was queued, peeked and
  /// written (a wrote() that did not resume the session), time passed, and
  /// the outbox is not closing. A write changes only the octets pending,
  /// which step() looks at only once the outbox is closing (the flush
  /// deadline, the linger); the deadlines it merges move only on input, a
  /// timer or a resume. True before the first step(), after every other
  /// event told to this class, and while the outbox is closing. A close on
  /// another thread sets the flag read here before it wakes the transport,
  /// so the write that follows the wake sees it.
  bool step_due() const noexcept
  {
    return !close_told_ && (due_ || session_.output().closing_unlocked() || session_.answer_came());
  }

  /// True once the transport was told to close.
  bool over() const noexcept { return close_told_; }

  /// Why the connection ended, for the log (none while it has not).
  close_reason reason() const
  {
    return reason_ != close_reason::none ? reason_ : session_.output().reason();
  }

  core::session& session() noexcept { return session_; }
  const core::session& session() const noexcept { return session_; }

private:
  void end(bool reset, close_reason why);

  core::session session_;
  time_point close_by_ = time_point::max();  // flush deadline, then the linger's end
  close_reason reason_ = close_reason::none; // ours, when the session gave none
  bool lingering_ = false;                   // the final line went out: draining input
  bool shutdown_told_ = false;
  bool ended_ = false; // the session left; the socket is to be closed
  bool reset_ = false;
  bool close_told_ = false;
  bool due_ = true; // an event since the last step() may change its answer
};

} // namespace natter::core

#endif // NATTER_CORE_CONNECTION_HPP
