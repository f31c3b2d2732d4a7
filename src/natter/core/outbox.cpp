#include "natter/core/outbox.hpp"

namespace natter::core
{

namespace
{

// Entries a queue starts with, so a burst does not reallocate at 1, 2, 4.
constexpr std::size_t initial_capacity = 8;

} // namespace

outbox::~outbox()
{
  if (total_ != nullptr)
    total_->fetch_sub(bytes_, std::memory_order_relaxed);
}

std::size_t outbox::push(shared_text text)
{
  bool idle = false;
  std::size_t now = 0;
  {
    std::lock_guard lock(mutex_);
    if (closing_)
      return 0;
    idle = head_ == queue_.size() && in_flight_ == 0;
    if (queue_.capacity() == 0)
      queue_.reserve(initial_capacity);
    bytes_ += text->size();
    if (total_ != nullptr)
      total_->fetch_add(text->size(), std::memory_order_relaxed);
    queue_.push_back(std::move(text));
    now = bytes_;
  }
  // Wake outside the lock: the writer takes it to look at the queue.
  if (idle)
    transport_.wake();
  return now;
}

bool outbox::close(shared_text last, const char* reason, bool discard)
{
  {
    std::lock_guard lock(mutex_);
    if (closing_)
      return false;
    closing_ = true;
    reason_ = reason;
    if (discard)
    {
      const std::size_t dropped = bytes_ - in_flight_;
      bytes_ = in_flight_;
      if (total_ != nullptr)
        total_->fetch_sub(dropped, std::memory_order_relaxed);
      queue_.clear();
      head_ = 0;
    }
    if (last)
    {
      bytes_ += last->size();
      if (total_ != nullptr)
        total_->fetch_add(last->size(), std::memory_order_relaxed);
      queue_.push_back(std::move(last));
    }
  }
  transport_.wake();
  return true;
}

std::size_t outbox::take(std::vector<shared_text>& batch, std::size_t max_bytes)
{
  std::lock_guard lock(mutex_);
  const std::size_t untaken = bytes_ - in_flight_;
  if (batch.empty() && head_ == 0 && untaken <= max_bytes)
  {
    // The usual case: the whole queue becomes the batch, storage and all,
    // and the queue starts again with none (an idle connection keeps no
    // queue storage: with thousands of idle clients, it would add up).
    batch.swap(queue_);
    std::vector<shared_text>().swap(queue_);
    in_flight_ += untaken;
    return untaken;
  }
  std::size_t moved = 0;
  while (head_ < queue_.size() && (moved == 0 || moved + queue_[head_]->size() <= max_bytes))
  {
    moved += queue_[head_]->size();
    batch.push_back(std::move(queue_[head_]));
    ++head_;
  }
  if (head_ == queue_.size())
  {
    std::vector<shared_text>().swap(queue_);
    head_ = 0;
  }
  in_flight_ += moved;
  return moved;
}

std::size_t outbox::written(std::size_t n)
{
  std::lock_guard lock(mutex_);
  in_flight_ -= n;
  bytes_ -= n;
  if (total_ != nullptr)
    total_->fetch_sub(n, std::memory_order_relaxed);
  return bytes_ - in_flight_;
}

std::size_t outbox::bytes() const
{
  std::lock_guard lock(mutex_);
  return bytes_;
}

std::size_t outbox::untaken() const
{
  std::lock_guard lock(mutex_);
  return bytes_ - in_flight_;
}

bool outbox::closing() const
{
  std::lock_guard lock(mutex_);
  return closing_;
}

bool outbox::finished() const
{
  std::lock_guard lock(mutex_);
  return closing_ && bytes_ == 0;
}

const char* outbox::reason() const
{
  std::lock_guard lock(mutex_);
  return reason_;
}

} // namespace natter::core
