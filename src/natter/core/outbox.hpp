// The send queue of one connection: immutable shared lines waiting to be
// written, with byte accounting for slow-consumer control (spec/natter.md,
// "Slow consumers"). Thread-safe: any thread may push (a broadcast runs on
// the sender's thread), the transport's writer takes batches.
#ifndef NATTER_CORE_OUTBOX_HPP
#define NATTER_CORE_OUTBOX_HPP

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace natter::core
{

/// One or more complete CRLF-terminated lines, built once and shared by every
/// recipient (a broadcast line is never copied per recipient).
using shared_text = std::shared_ptr<const std::string>;

/// Makes a shared_text from a string.
inline shared_text make_text(std::string s)
{
  return std::make_shared<const std::string>(std::move(s));
}

/// What the writer of a connection does next.
class transport
{
public:
  virtual ~transport() = default;

  /// Called (from any thread, possibly under the room lock) when the outbox
  /// went from empty to non-empty or started closing. Must not block and
  /// must not call back into the room or the session: post, don't run.
  virtual void wake() noexcept = 0;
};

/// Pending output of one connection.
class outbox
{
public:
  /// `total` (may be null) is a counter shared by every outbox of a server,
  /// kept equal to the sum of their queued bytes.
  outbox(transport& t, std::atomic<std::size_t>* total) noexcept : transport_(t), total_(total) {}
  outbox(const outbox&) = delete;
  outbox& operator=(const outbox&) = delete;
  ~outbox();

  /// Queues `text`. Returns the bytes queued afterwards, or 0 when the outbox
  /// is closing and `text` was dropped.
  std::size_t push(shared_text text);

  /// Stops accepting output: queues `last` (a final line, may be null) and
  /// makes the writer close the connection once everything queued is
  /// written. With `discard`, first drops what was not yet handed to the
  /// writer (a slow consumer). Returns false when the outbox was already
  /// closing (nothing changes then). `reason` (a string with static
  /// storage) is kept for the log.
  bool close(shared_text last, const char* reason, bool discard = false);

  /// Moves up to `max_bytes` (at least one line) of queued output into
  /// `batch` for one gathered write; the bytes stay counted until written().
  /// When `batch` is empty and everything fits, the queue's storage moves
  /// with it. Returns the number of bytes moved (0 when nothing is queued).
  std::size_t take(std::vector<shared_text>& batch, std::size_t max_bytes);

  /// The writer finished writing `n` bytes taken earlier. Returns the bytes
  /// still queued and not yet taken (what untaken() would say next).
  std::size_t written(std::size_t n);

  /// Bytes queued, including those taken and not yet written.
  std::size_t bytes() const;

  /// Bytes queued and not yet taken by the writer: what close(..., discard)
  /// would free at once.
  std::size_t untaken() const;

  /// True once close() was called.
  bool closing() const;

  /// True when closing and everything queued was written: time to close.
  bool finished() const;

  /// The reason given to close(), or null while open.
  const char* reason() const;

private:
  mutable std::mutex mutex_;
  transport& transport_;
  std::atomic<std::size_t>* total_;
  std::vector<shared_text> queue_; // not yet taken
  std::size_t head_ = 0;           // first untaken element of queue_
  std::size_t bytes_ = 0;          // queued + taken-not-written
  std::size_t in_flight_ = 0;      // taken-not-written
  bool closing_ = false;
  const char* reason_ = nullptr;
};

} // namespace natter::core

#endif // NATTER_CORE_OUTBOX_HPP
