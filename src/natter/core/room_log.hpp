// The room's stream of events as one append-only log of octets, shared by
// every member (spec/natter.md, "Events"). An event is written into the log
// once; a member's outbox keeps only a position in it, so a broadcast costs
// the same whatever the size of the room, and a member's backlog of events
// leaves in one gathered write of a few contiguous spans.
//
// The log is a chain of chunks; an event line never straddles two. Each
// reader (an outbox whose member is still to receive something) holds a
// reference on the chunk its position is in, and every chunk holds one on
// the next, so a chunk is freed when the last reader has moved past it.
//
// Threads: one appender at a time (the room's lock), any number of readers.
// A reader reads octets below end() only; end() is published after the
// octets, and after the link to a new chunk, are written.
#ifndef NATTER_CORE_ROOM_LOG_HPP
#define NATTER_CORE_ROOM_LOG_HPP

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace natter::core
{

/// One piece of the log: a header and `capacity` octets after it.
class log_chunk
{
public:
  log_chunk(const log_chunk&) = delete;
  log_chunk& operator=(const log_chunk&) = delete;

  /// Log position of the first octet.
  std::uint64_t base() const noexcept { return base_; }

  /// The chunk after this one, or null while this is the tail.
  log_chunk* next() const noexcept { return next_.load(std::memory_order_acquire); }

  /// The octet at log position `pos` (base() <= pos).
  const char* at(std::uint64_t pos) const noexcept
  {
    return reinterpret_cast<const char*>(this + 1) + (pos - base_);
  }

  /// Takes one more reference.
  void retain() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }

  /// Drops a reference to `c` (may be null); frees every chunk of the
  /// chain no one refers to any more.
  static void release(log_chunk* c) noexcept;

private:
  friend class room_log;

  log_chunk(std::uint64_t base, std::size_t capacity) noexcept : base_(base), capacity_(capacity) {}
  static log_chunk* make(std::uint64_t base, std::size_t capacity);
  char* data() noexcept { return reinterpret_cast<char*>(this + 1); }

  const std::uint64_t base_;
  const std::size_t capacity_;
  std::atomic<std::uint32_t> refs_{1};
  std::atomic<log_chunk*> next_{nullptr};
};

/// The log itself.
class room_log
{
public:
  /// `chunk_size`: octets a chunk holds unless one line needs more.
  explicit room_log(std::size_t chunk_size);
  room_log(const room_log&) = delete;
  room_log& operator=(const room_log&) = delete;
  ~room_log();

  /// Position after the last published octet. (Sequentially consistent:
  /// an idle reader stores its flag, then loads this; the appender stores
  /// this, then loads the flag. One of them sees the other.)
  std::uint64_t end() const noexcept { return end_.load(std::memory_order_seq_cst); }

  // ---- the appender's side (the room's lock held) ----

  /// Copies `line` (one or more whole lines) to the end of the log and
  /// returns its position. Readers see it after publish().
  std::uint64_t append(std::string_view line);

  /// Makes everything appended so far visible to readers.
  void publish() noexcept { end_.store(written_, std::memory_order_seq_cst); }

  /// A new reader starting at end(): the chunk to hold (already retained).
  log_chunk* tail() noexcept
  {
    tail_->retain();
    return tail_;
  }

private:
  const std::size_t chunk_size_;
  log_chunk* tail_;
  std::size_t used_ = 0;       // octets of tail_ written
  std::uint64_t written_ = 0;  // position after the last appended octet
  std::atomic<std::uint64_t> end_{0};
};

} // namespace natter::core

#endif // NATTER_CORE_ROOM_LOG_HPP
