#include "natter/server/worker.hpp"

#include "natter/server/chat_connection.hpp"

#include <algorithm>

namespace natter::server
{

worker::worker() : work_(asio::make_work_guard(io_)) {}

// The connections still marked go before the io_context: their sockets and
// timers belong to it.
worker::~worker()
{
  flushing_.clear();
  dirty_.clear();
}

void worker::defer_write(std::shared_ptr<chat_connection> c)
{
  bool first = false;
  {
    std::lock_guard lock(mutex_);
    first = dirty_.empty();
    dirty_.push_back(std::move(c));
  }
  if (first)
    asio::post(io_, [this] { flush(); });
}

void worker::flush()
{
  if (flushing_.empty()) // else a round is under way: go on with it
  {
    std::lock_guard lock(mutex_);
    flushing_.swap(dirty_);
  }
  // A slice at a time, then the reads that became ready meanwhile: a line
  // read now joins the writes of the connections not yet written in this
  // round (they write the room's log up to its end), instead of waiting for
  // the whole round. Connections marked while this runs go to the next
  // round.
  const std::size_t stop = std::min(flushing_.size(), next_ + flush_slice);
  for (; next_ < stop; ++next_)
    flushing_[next_]->flush();
  if (next_ < flushing_.size())
    asio::post(io_, [this] { flush(); });
  else
  {
    flushing_.clear();
    next_ = 0;
  }
}

void worker::run()
{
  io_.run();
}

void worker::stop()
{
  work_.reset();
  io_.stop();
}

} // namespace natter::server
