#include "natter/core/history.hpp"

#include <algorithm>

namespace natter::core
{

// The last reference frees the buffer. A holder's reads of the line come
// before its release; the ring's acquire in line_for_newest() sees them done.
void message_history::release(buffer* b) noexcept
{
  if (b->refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
    delete b;
}

message_history::lent::~lent()
{
  if (b_ != nullptr)
    release(b_);
}

shared_text message_history::lent::share() &&
{
  buffer* b = b_;
  b_ = nullptr;
  // The deleter runs when the last copy of the text goes (or here, if the
  // control block cannot be allocated).
  return shared_text(&b->text, [b](const std::string*) noexcept { release(b); });
}

message_history::~message_history()
{
  for (buffer* b : slots_)
    release(b);
}

std::string& message_history::line_for_newest()
{
  // The ring grows to its capacity as messages come, so a server that keeps
  // many but hears few holds only what it heard.
  if (slots_.size() < capacity_)
  {
    slots_.push_back(new buffer);
    return slots_.back()->text;
  }
  buffer*& slot = slots_[(newest_ - 1) % capacity_];
  // Only the ring lends (under the room's lock, which the caller holds), so
  // a count of 1 stays 1: no reply holds the line it forgets, and the
  // acquire orders every former holder's reads before the new line.
  if (slot->refs.load(std::memory_order_acquire) != 1)
  {
    release(slot); // the replies that hold it keep it; the last frees it
    slot = new buffer;
  }
  return slot->text;
}

void message_history::restart_after(std::uint64_t newest)
{
  newest_ = newest;
  first_ = newest + 1;
  // From here on an id's slot is (id - 1) % capacity whatever the first id
  // is, so the ring is whole at once; the old lines are nobody's now.
  while (slots_.size() < capacity_)
    slots_.push_back(new buffer);
}

void message_history::select(std::uint64_t after, std::uint64_t upto, std::vector<lent>& out) const
{
  // Ids newest() - kept() + 1 to newest() are kept, each in its slot.
  const std::uint64_t last = std::min(upto, newest_);
  if (after >= last)
    return;
  for (std::uint64_t id = std::max({after, newest_ - slots_.size(), first_ - 1}) + 1; id <= last;
       ++id)
  {
    buffer* b = slots_[(id - 1) % capacity_];
    b->refs.fetch_add(1, std::memory_order_relaxed); // the ring's reference keeps it alive
    out.emplace_back(b);
  }
}

} // namespace natter::core
