// The room's numbering of its messages and the last of them, kept for
// HISTORY (spec/natter.md 7.3, 7.11). A message is kept as its HISTORY line,
// "212-<id> <time> <nick> <text>", written once when the room accepted it:
// every reply that includes the message queues a reference to that one
// buffer, so a reply costs no copy and no formatting per recipient.
//
// A line's buffer is never changed while anyone but the ring holds it. When
// the ring forgets a line, it writes the new message's line into the old
// buffer if no reply holds that any more (the common case: a flood costs no
// allocation), and otherwise leaves the old buffer to its holders, the last
// of whom frees it, and takes a new one.
//
// Threads: the room's lock guards the ring (number, line_for_newest,
// select); a lent line is released from any thread.
#ifndef NATTER_CORE_HISTORY_HPP
#define NATTER_CORE_HISTORY_HPP

#include "natter/core/text.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace natter::core
{

/// Message ids and a ring of the last `capacity` messages' HISTORY lines.
class message_history
{
  struct buffer;

public:
  /// A kept line lent to a reply: one reference, taken under the room's
  /// lock; share() turns it into a shared_text after the lock (that
  /// allocates, which is why it waits).
  class lent
  {
  public:
    explicit lent(buffer* b) noexcept : b_(b) {}
    lent(lent&& other) noexcept : b_(other.b_) { other.b_ = nullptr; }
    lent& operator=(lent&&) = delete;
    ~lent();

    /// The line, holding the buffer until its last copy goes.
    shared_text share() &&;

  private:
    buffer* b_;
  };

  /// Keeps the last `capacity` messages (0: none; ids are counted all the same).
  explicit message_history(std::size_t capacity) noexcept : capacity_(capacity) {}
  message_history(const message_history&) = delete;
  message_history& operator=(const message_history&) = delete;
  ~message_history();

  /// Messages kept at most.
  std::size_t capacity() const noexcept { return capacity_; }

  /// The id of the newest message numbered; 0 before the first.
  std::uint64_t newest() const noexcept { return newest_; }

  /// Messages kept now.
  std::size_t kept() const noexcept { return slots_.size(); }

  /// Numbers the next message: returns its id, newest() + 1 (N-MSG-5).
  std::uint64_t number() noexcept { return ++newest_; }

  /// Numbers the next message `id`, as a cluster's log gave it: an id that
  /// does not follow newest() (a gap) forgets what was kept.
  void number_as(std::uint64_t id)
  {
    if (id != newest_ + 1)
      restart_after(id - 1);
    newest_ = id;
  }

  /// Forgets every kept line; the next id is `newest` + 1 (a gap, or a new
  /// epoch from `newest` = 0).
  void restart_after(std::uint64_t newest);

  /// The storage of the HISTORY line of the message just numbered, which
  /// the caller fills (its old contents are nobody's). Call once after
  /// every number() when the capacity is not 0.
  std::string& line_for_newest();

  /// Appends the lines kept of the messages with an id greater than `after`
  /// and at most `upto`, oldest first, lent.
  void select(std::uint64_t after, std::uint64_t upto, std::vector<lent>& out) const;

private:
  struct buffer
  {
    std::atomic<std::uint32_t> refs{1}; // the ring's, while it keeps it, and one per lent line
    std::string text;
  };
  static void release(buffer* b) noexcept;

  const std::size_t capacity_;
  std::uint64_t newest_ = 0;
  std::uint64_t first_ = 1;    // no id below it is kept
  std::vector<buffer*> slots_; // message id's line at (id - 1) % capacity_
};

} // namespace natter::core

#endif // NATTER_CORE_HISTORY_HPP
