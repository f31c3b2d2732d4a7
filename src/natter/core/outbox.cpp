#include "natter/core/outbox.hpp"

#include "natter/core/counters.hpp"

#include <algorithm>
#include <cstring>

namespace natter::core
{

namespace
{

// Entries a queue starts with, so a burst does not reallocate at 1, 2, 4.
constexpr std::size_t initial_capacity = 8;

// Counts the lines of `text` as sent (queued), when counting.
void count_sent(const shared_text& text) noexcept
{
  if (counters* c = counting())
    c->lines_sent.add(static_cast<std::uint64_t>(std::count(text->begin(), text->end(), '\n')));
}

} // namespace

outbox::~outbox()
{
  if (total_ != nullptr)
    total_->remove(pending_locked(log_.end()));
  // The room ends every stream before a session goes (room::detach).
  log_chunk::release_range(chunk_, last_held());
}

// The last chunk held: the one with the ended stream's last octet (none
// while the stream is open: then every chunk up to the tail).
const log_chunk* outbox::last_held() const noexcept
{
  return chunk_ != nullptr && !stream_open() ? log_chunk::last_before(chunk_, end_) : nullptr;
}

// After the position moved: gives up the chunks it has passed, and all it
// holds once an ended stream was sent to its end. A chunk is passed when the
// position reached its limit; the reader holds the one after it then, since
// its stream goes on past that point.
void outbox::move_on() noexcept
{
  if (chunk_ == nullptr)
    return;
  if (!stream_open() && pos() >= end_)
  {
    log_chunk::release_range(chunk_, last_held());
    chunk_ = nullptr;
    return;
  }
  while (pos() >= chunk_->limit())
  {
    log_chunk* next = chunk_->next();
    log_chunk::release(chunk_);
    chunk_ = next;
  }
}

// Ends the stream at `end` (not after its current end): the chunks after
// the last one still needed are given back. Under the room's lock while the
// stream is open (the log counts its open readers).
void outbox::end_stream_at(std::uint64_t end) noexcept
{
  // A run of the member's own events up to the end is nothing to send: the
  // stream ends before it, and the chunks holding only those are not kept.
  if (entries_.size() > head_ && !entries_.back().text)
  {
    const entry& last = entries_.back();
    if (last.at + last.skip == end && last.at >= pos())
    {
      end = last.at;
      skipped_ -= last.skip;
      entries_.pop_back();
    }
  }
  if (chunk_ == nullptr)
  {
    end_ = std::min(end_, pos());
    return;
  }
  const log_chunk* keep = chunk_;
  if (stream_open())
    keep = log_.close_reader(chunk_, end, pos());
  else if (end < end_)
  {
    const log_chunk* last = last_held();
    keep = pos() < end ? log_chunk::last_before(chunk_, end) : nullptr;
    log_chunk::release_range(keep != nullptr ? keep->next() : chunk_, last);
  }
  end_ = std::min(end_, end);
  if (keep == nullptr)
    chunk_ = nullptr;
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

// The room marks a member's own event before it publishes it, so that no
// writer sends it back (room::deliver): until then the event is not in the
// stream, and its skip must not be taken from what is. Another thread asks
// in that moment when a cluster node's reader delivers while the member's
// session runs; counted in full, the skip made the count fall below zero
// (wrapping to a huge number of octets pending).
std::size_t outbox::pending_locked(std::uint64_t log_end) const noexcept
{
  const std::size_t unpublished =
      skip_end_ > log_end
          ? static_cast<std::size_t>(std::min<std::uint64_t>(skip_end_ - log_end, skipped_))
          : 0;
  return static_cast<std::size_t>(stream_stop(log_end) - pos()) - (skipped_ - unpublished) + own();
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
    // The octet at c.pos is still to be sent, so its chunk is held.
    while (c.pos >= c.chunk->limit())
      c.chunk = c.chunk->next();
    const auto len = static_cast<std::size_t>(std::min(until, c.chunk->limit()) - c.pos);
    const std::size_t took = take(c.chunk->at(c.pos), len, false);
    c.pos += took;
    if (took < len)
      return;
  }
}

// Makes `c` (reached by a walk from this outbox's place) its place: the
// entries passed are freed, and the chunks passed given back.
void outbox::commit(const cursor& c)
{
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
  pos_.store(c.pos, std::memory_order_relaxed);
  move_on();
}

void outbox::queue(std::uint64_t at, shared_text text, std::size_t skip)
{
  if (entries_.capacity() == 0)
    entries_.reserve(initial_capacity);
  if (text)
  {
    own_.store(own() + text->size(), std::memory_order_relaxed);
    if (total_ != nullptr)
      total_->add(text->size());
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

// `add(at)` queues lines of its own at log position `at`; they are queued
// and the idle flag claimed under the lock, so the writer either sees the
// lines or has not looked yet; the transport is woken after it (its wake
// takes a lock of its own).
template <class Add>
std::size_t outbox::push_with(Add&& add)
{
  std::size_t now = 0;
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (closing_)
      return 0;
    const std::uint64_t log_end = log_.end();
    add(stream_stop(log_end));
    wake = claim_idle();
    now = pending_locked(log_end);
  }
  if (wake)
    transport_.wake();
  return now;
}

std::size_t outbox::push(shared_text text)
{
  return push_with(
      [&](std::uint64_t at)
      {
        count_sent(text);
        queue(at, std::move(text), 0);
      });
}

// Every text is tagged with the same log position, so the walk passes them
// in a row: an event published meanwhile comes after the last of them.
std::size_t outbox::push_all(std::span<const shared_text> texts)
{
  return push_with(
      [&](std::uint64_t at)
      {
        entries_.reserve(std::max(entries_.size() + texts.size(), initial_capacity));
        for (const shared_text& text : texts)
        {
          count_sent(text);
          queue(at, text, 0);
        }
      });
}

// A close is news to the writer even when it is busy: a writer waiting for
// a socket that never drains must still learn that it has a deadline now.
bool outbox::close(close_reason why)
{
  {
    std::lock_guard lock(mutex_);
    if (!close_locked(why))
      return false;
    claim_idle();
  }
  transport_.wake();
  return true;
}

// The rest of the line the writer has partly written, in place: of its own
// line at the head, or of the log at its position. Empty between lines.
std::string_view outbox::line_rest(std::uint64_t log_end) const noexcept
{
  if (head_offset_ > 0)
  {
    std::string_view t(*entries_[head_].text);
    t.remove_prefix(head_offset_);
    const std::size_t lf = t.find('\n');
    return lf == std::string_view::npos ? t : t.substr(0, lf + 1);
  }
  const std::uint64_t at = pos();
  if (chunk_ == nullptr || at == chunk_->base() || *chunk_->at(at - 1) == '\n')
    return {};
  // A line never straddles two chunks and is published whole.
  const auto span = static_cast<std::size_t>(std::min(chunk_->limit(), log_end) - at);
  const char* from = chunk_->at(at);
  const void* lf = std::memchr(from, '\n', span);
  return {from, lf != nullptr ? static_cast<const char*>(lf) - from + 1 : span};
}

// A slow consumer's output is dropped but for the rest of a partly written
// line, which is copied: the outbox then holds no chunk of the log, and no
// entry but that copy. While a writer is writing (in_flight_), what it
// peeked stays until its written() call, which trims again.
void outbox::discard_locked(std::uint64_t log_end)
{
  const std::size_t before = pending_locked(log_end);
  std::size_t keep = head_; // entries kept
  shared_text copy;
  if (in_flight_ > 0)
  {
    cursor c{chunk_, pos(), head_, head_offset_};
    std::size_t left = in_flight_;
    walk(c, log_end,
         [&left](const char*, std::size_t n, bool)
         {
           const std::size_t t = std::min(n, left);
           left -= t;
           return t;
         });
    keep = c.entry + (c.offset > 0 ? 1 : 0);
    end_stream_at(c.pos);
    keep = std::min(keep, entries_.size()); // the ending may drop a trailing skip
    trim_ = true;
  }
  else
  {
    const std::string_view rest = line_rest(log_end);
    if (!rest.empty())
      copy = make_text(std::string(rest)); // before the chunk it is in goes
    end_stream_at(pos());
  }
  for (std::size_t i = keep; i < entries_.size(); ++i)
  {
    if (entries_[i].text)
      own_.store(own() - (entries_[i].text->size() - (i == head_ ? head_offset_ : 0)),
                 std::memory_order_relaxed);
    else
      skipped_ -= entries_[i].skip;
  }
  entries_.resize(keep);
  if (keep == head_)
    head_offset_ = 0;
  if (total_ != nullptr)
    total_->remove(before - pending_locked(log_end));
  if (copy)
    queue(pos(), std::move(copy), 0);
}

// Steps over the member's own events at the front of its log share: those
// with no octet still to send before them. Own lines queued before them keep
// their place (they are tagged with earlier positions), so the order of the
// output is unchanged. A passed skip at the head goes; one behind an own
// line is left with nothing to skip, and the next skip() reuses it, so a
// member that talks while its own lines wait holds one entry, not one per
// message.
void outbox::step_over_own() noexcept
{
  const std::uint64_t published = log_.end();
  std::uint64_t at = pos();
  for (std::size_t i = head_; i < entries_.size(); ++i)
  {
    entry& e = entries_[i];
    if (e.text)
      continue;
    if (e.skip > 0)
    {
      if (e.at != at || e.at + e.skip > published)
        break;
      at += e.skip;
      skipped_ -= e.skip;
      e.skip = 0;
    }
    if (i == head_)
      ++head_;
  }
  if (head_ == entries_.size())
  {
    std::vector<entry>().swap(entries_);
    head_ = 0;
  }
  if (at != pos())
  {
    pos_.store(at, std::memory_order_relaxed);
    move_on();
  }
}

bool outbox::close_locked(close_reason why)
{
  if (closing_)
    return false;
  closing_ = true;
  reason_ = why;
  const std::uint64_t log_end = log_.end();
  shared_text last = final_line(why);
  if (discards_output(why))
    discard_locked(log_end);
  else if (stream_open())
    end_stream_at(log_end);
  move_on();
  if (counters* c = counting())
  {
    if (why == close_reason::sendq_exceeded)
      c->sendq_drops.add();
    if (const auto code = final_reply(why))
      c->error_reply(static_cast<int>(*code));
  }
  if (last)
  {
    count_sent(last);
    queue(stream_stop(log_end), std::move(last), 0);
    final_queued_ = trim_; // the trim at written() keeps it
  }
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
      in_flight_ = bytes;
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
  own_.store(own() - own_done, std::memory_order_relaxed);
  commit(c);
  in_flight_ = 0;
  if (total_ != nullptr)
    total_->remove(n);
  if (trim_)
  {
    // Discarded while this write was under way: now only the rest of the
    // line is kept, and the final line queued after it.
    trim_ = false;
    shared_text last;
    if (final_queued_)
    {
      last = std::move(entries_.back().text);
      entries_.pop_back();
      own_.store(own() - last->size(), std::memory_order_relaxed);
      if (total_ != nullptr)
        total_->remove(last->size());
      final_queued_ = false;
    }
    discard_locked(log_end);
    if (last)
      queue(stream_stop(log_end), std::move(last), 0);
  }
  step_over_own();
  const std::size_t rest = pending_locked(log_end);
  if (rest > 0 || go_idle(log_end))
    return rest;
  return pending_locked(log_.end()); // the stream grew while we wrote
}

void outbox::open_stream()
{
  std::lock_guard lock(mutex_);
  chunk_ = log_.open_reader();
  pos_.store(log_.end(), std::memory_order_relaxed);
  end_ = open_end;
}

void outbox::close_stream()
{
  std::lock_guard lock(mutex_);
  if (!stream_open())
    return;
  end_stream_at(log_.end());
  move_on();
}

void outbox::skip(std::uint64_t at, std::size_t n)
{
  std::lock_guard lock(mutex_);
  skip_end_ = at + n;
  if (entries_.size() > head_ && !entries_.back().text)
  {
    // One entry for a run of own events: a passed one is reused, and one
    // that ends here grows.
    entry& last = entries_.back();
    if (last.skip == 0)
      last.at = at;
    if (last.at + last.skip == at)
    {
      last.skip += n;
      skipped_ += n;
      return;
    }
  }
  queue(at, nullptr, n);
}

// Lines of the member's own queued while its event was appended and not
// yet published (its session runs on another thread than a cluster node's
// reader) waited behind the event's skip: a writer that looked then found
// nothing to send and went idle, and the room wakes everyone but the
// member. So the member's writer is woken here when something is pending.
void outbox::settle()
{
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    step_over_own();
    if (skipped_ >= log_.chunk_size() && in_flight_ == 0)
      detach(log_.end());
    wake = pending_locked(log_.end()) > 0 && claim_idle();
  }
  if (wake)
    transport_.wake();
}

// A member that talks while a line of the log waits for it holds every chunk
// its own events went into since. Once that is a chunk's worth, what it
// still has to send from the log (with its own lines after it) is copied
// into one line of its own, and its place moves to the end of its stream:
// it holds the tail alone, and its own events cost nothing again until an
// unsent event holds it back once more. What is copied is what others sent
// it, once, so the copying stays within what delivery costs anyway.
void outbox::detach(std::uint64_t log_end)
{
  cursor c{chunk_, pos(), head_, head_offset_};
  std::string rest;
  bool copying = false;
  std::size_t from = entries_.size(); // the first entry copied
  walk(c, log_end,
       [&](const char* p, std::size_t n, bool own)
       {
         if (!own && !copying)
         {
           copying = true;
           from = c.entry;
         }
         if (copying)
           rest.append(p, n);
         return n;
       });
  // Own events before the first piece copied were passed: nothing to skip.
  for (std::size_t i = head_; i < std::min(from, c.entry); ++i)
  {
    skipped_ -= entries_[i].skip;
    entries_[i].skip = 0;
  }
  for (std::size_t i = from; i < entries_.size(); ++i)
  {
    if (entries_[i].text)
      own_.store(own() - entries_[i].text->size(), std::memory_order_relaxed);
    else
      skipped_ -= entries_[i].skip;
  }
  entries_.resize(std::min(from, entries_.size()));
  pos_.store(c.pos, std::memory_order_relaxed);
  move_on();
  if (rest.empty())
    return;
  if (total_ != nullptr)
    total_->remove(rest.size()); // queue() counts it again
  queue(c.pos, make_text(std::move(rest)), 0);
}

void outbox::held_range(const log_chunk*& first, const log_chunk*& last,
                        std::uint64_t& position) const
{
  std::lock_guard lock(mutex_);
  position = pos();
  first = chunk_;
  last = stream_open() ? log_.tail() : last_held();
}

std::size_t outbox::own_events_held() const
{
  std::lock_guard lock(mutex_);
  return skipped_;
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
  const std::uint64_t log_end = log_.end();
  const std::size_t pending = pending_locked(log_end);
  const std::size_t kept = in_flight_ > 0 ? in_flight_ : line_rest(log_end).size();
  return pending - std::min(kept, pending);
}

bool outbox::closing() const
{
  std::lock_guard lock(mutex_);
  return closing_;
}

outbox::status outbox::state() const
{
  std::lock_guard lock(mutex_);
  return {closing_, pending_locked(log_.end())};
}

bool outbox::finished() const
{
  std::lock_guard lock(mutex_);
  return closing_ && pending_locked(log_.end()) == 0;
}

close_reason outbox::reason() const
{
  std::lock_guard lock(mutex_);
  return reason_;
}

} // namespace natter::core
