#include "natter/core/connection.hpp"

#include <algorithm>

namespace natter::core
{

void connection::received(std::string_view data, time_point now)
{
  due_ = true;
  if (ended_ || lingering_)
    return; // the final line is out: input is only drained until the peer closes
  session_.receive(data, now);
}

void connection::end_of_input(time_point now)
{
  due_ = true;
  if (ended_)
    return;
  if (lingering_)
    return end(false, close_reason::peer_closed);
  session_.end_of_input(now);
}

void connection::failed()
{
  due_ = true;
  if (!ended_)
    end(false, close_reason::failed);
}

// The session's own reason (quit, a 5xx, dropped) wins over ours.
void connection::end(bool reset, close_reason why)
{
  ended_ = true;
  reset_ = reset;
  if (session_.output().reason() == close_reason::none)
    reason_ = why;
  session_.on_closed(); // leaves the room (QUIT <nick> connection closed) unless it left
}

void connection::timer_fired(time_point now)
{
  due_ = true;
  if (ended_)
    return;
  if (now >= close_by_)
  {
    // After the linger, an ordinary close: the final line went out. Before
    // it, output is still queued that will not be read in time: a reset,
    // or the kernel would go on holding it for a client whose window stays
    // shut (spec N-SLOW-6).
    if (lingering_)
      return end(false, close_reason::none);
    return end(true, close_reason::flush_deadline);
  }
  session_.on_timer(now);
  if (session_.next_wait() == session::wait::rate && now >= session_.resume_at())
    session_.resume(now);
}

std::size_t connection::peek(std::span<piece> out, std::size_t max_bytes)
{
  if (ended_ || lingering_)
    return 0;
  return session_.output().peek(out, max_bytes);
}

connection::next connection::step(time_point now)
{
  next n;
  due_ = false;
  if (close_told_)
    return n;
  if (ended_)
  {
    n.close = true;
    n.reset = reset_;
    close_told_ = true;
    return n;
  }
  if (session_.answer_came())
    session_.resume(now); // a cluster's answer: the session goes on
  const outbox::status out = session_.output().state();
  // A closing connection (QUIT, 5xx, dropped by another client's broadcast)
  // gets a hard deadline to flush, even while a write is stuck.
  if (out.closing && close_by_ == time_point::max())
    close_by_ = now + flush_deadline;
  if (!lingering_ && out.closing && out.bytes == 0)
  {
    // The final line is written: shut down our side and drain input briefly.
    lingering_ = true;
    close_by_ = std::min(close_by_, now + linger_time);
  }
  if (lingering_ && !shutdown_told_)
  {
    n.shutdown_send = true;
    shutdown_told_ = true;
  }
  const session::wait w = session_.next_wait();
  n.read = lingering_ || w == session::wait::input;
  n.hold = !n.read && (w == session::wait::output || w == session::wait::cluster);
  n.wake_at = std::min(session_.deadline(), close_by_);
  if (!lingering_ && w == session::wait::rate)
    n.wake_at = std::min(n.wake_at, session_.resume_at());
  return n;
}

} // namespace natter::core
