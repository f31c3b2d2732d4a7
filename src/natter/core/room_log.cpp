#include "natter/core/room_log.hpp"

#include <algorithm>
#include <cstring>
#include <new>

namespace natter::core
{

log_chunk* log_chunk::make(room_log& log, std::uint64_t base, std::size_t capacity,
                           std::uint32_t refs)
{
  void* p = ::operator new(sizeof(log_chunk) + capacity);
  log.live_.fetch_add(1, std::memory_order_relaxed);
  return new (p) log_chunk(log, base, capacity, refs);
}

void log_chunk::release(log_chunk* c) noexcept
{
  if (c == nullptr || c->refs_.fetch_sub(1, std::memory_order_acq_rel) != 1)
    return;
  c->log_.live_.fetch_sub(1, std::memory_order_relaxed);
  c->~log_chunk();
  ::operator delete(c);
}

void log_chunk::release_range(log_chunk* first, const log_chunk* last) noexcept
{
  for (log_chunk* c = first; c != nullptr;)
  {
    log_chunk* next = c == last ? nullptr : c->next();
    release(c);
    c = next;
  }
}

log_chunk* log_chunk::last_before(log_chunk* from, std::uint64_t end) noexcept
{
  log_chunk* c = from;
  while (c->limit() < end)
    c = c->next();
  return c;
}

room_log::room_log(std::size_t chunk_size)
    : chunk_size_(std::max<std::size_t>(chunk_size, 1)),
      tail_(log_chunk::make(*this, 0, chunk_size_, 1))
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
    // The new chunk is held by the log and by every open reader; the old
    // tail is sealed (its end written before the link readers follow) and
    // the log lets go of it.
    log_chunk* next =
        log_chunk::make(*this, written_, std::max(chunk_size_, line.size()), open_ + 1);
    tail_->sealed_end_ = written_;
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

log_chunk* room_log::open_reader() noexcept
{
  ++open_;
  tail_->refs_.fetch_add(1, std::memory_order_relaxed);
  return tail_;
}

log_chunk* room_log::close_reader(log_chunk* from, std::uint64_t end, std::uint64_t pos) noexcept
{
  --open_;
  if (pos >= end)
  {
    log_chunk::release_range(from, nullptr);
    return nullptr;
  }
  log_chunk* last = log_chunk::last_before(from, end);
  log_chunk::release_range(last->next(), nullptr);
  return last;
}

} // namespace natter::core
