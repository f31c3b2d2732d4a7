#include "natter/server/worker.hpp"

#include "natter/server/chat_connection.hpp"

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
  {
    std::lock_guard lock(mutex_);
    flushing_.swap(dirty_);
  }
  // Connections marked while this runs (a write that resumes a paused
  // reader, which broadcasts) go to the new list and the next flush.
  for (const auto& c : flushing_)
    c->flush();
  flushing_.clear();
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
