#include "natter/core/room_log.hpp"

#include <algorithm>
#include <cstring>
#include <new>

namespace natter::core
{

log_chunk* log_chunk::make(std::uint64_t base, std::size_t capacity)
{
  void* p = ::operator new(sizeof(log_chunk) + capacity);
  return new (p) log_chunk(base, capacity);
}

void log_chunk::release(log_chunk* c) noexcept
{
  // A loop, not a recursive destructor: a reader far behind can hold the
  // only reference to a long chain.
  while (c != nullptr && c->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1)
  {
    log_chunk* next = c->next_.load(std::memory_order_acquire);
    c->~log_chunk();
    ::operator delete(c);
    c = next;
  }
}

room_log::room_log(std::size_t chunk_size)
    : chunk_size_(std::max<std::size_t>(chunk_size, 1)), tail_(log_chunk::make(0, chunk_size_))
{
}

room_log::~room_log()
{
  log_chunk::release(tail_);
}

std::uint64_t room_log::append(std::string_view line)
{
  if (used_ + line.size() > tail_->capacity_)
  {
    // The new chunk starts with two references: ours, and the link from
    // the old tail, which readers follow once they reach its end.
    log_chunk* next = log_chunk::make(written_, std::max(chunk_size_, line.size()));
    next->refs_.store(2, std::memory_order_relaxed);
    tail_->next_.store(next, std::memory_order_release);
    log_chunk::release(tail_);
    tail_ = next;
    used_ = 0;
  }
  const std::uint64_t at = written_;
  std::memcpy(tail_->data() + used_, line.data(), line.size());
  used_ += line.size();
  written_ += line.size();
  return at;
}

} // namespace natter::core
