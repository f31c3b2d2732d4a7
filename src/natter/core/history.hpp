// The room's numbering of its messages and the last of them, kept for
// HISTORY (spec/natter.md 7.3, 7.11). A message is kept as its HISTORY line,
// "212-<id> <time> <nick> <text>", built once when the room accepted it:
// every reply that includes the message queues a reference to that one
// buffer, so a reply costs no copy and no formatting per recipient.
//
// Threads: none of its own; the room's lock guards it.
#ifndef NATTER_CORE_HISTORY_HPP
#define NATTER_CORE_HISTORY_HPP

#include "natter/core/text.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace natter::core
{

/// Message ids and a ring of the last `capacity` messages' HISTORY lines.
class message_history
{
public:
  /// Keeps the last `capacity` messages (0: none; ids are counted all the same).
  explicit message_history(std::size_t capacity) noexcept : capacity_(capacity) {}

  /// Messages kept at most.
  std::size_t capacity() const noexcept { return capacity_; }

  /// The id of the newest message numbered; 0 before the first.
  std::uint64_t newest() const noexcept { return newest_; }

  /// Messages kept now.
  std::size_t kept() const noexcept { return slots_.size(); }

  /// Numbers the next message: returns its id, newest() + 1 (N-MSG-5).
  std::uint64_t number() noexcept { return ++newest_; }

  /// Keeps `line` as the message just numbered, and returns the line it no
  /// longer keeps (null while the ring fills), for the caller to let go of
  /// after the room's lock: the last reference may free it. With a capacity
  /// of 0, returns `line` itself. Call once after every number() when the
  /// capacity is not 0.
  shared_text keep(shared_text line);

  /// Appends the lines kept of the messages with an id greater than `after`
  /// and at most `upto`, oldest first.
  void select(std::uint64_t after, std::uint64_t upto, std::vector<shared_text>& out) const;

private:
  const std::size_t capacity_;
  std::uint64_t newest_ = 0;
  std::vector<shared_text> slots_; // message id's line at (id - 1) % capacity_
};

} // namespace natter::core

#endif // NATTER_CORE_HISTORY_HPP
