#include "natter/core/outbox.hpp"

#include <algorithm>

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
    total_->fetch_sub(pending_locked(log_.end()), std::memory_order_relaxed);
  log_chunk::release(chunk_);
}

// A stream that ended and was written to its end holds no chunk.
void outbox::drop_finished_stream() noexcept
{
  if (chunk_ != nullptr && pos() >= end_)
  {
    log_chunk::release(chunk_);
    chunk_ = nullptr;
  }
}

// Nothing is pending at `seen_end`: from now on the next output wakes the
// writer. The room publishes an event, then looks at idle_; we set idle_,
// then look at the log's end: one of us sees the other. Returns false (and
// stays busy) when the stream grew meanwhile.
bool outbox::go_idle(std::uint64_t seen_end) noexcept
{
  idle_.store(true, std::memory_order_seq_cst);
  if (stream_stop(log_.end()) == stream_stop(seen_end))
    return true;
  idle_.store(false, std::memory_order_relaxed);
  return false;
}

// Where this outbox's share of the log ends for now.
std::uint64_t outbox::stream_stop(std::uint64_t log_end) const noexcept
{
  return chunk_ != nullptr ? std::min(end_, log_end) : pos();
}

std::size_t outbox::pending_locked(std::uint64_t log_end) const noexcept
{
  return static_cast<std::size_t>(stream_stop(log_end) - pos()) - skipped_ + own();
}

// Goes over the pending output in order from `c`: the entries due at the
// current log position, then the log up to the next entry (in one piece per
// chunk), and so on. `take(data, size, own)` accepts up to `size` octets
// and returns how many; the walk stops at the first piece not taken whole.
template <class Take>
void outbox::walk(cursor& c, std::uint64_t log_end, Take&& take) const
{
  const std::uint64_t stop = stream_stop(log_end); // c starts at this outbox's place
  for (;;)
  {
    while (c.entry < entries_.size() && entries_[c.entry].at <= c.pos)
    {
      const entry& e = entries_[c.entry];
      if (e.text)
      {
        const std::size_t left = e.text->size() - c.offset;
        const std::size_t took = take(e.text->data() + c.offset, left, true);
        if (took < left)
        {
          c.offset += took;
          return;
        }
        c.offset = 0;
      }
      else
      {
        if (e.at + e.skip > stop)
          return; // appended, not yet published
        c.pos += e.skip;
      }
      ++c.entry;
    }
    std::uint64_t until = stop;
    if (c.entry < entries_.size())
      until = std::min(until, entries_[c.entry].at);
    if (c.pos >= until)
      return;
    log_chunk* next;
    while ((next = c.chunk->next()) != nullptr && next->base() <= c.pos)
      c.chunk = next;
    const std::uint64_t to = next != nullptr ? std::min(until, next->base()) : until;
    const auto len = static_cast<std::size_t>(to - c.pos);
    const std::size_t took = take(c.chunk->at(c.pos), len, false);
    c.pos += took;
    if (took < len)
      return;
  }
}

void outbox::queue(std::uint64_t at, shared_text text, std::size_t skip)
{
  if (entries_.capacity() == 0)
    entries_.reserve(initial_capacity);
  if (text)
  {
    own_.store(own() + text->size(), std::memory_order_relaxed);
    if (total_ != nullptr)
      total_->fetch_add(text->size(), std::memory_order_relaxed);
  }
  else
    skipped_ += skip;
  entries_.push_back(entry{at, std::move(text), skip});
}

// Claims the wake-up when the writer went idle: true for one caller only.
bool outbox::claim_idle() noexcept
{
  return idle_.load(std::memory_order_seq_cst) && idle_.exchange(false, std::memory_order_seq_cst);
}

// A line of its own is queued and the idle flag claimed under the lock, so
// the writer either sees the line or has not looked yet; the transport is
// woken after it (its wake takes a lock of its own).
std::size_t outbox::push(shared_text text)
{
  std::size_t now = 0;
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (closing_)
      return 0;
    const std::uint64_t log_end = log_.end();
    queue(stream_stop(log_end), std::move(text), 0);
    wake = claim_idle();
    now = pending_locked(log_end);
  }
  if (wake)
    transport_.wake();
  return now;
}

bool outbox::close(shared_text last, const char* reason, bool discard)
{
  {
    std::lock_guard lock(mutex_);
    if (!close_locked(std::move(last), reason, discard))
      return false;
    if (!claim_idle())
      return true;
  }
  transport_.wake();
  return true;
}

bool outbox::close_locked(shared_text last, const char* reason, bool discard)
{
  if (closing_)
    return false;
  closing_ = true;
  reason_ = reason;
  const std::uint64_t log_end = log_.end();
  if (discard)
  {
    // Keep what the writer peeked at (it may be half written), drop the rest.
    const std::size_t before = pending_locked(log_end);
    cursor c{chunk_, pos(), head_, head_offset_};
    std::size_t left = in_flight_;
    walk(c, log_end,
         [&left](const char*, std::size_t n, bool)
         {
           const std::size_t t = std::min(n, left);
           left -= t;
           return t;
         });
    const std::size_t keep = c.entry + (c.offset > 0 ? 1 : 0);
    for (std::size_t i = keep; i < entries_.size(); ++i)
    {
      if (entries_[i].text)
        own_.store(own() - entries_[i].text->size(), std::memory_order_relaxed);
      else
        skipped_ -= entries_[i].skip;
    }
    entries_.resize(keep);
    if (chunk_ != nullptr)
      end_ = std::min(end_, c.pos);
    if (total_ != nullptr)
      total_->fetch_sub(before - pending_locked(log_end), std::memory_order_relaxed);
  }
  else if (chunk_ != nullptr)
    end_ = std::min(end_, log_end);
  drop_finished_stream();
  if (last)
    queue(stream_stop(log_end), std::move(last), 0);
  return true;
}

std::size_t outbox::peek(std::span<piece> out, std::size_t max_bytes)
{
  std::lock_guard lock(mutex_);
  for (;;)
  {
    const std::uint64_t log_end = log_.end();
    std::size_t count = 0;
    std::size_t bytes = 0;
    cursor c{chunk_, pos(), head_, head_offset_};
    walk(c, log_end,
         [&](const char* p, std::size_t n, bool) -> std::size_t
         {
           if (count == out.size() || (count > 0 && bytes >= max_bytes))
             return 0;
           out[count++] = piece{p, n};
           bytes += n;
           return n;
         });
    if (count > 0)
    {
      in_flight_ = std::max(in_flight_, bytes);
      return count;
    }
    if (go_idle(log_end))
      return 0;
  }
}

std::size_t outbox::written(std::size_t n)
{
  std::lock_guard lock(mutex_);
  const std::uint64_t log_end = log_.end();
  cursor c{chunk_, pos(), head_, head_offset_};
  std::size_t left = n;
  std::size_t own_done = 0;
  walk(c, log_end,
       [&](const char*, std::size_t size, bool own)
       {
         const std::size_t t = std::min(size, left);
         left -= t;
         if (own)
           own_done += t;
         return t;
       });
  for (std::size_t i = head_; i < c.entry; ++i)
  {
    if (!entries_[i].text)
      skipped_ -= entries_[i].skip;
    entries_[i].text.reset();
  }
  head_ = static_cast<std::uint32_t>(c.entry);
  head_offset_ = static_cast<std::uint32_t>(c.offset);
  if (head_ == entries_.size())
  {
    // An idle connection keeps no queue storage: with thousands of idle
    // clients, a burst's capacity left behind on each would add up.
    std::vector<entry>().swap(entries_);
    head_ = 0;
  }
  own_.store(own() - own_done, std::memory_order_relaxed);
  if (c.chunk != chunk_)
  {
    c.chunk->retain(); // before the release: the old chunk holds this one
    log_chunk::release(chunk_);
    chunk_ = c.chunk;
  }
  pos_.store(c.pos, std::memory_order_relaxed);
  drop_finished_stream();
  in_flight_ -= std::min(n, in_flight_);
  if (total_ != nullptr)
    total_->fetch_sub(n, std::memory_order_relaxed);
  const std::size_t rest = pending_locked(log_end);
  if (rest > 0 || go_idle(log_end))
    return rest;
  return pending_locked(log_.end()); // the stream grew while we wrote
}

void outbox::open_stream()
{
  std::lock_guard lock(mutex_);
  chunk_ = log_.tail();
  pos_.store(log_.end(), std::memory_order_relaxed);
  end_ = open_end;
}

void outbox::close_stream()
{
  std::lock_guard lock(mutex_);
  if (!stream_open())
    return;
  end_ = log_.end();
  drop_finished_stream();
}

void outbox::skip(std::uint64_t at, std::size_t n)
{
  std::lock_guard lock(mutex_);
  queue(at, nullptr, n);
}

void outbox::notify() noexcept
{
  if (claim_idle())
    transport_.wake();
}

std::size_t outbox::bytes() const
{
  std::lock_guard lock(mutex_);
  return pending_locked(log_.end());
}

std::size_t outbox::untaken() const
{
  std::lock_guard lock(mutex_);
  return pending_locked(log_.end()) - in_flight_;
}

bool outbox::closing() const
{
  std::lock_guard lock(mutex_);
  return closing_;
}

bool outbox::finished() const
{
  std::lock_guard lock(mutex_);
  return closing_ && pending_locked(log_.end()) == 0;
}

const char* outbox::reason() const
{
  std::lock_guard lock(mutex_);
  return reason_;
}

} // namespace natter::core
