// The room's stream of events as one append-only log of octets, shared by
// every member (spec/natter.md, "Events"). An event is written into the log
// once; a member's outbox keeps only a position in it, so a broadcast costs
// the same whatever the size of the room, and a member's backlog of events
// leaves in one gathered write of a few contiguous spans.
//
// The log is a chain of chunks; an event line never straddles two. A chunk
// lives exactly as long as some reader still needs it:
// - a reader whose stream is open (a member) holds a reference on every
//   chunk from the one its position is in up to the tail: a new chunk starts
//   with one reference per open reader, and a reader gives one up as its
//   position moves past that chunk;
// - a reader whose stream has ended holds only the chunks up to its stream's
//   end (close_reader() gives back the rest at once);
// - the log holds the tail.
// So a reader that stopped (a dropped client, a slow one closing) never pins
// the chunks appended after its end, and one that is caught up holds the
// tail alone. A reader follows next() only into a chunk it holds, and reads
// a chunk's limit() (not the next chunk) to know where it ends.
//
// Threads: one appender at a time (the room's lock), which also serialises
// open_reader() and close_reader(); any number of readers move and release
// concurrently. A reader reads octets below end() only; end() is published
// after the octets, and after the link to a new chunk, are written.
#ifndef NATTER_CORE_ROOM_LOG_HPP
#define NATTER_CORE_ROOM_LOG_HPP

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

namespace natter::core
{

class room_log;

/// One piece of the log: a header and `capacity` octets after it.
class log_chunk
{
public:
  log_chunk(const log_chunk&) = delete;
  log_chunk& operator=(const log_chunk&) = delete;

  /// Log position of the first octet.
  std::uint64_t base() const noexcept { return base_; }

  /// The chunk after this one, or null while this is the tail. Only a
  /// reader that holds it may follow it.
  log_chunk* next() const noexcept { return next_.load(std::memory_order_acquire); }

  /// Log position after this chunk's last octet once a chunk follows it;
  /// the largest position while it is the tail.
  std::uint64_t limit() const noexcept
  {
    return next() != nullptr ? sealed_end_ : std::numeric_limits<std::uint64_t>::max();
  }

  /// The octet at log position `pos` (base() <= pos).
  const char* at(std::uint64_t pos) const noexcept
  {
    return reinterpret_cast<const char*>(this + 1) + (pos - base_);
  }

  /// Drops one reference to `c` (may be null); frees it with the last.
  static void release(log_chunk* c) noexcept;

  /// Releases every chunk from `first` to `last` (both held, `last` reached
  /// from `first` through next()).
  static void release_range(log_chunk* first, const log_chunk* last) noexcept;

  /// The last chunk from `from` on (held, and every chunk after it up to
  /// that one too) with octets before position `end`: the last one a stream
  /// ending at `end` needs.
  static log_chunk* last_before(log_chunk* from, std::uint64_t end) noexcept;

private:
  friend class room_log;

  log_chunk(room_log& log, std::uint64_t base, std::size_t capacity, std::uint32_t refs) noexcept
      : log_(log), base_(base), capacity_(capacity), refs_(refs)
  {
  }
  static log_chunk* make(room_log& log, std::uint64_t base, std::size_t capacity,
                         std::uint32_t refs);
  char* data() noexcept { return reinterpret_cast<char*>(this + 1); }

  room_log& log_;
  const std::uint64_t base_;
  const std::size_t capacity_;
  std::uint64_t sealed_end_ = 0; // written before next_ is published
  std::atomic<std::uint32_t> refs_;
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

  /// Octets a chunk holds unless one line needs more.
  std::size_t chunk_size() const noexcept { return chunk_size_; }

  /// Chunks alive, the tail included (for tests and the fuzzer).
  std::size_t chunks() const noexcept { return live_.load(std::memory_order_relaxed); }

  /// The chunk being appended to (the appender's side, or a test's).
  const log_chunk* tail() const noexcept { return tail_; }

  // ---- the appender's side (the room's lock held) ----

  /// Copies `line` (one or more whole lines) to the end of the log and
  /// returns its position. Readers see it after publish().
  std::uint64_t append(std::string_view line);

  /// Makes everything appended so far visible to readers.
  void publish() noexcept { end_.store(written_, std::memory_order_seq_cst); }

  /// A new reader with an open stream, starting at end(): the chunk it
  /// holds (the tail); every chunk appended from now on counts it.
  log_chunk* open_reader() noexcept;

  /// The open reader holding `from` (and every chunk after it) ends its
  /// stream at `end`: gives back the chunks after the last one it needs.
  /// Returns that last chunk, or null when it needs none (then `from` is
  /// given back too; the reader's position must be `end`).
  log_chunk* close_reader(log_chunk* from, std::uint64_t end, std::uint64_t pos) noexcept;

private:
  friend class log_chunk;

  std::atomic<std::size_t> live_{0}; // before tail_: make() counts it
  const std::size_t chunk_size_;
  log_chunk* tail_;
  std::size_t used_ = 0;      // octets of tail_ written
  std::uint64_t written_ = 0; // position after the last appended octet
  std::uint32_t open_ = 0;    // readers with an open stream
  std::atomic<std::uint64_t> end_{0};
};

} // namespace natter::core

#endif // NATTER_CORE_ROOM_LOG_HPP
