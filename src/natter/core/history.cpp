#include "natter/core/history.hpp"

#include <algorithm>

namespace natter::core
{

shared_text message_history::keep(shared_text line)
{
  if (capacity_ == 0)
    return line;
  // The ring grows to its capacity as messages come, so a server that keeps
  // many but hears few holds only what it heard.
  if (slots_.size() < capacity_)
  {
    slots_.push_back(std::move(line));
    return nullptr;
  }
  shared_text& slot = slots_[(newest_ - 1) % capacity_];
  std::swap(slot, line);
  return line;
}

void message_history::select(std::uint64_t after, std::uint64_t upto,
                             std::vector<shared_text>& out) const
{
  // Ids newest() - kept() + 1 to newest() are kept, each in its slot.
  const std::uint64_t last = std::min(upto, newest_);
  if (after >= last)
    return;
  for (std::uint64_t id = std::max(after, newest_ - slots_.size()) + 1; id <= last; ++id)
    out.push_back(slots_[(id - 1) % capacity_]);
}

} // namespace natter::core
