// The pending output of one connection (spec/natter.md, "Slow consumers"):
// its own lines (replies, the greeting, a final 5xx), and while it is a
// member, the room's events as a position in the room's log (room_log.hpp).
// The two are merged in order: a line of its own is tagged with the log
// position it was queued at and goes out after the events before it.
//
// Threads: any thread may push; one writer (the connection's) peeks and
// reports what it wrote. The stream calls (open_stream, close_stream,
// skip, close of a member's outbox) run under the room's lock, which also
// serialises the log's appends, so the room can count every member's
// queued octets with one addition per event.
#ifndef NATTER_CORE_OUTBOX_HPP
#define NATTER_CORE_OUTBOX_HPP

#include "natter/core/close_reason.hpp"
#include "natter/core/room_log.hpp"
#include "natter/core/text.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace natter::core
{

/// Octets to write, in place (a part of a line or of the log).
struct piece
{
  const char* data;
  std::size_t size;
};

/// The pending output of every connection of a server together (spec
/// N-SLOW-4). The one counter of it, changed only through this class: by
/// each outbox for its own lines and for what its writer took or a close
/// dropped, and by the room for an event's share of all its readers at
/// once, with one addition.
class pending_total
{
public:
  void add(std::size_t n) noexcept { octets_.fetch_add(n, std::memory_order_relaxed); }
  void remove(std::size_t n) noexcept { octets_.fetch_sub(n, std::memory_order_relaxed); }
  std::size_t value() const noexcept { return octets_.load(std::memory_order_relaxed); }

private:
  std::atomic<std::size_t> octets_{0};
};

/// What the writer of a connection does next.
class transport
{
public:
  virtual ~transport() = default;

  /// Called (from any thread, possibly under the room lock) when the outbox
  /// has something to write and its writer had found nothing. Must not
  /// block and must not call back into the room or the session: post,
  /// don't run.
  virtual void wake() noexcept = 0;
};

/// Pending output of one connection.
class outbox
{
public:
  /// `total` (may be null) is a counter shared by every outbox of a server,
  /// kept equal to the sum of their pending octets (the room adds each
  /// event's share; see room::deliver).
  outbox(transport& t, room_log& log, pending_total* total) noexcept
      : transport_(t), log_(log), total_(total)
  {
  }
  outbox(const outbox&) = delete;
  outbox& operator=(const outbox&) = delete;
  ~outbox();

  /// Queues `text` after everything queued and every event published so
  /// far. Returns the octets pending afterwards, or 0 when the outbox is
  /// closing and `text` was dropped.
  std::size_t push(shared_text text);

  /// Queues `texts` in order as push() would, at one place in the output:
  /// no event can come between them (a multi-line reply, spec N-REPLY-4).
  /// Only the references are copied.
  std::size_t push_all(std::span<const shared_text> texts);

  /// Stops accepting output because of `why`: ends the stream of events
  /// (under the room's lock when it is open), queues the reason's final
  /// line and wakes the writer, busy or not, so that it closes the
  /// connection once everything queued is written (or its flush deadline
  /// passes). When the reason discards output (a slow consumer, a failed
  /// socket), first drops everything but the rest of a line the writer has
  /// partly written: the outbox then holds no part of the room's log.
  /// Returns false when the outbox was already closing (nothing changes).
  bool close(close_reason why);

  /// Fills `out` with the front of the pending output (whole lines, events
  /// in spans of the log), stopping once `max_bytes` or `out.size()` pieces
  /// are reached (at least one piece). Returns the number of pieces; 0 when
  /// nothing is pending, and then the outbox wakes the transport when
  /// something is. Every peek that returned pieces must be followed by
  /// written(), with 0 when the socket took nothing; until then the pieces
  /// stay valid, whatever close() does meanwhile.
  std::size_t peek(std::span<piece> out, std::size_t max_bytes);

  /// The writer wrote the first `n` octets of what it peeked (0: none).
  /// Returns the octets still pending; when that is 0, the outbox is idle
  /// and its next output wakes the transport.
  std::size_t written(std::size_t n);

  /// Octets pending, including those peeked and not yet written.
  std::size_t bytes() const;

  /// Octets pending that a discarding close() would free: all but the
  /// rest of a partly written line (and what a writer is writing now).
  std::size_t untaken() const;

  /// True once close() was called.
  bool closing() const;

  /// closing() without the lock. Set under the lock before close() wakes
  /// the transport, so a writer woken by a close sees it here.
  bool closing_unlocked() const noexcept { return closing_.load(std::memory_order_acquire); }

  /// What a connection's writer asks after every event, under one lock:
  /// whether the outbox is closing and how many octets are pending
  /// (finished() is `closing && bytes == 0`).
  struct status
  {
    bool closing;
    std::size_t bytes;
  };
  status state() const;

  /// True when closing and everything queued was written: time to close.
  bool finished() const;

  /// The reason given to close(); none while open.
  close_reason reason() const;

  // ---- the room's side, with the room's lock held ----

  /// Starts receiving the room's events from the end of the log on.
  void open_stream();

  /// Stops receiving events: nothing after the end of the log.
  void close_stream();

  /// True between open_stream() and close_stream()/close().
  bool stream_open() const noexcept { return end_ == open_end; }

  /// The member's own event at `at`, `n` octets, already appended and not
  /// yet published: it is not sent back to it.
  void skip(std::uint64_t at, std::size_t n);

  /// After the event of a skip() was published: steps over the member's
  /// own events at the front of its output at once, so that a member that
  /// only talks moves through the log with it and holds only its tail; and
  /// one that talks while an event waits for it copies that event out once
  /// its own events fill a chunk (see detach()). Wakes the writer if it is
  /// idle with output pending: own lines queued meanwhile waited behind
  /// the skip.
  void settle();

  /// The chunks this outbox holds, `first` to `last` (null: none), and its
  /// position in the log. For tests and the fuzzer, which hold them against
  /// the log's chunks() and the outbox's pending output.
  void held_range(const log_chunk*& first, const log_chunk*& last, std::uint64_t& position) const;

  /// Octets of the member's own events within what it holds: nothing it
  /// will send. settle() keeps them under a chunk.
  std::size_t own_events_held() const;

  /// After an event was published: wakes the writer if it found nothing
  /// last time. Cheap when it is busy.
  void notify() noexcept;

  /// Wakes the transport whether or not its writer is idle: it looks at
  /// the session again (a cluster's answer, which may queue no output).
  void wake_transport() noexcept { transport_.wake(); }

  /// An upper bound of bytes() without the lock (exact but for this
  /// member's own events in the log).
  std::size_t pending_bound(std::uint64_t log_end) const noexcept
  {
    return static_cast<std::size_t>(log_end - pos()) + own();
  }

private:
  static constexpr std::uint64_t open_end = ~std::uint64_t{0};

  std::uint64_t pos() const noexcept { return pos_.load(std::memory_order_relaxed); }
  std::size_t own() const noexcept { return own_.load(std::memory_order_relaxed); }

  /// A line of the connection's own (text set) or an event of its own in
  /// the log to step over (text null, `skip` octets), at log position `at`.
  struct entry
  {
    std::uint64_t at;
    shared_text text;
    std::size_t skip;
  };

  /// A place in the merged output.
  struct cursor
  {
    log_chunk* chunk;
    std::uint64_t pos;  // in the log
    std::size_t entry;  // index into entries_
    std::size_t offset; // octets of that entry's text already passed
  };

  template <class Take>
  void walk(cursor& c, std::uint64_t log_end, Take&& take) const;
  void commit(const cursor& c);
  void move_on() noexcept;
  void end_stream_at(std::uint64_t end) noexcept;
  std::string_view line_rest(std::uint64_t log_end) const noexcept;
  void discard_locked(std::uint64_t log_end);
  void step_over_own() noexcept;
  void detach(std::uint64_t log_end);
  const log_chunk* last_held() const noexcept;
  std::size_t pending_locked(std::uint64_t log_end) const noexcept;
  std::uint64_t stream_stop(std::uint64_t log_end) const noexcept;
  void queue(std::uint64_t at, shared_text text, std::size_t skip);
  template <class Add>
  std::size_t push_with(Add&& add);
  bool claim_idle() noexcept;
  bool go_idle(std::uint64_t seen_end) noexcept;
  bool close_locked(close_reason why);

  mutable std::mutex mutex_;
  transport& transport_;
  room_log& log_;
  pending_total* total_;
  log_chunk* chunk_ = nullptr; // first chunk held (the one pos_ is in); null: none
  std::uint64_t end_ = 0;      // end of this outbox's stream (open_end: open)
  std::vector<entry> entries_; // from head_ on: not yet written
  std::uint32_t head_ = 0;
  std::uint32_t head_offset_ = 0; // octets of entries_[head_]'s text written
  std::size_t skipped_ = 0;       // octets of own events pending a skip
  std::uint64_t skip_end_ = 0;    // where the last skip() ends in the log
  std::size_t in_flight_ = 0;     // peeked, written() not yet called
  // Written under the lock, read without it by pending_bound() and
  // closing_unlocked():
  std::atomic<std::uint64_t> pos_{0}; // next log position to send
  std::atomic<std::size_t> own_{0};   // octets of own lines pending
  std::atomic<bool> idle_{true};      // the writer found nothing: wake it
  std::atomic<bool> closing_{false};
  bool trim_ = false;         // discarded while in flight: trim at written()
  bool final_queued_ = false; // ...and the last entry is the final line
  close_reason reason_ = close_reason::none;
};

} // namespace natter::core

#endif // NATTER_CORE_OUTBOX_HPP
