#include "natter/core/room.hpp"

#include "natter/core/counters.hpp"
#include "natter/proto/ascii.hpp"
#include "natter/proto/reply.hpp"

#include <algorithm>
#include <random>

namespace natter::core
{

namespace
{

unsigned char fold(char c) noexcept
{
  return static_cast<unsigned char>(proto::ascii_lower(c));
}

// Builds an event line in this thread's scratch buffer (no allocation once
// it has grown); valid until the next call on the thread.
std::string_view event_line(std::string_view verb, std::string_view a, std::string_view b = {},
                            std::string_view c = {})
{
  thread_local std::string line;
  line.clear();
  proto::append_event(line, verb, a, b, c);
  return line;
}

// "CODE subject text" for a command the cluster refused, counted as queued
// where it is (its thread is one of the cluster node's).
shared_text refusal(proto::reply_code code, std::string_view subject)
{
  if (counters* c = counting())
    c->error_reply(static_cast<int>(code));
  return make_text(proto::reply_with_subject(code, subject));
}

const shared_text& end_of_history()
{
  static const shared_text line = []
  {
    std::string s;
    proto::append_reply(s, proto::reply_code::history,
                        proto::reply_text(proto::reply_code::history));
    return make_text(std::move(s));
  }();
  return line;
}

} // namespace

// 16 lower-case hex digits from the system's random source (N-MSG-6).
std::string random_epoch()
{
  std::random_device rd;
  const std::uint64_t v = (std::uint64_t{rd()} << 32) ^ rd();
  std::string out(16, '0');
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xF];
  return out;
}

room::room(const config& cfg)
    : config_(cfg), greeting_(make_text(greeting_line(cfg))),
      epoch_(cfg.epoch.empty() ? random_epoch() : cfg.epoch), wall_clock_(cfg.wall_clock),
      log_(cfg.log_chunk), history_(cfg.history)
{
}

wall_time room::wall_of(time_point now)
{
  if (wall_clock_)
    return wall_clock_(now);
  return wall_time(std::chrono::duration_cast<wall_time::duration>(now.time_since_epoch()));
}

bool room::nick_order::less(std::string_view a, std::string_view b) noexcept
{
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i)
    if (fold(a[i]) != fold(b[i]))
      return fold(a[i]) < fold(b[i]);
  return a.size() < b.size();
}

bool room::nick_order::operator()(const seat* a, const seat* b) const noexcept
{
  return less(a->nick_, b->nick_);
}

bool room::nick_order::operator()(const seat* a, std::string_view b) const noexcept
{
  return less(a->nick_, b);
}

bool room::nick_order::operator()(std::string_view a, const seat* b) const noexcept
{
  return less(a, b->nick_);
}

room::nick_result room::set_nick(seat& s, std::string_view nick, shared_text accepted)
{
  std::vector<seat*> over;
  nick_result result = nick_result::accepted;
  {
    std::lock_guard lock(mutex_);
    if (s.out_.closing())
      return nick_result::gone;
    if (s.in_room_ && s.nick_ == nick)
    {
      s.out_.push(std::move(accepted));
      return nick_result::unchanged;
    }
    if (link_ != nullptr)
    {
      // The cluster decides (N-CLU-5, N-CLU-6): the 200 waits for this
      // change's own entry in the log, or the answer says why not.
      if (!link_->connected())
        return nick_result::refused;
      s.cl_->held = std::move(accepted);
      s.cl_->asked.assign(nick);
      s.cl_->verb = "NICK";
      if (s.in_room_)
        link_->rename(s.cl_->id, s.nick_, nick);
      else
      {
        s.cl_->joining = true;
        link_->join(s.cl_->id, nick);
      }
      return nick_result::pending;
    }
    const auto it = members_.find(nick);
    if (it != members_.end() && *it != &s)
      return nick_result::in_use;
    s.out_.push(std::move(accepted));
    if (s.in_room_)
    {
      // A rename, possibly only of case: out of the set while the nick
      // (its key) changes. It is not told its own NICK.
      const std::string_view line = event_line("NICK", s.nick_, nick);
      members_.erase(&s);
      s.nick_.assign(nick);
      members_.insert(&s);
      deliver(line, &s, over);
    }
    else
      register_locked(s, nick, over);
    drop_overflowed(over);
  }
  return result;
}

// The others get the JOIN; the newcomer's stream starts after it. Called
// with the lock held.
void room::register_locked(seat& s, std::string_view nick, std::vector<seat*>& over)
{
  deliver(event_line("JOIN", nick), nullptr, over);
  s.nick_.assign(nick);
  s.in_room_ = true;
  s.joined_ = history_.newest(); // every later message reaches it live
  members_.insert(&s);
  s.out_.open_stream();
  s.reader_slot_ = static_cast<std::uint32_t>(readers_.size());
  readers_.push_back(&s);
}

cluster_link::taken room::message(seat& from, std::string_view text, time_point now)
{
  if (link_ != nullptr)
  {
    std::lock_guard lock(mutex_);
    // Delivered when it comes back from the log (N-CLU-2).
    if (!from.in_room_)
      return cluster_link::taken::yes;
    from.cl_->verb = "MSG";
    return link_->message(from.cl_->id, from.nick_, text);
  }
  // The line is built before the lock: only from's own thread writes its
  // nick (set_nick runs on it), so reading it here needs no lock.
  const std::string_view line = event_line("MSG", from.nick_, text);
  std::vector<seat*> over;
  std::lock_guard lock(mutex_);
  if (!from.in_room_)
    return cluster_link::taken::yes;
  // Id, time and HISTORY line are fixed here, once (N-MSG-7); the ids follow
  // the order of the log, which is the order of delivery (N-MSG-5).
  keep_history(history_.number(), wall_of(now), from.nick_, text);
  deliver(line, from.ids_ ? nullptr : &from, over);
  drop_overflowed(over);
  if (counters* c = counting())
    c->room_messages.add();
  return cluster_link::taken::yes;
}

// Keeps the HISTORY line of the message just numbered `id`. The line goes
// into the storage of the one it replaces: no allocation once the ring is
// full and no reply holds that line. Called with the lock held.
void room::keep_history(std::uint64_t id, wall_time at, std::string_view nick,
                        std::string_view text)
{
  if (history_.capacity() == 0)
    return;
  std::string& item = history_.line_for_newest();
  item.resize(proto::history_item_size(id, nick, text));
  proto::write_history_item(item.data(), id, times_, at, nick, text);
}

room::tell_result room::tell(seat& from, std::string_view nick, std::string_view text)
{
  std::string line;
  proto::append_event(line, "TELL", from.nick_, text);
  shared_text told = make_text(std::move(line));
  std::vector<seat*> over;
  std::lock_guard lock(mutex_);
  if (link_ != nullptr)
  {
    // Through the recipient's node (N-CLU-8): the answer says 434 or not.
    if (!link_->connected())
      return tell_result::refused;
    from.cl_->asked.assign(nick);
    from.cl_->verb = "TELL";
    link_->tell(from.cl_->id, from.nick_, nick, text);
    return tell_result::pending;
  }
  const auto it = members_.find(nick);
  if (it == members_.end())
    return tell_result::no_such_nick;
  seat& to = **it;
  // Like an event, it counts toward the recipient's limit and the total.
  if (to.out_.push(std::move(told)) > config_.max_sendq)
    over.push_back(&to);
  pick_total_victims(over);
  drop_overflowed(over);
  return tell_result::told;
}

std::size_t room::history(seat& s, history_request q)
{
  std::vector<message_history::lent> kept;
  {
    std::lock_guard lock(mutex_);
    // Only what the room accepted before s registered: it received every
    // later message live (N-HIST-5).
    const std::uint64_t upto = s.joined_;
    std::uint64_t after = 0;
    if (q.what == history_request::kind::last)
      after = upto > q.n ? upto - q.n : 0;
    else if (q.what == history_request::kind::after)
      after = q.n;
    kept.reserve(std::min<std::uint64_t>(upto - std::min(after, upto), history_.kept()));
    history_.select(after, upto, kept);
  }
  std::vector<shared_text> lines;
  lines.reserve(kept.size() + 1);
  for (message_history::lent& l : kept)
    lines.push_back(std::move(l).share());
  lines.push_back(end_of_history());
  return s.out_.push_all(lines);
}

std::size_t room::ids_on(seat& s)
{
  std::lock_guard lock(mutex_);
  std::string line(epoch_);
  // Under the lock, so the reply lands after exactly the messages up to
  // <newest> in s's output, and every later one of its own reaches it.
  s.ids_ = true;
  line += ' ';
  line += std::to_string(s.joined_);
  line += ' ';
  line += std::to_string(history_.newest());
  line += ' ';
  line += proto::reply_text(proto::reply_code::ids);
  std::string reply;
  proto::append_reply(reply, proto::reply_code::ids, line);
  return s.out_.push(make_text(std::move(reply)));
}

bool room::ping(seat& s, const shared_text& pong)
{
  if (link_ == nullptr)
    return false;
  std::lock_guard lock(mutex_);
  if (!link_->connected())
    return false; // the barrier of this node's own clients only (N-CLU-17)
  s.cl_->held = pong;
  s.cl_->verb = "PING";
  link_->barrier(s.cl_->id);
  return true;
}

std::string room::epoch() const
{
  std::lock_guard lock(mutex_);
  return epoch_;
}

std::uint64_t room::newest_id() const
{
  std::lock_guard lock(mutex_);
  return history_.newest();
}

void room::leave(seat& s, close_reason why, std::string_view words)
{
  std::vector<seat*> over;
  std::lock_guard lock(mutex_);
  s.out_.close(why);
  unlist(s);
  remove_locked(s, why == close_reason::quit ? words : describe(why), over);
  drop_overflowed(over);
}

void room::attach(seat& s)
{
  std::lock_guard lock(mutex_);
  if (link_ != nullptr)
  {
    s.cl_ = std::make_unique<seat::cluster_part>();
    s.cl_->id = ++next_id_;
    by_id_.emplace(s.cl_->id, &s);
  }
  s.prev_ = nullptr;
  s.next_ = seats_;
  if (seats_ != nullptr)
    seats_->prev_ = &s;
  seats_ = &s;
}

void room::detach(seat& s)
{
  std::lock_guard lock(mutex_);
  s.out_.close_stream(); // a session always leaves first; this keeps the count right if not
  unlist(s);
  if (link_ != nullptr)
    by_id_.erase(s.cl_->id);
  if (s.prev_ != nullptr)
    s.prev_->next_ = s.next_;
  else
    seats_ = s.next_;
  if (s.next_ != nullptr)
    s.next_->prev_ = s.prev_;
  s.prev_ = s.next_ = nullptr;
}

void room::shut_down_all()
{
  std::lock_guard lock(mutex_);
  for (seat* s = seats_; s != nullptr; s = s->next_)
  {
    s->out_.close(close_reason::shutting_down);
    unlist(*s);
  }
}

void room::enforce_total()
{
  if (total_sendq_.value() <= config_.max_total_sendq)
    return;
  std::vector<seat*> over;
  std::lock_guard lock(mutex_);
  pick_total_victims(over);
  drop_overflowed(over);
}

std::string room::who() const
{
  std::string out;
  std::lock_guard lock(mutex_);
  if (link_ != nullptr)
  {
    // The whole cluster, as this node has read the log (N-CLU-7).
    out.reserve(roster_.size() * 24 + 32);
    for (const std::string& nick : roster_)
      proto::append_reply(out, proto::reply_code::who, nick, true);
  }
  else
  {
    out.reserve(members_.size() * 24 + 32);
    for (const seat* member : members_)
      proto::append_reply(out, proto::reply_code::who, member->nick_, true);
  }
  std::string last = std::to_string(link_ != nullptr ? roster_.size() : members_.size());
  last += ' ';
  last += proto::reply_text(proto::reply_code::who);
  proto::append_reply(out, proto::reply_code::who, last);
  return out;
}

std::size_t room::size() const
{
  std::lock_guard lock(mutex_);
  return members_.size();
}

std::size_t room::history_kept() const
{
  std::lock_guard lock(mutex_);
  return history_.kept();
}

std::vector<std::size_t> room::pending_per_connection() const
{
  std::vector<std::size_t> out;
  std::lock_guard lock(mutex_);
  for (const seat* s = seats_; s != nullptr; s = s->next_)
    out.push_back(s->out_.bytes());
  return out;
}

// ---- a cluster ----

room::seat* room::local(client_id c) const
{
  const auto it = by_id_.find(c);
  return it == by_id_.end() ? nullptr : it->second;
}

// Queues `line` (if any) to `s` and tells its session that the answer it
// waits for came. Called with the lock held.
void room::release(seat& s, const shared_text& line)
{
  if (line)
    s.out_.push(line);
  s.cl_->held = {};
  s.answered_.store(true, std::memory_order_release);
  // After the flag: a writer busy with the line above may have looked at
  // the session already, so it is woken whatever it is doing.
  s.out_.wake_transport();
}

room::held_wakeups::held_wakeups(room& r) : room_(r)
{
  std::lock_guard lock(room_.mutex_);
  ++room_.holding_;
}

room::held_wakeups::~held_wakeups()
{
  std::lock_guard lock(room_.mutex_);
  if (--room_.holding_ > 0)
    return;
  for (seat* member : room_.readers_)
    member->out_.notify();
}

void room::apply_join(bool mine, client_id c, std::string_view nick)
{
  std::vector<seat*> over;
  std::lock_guard lock(mutex_);
  list_in_roster(nick);
  seat* s = mine ? local(c) : nullptr;
  lose_to_later_holder(nick, s);
  if (s != nullptr && s->cl_->joining && !s->out_.closing())
  {
    s->cl_->joining = false;
    s->out_.push(std::move(s->cl_->held)); // 200 before anything else (N-CLU-5)
    register_locked(*s, nick, over);
    release(*s, {});
  }
  else // a newcomer elsewhere, or this node's client registered again (N-CLU-14)
    deliver(event_line("JOIN", nick), s != nullptr && s->in_room_ ? s : nullptr, over);
  drop_overflowed(over);
}

void room::apply_nick(bool mine, client_id c, std::string_view old_nick, std::string_view nick)
{
  std::vector<seat*> over;
  std::lock_guard lock(mutex_);
  if (const auto it = roster_.find(old_nick); it != roster_.end())
    roster_.erase(it);
  list_in_roster(nick);
  seat* s = mine ? local(c) : nullptr;
  lose_to_later_holder(nick, s);
  const std::string_view line = event_line("NICK", old_nick, nick);
  if (s != nullptr && s->in_room_)
  {
    members_.erase(s);
    s->nick_.assign(nick);
    members_.insert(s);
    deliver(line, s, over);
    release(*s, s->cl_->held);
  }
  else
    deliver(line, nullptr, over);
  drop_overflowed(over);
}

void room::apply_message(bool mine, client_id c, std::string_view nick, std::string_view text,
                         std::uint64_t id, wall_time at)
{
  std::vector<seat*> over;
  const std::string_view line = event_line("MSG", nick, text);
  std::lock_guard lock(mutex_);
  history_.number_as(id);
  keep_history(id, at, nick, text);
  seat* from = mine ? local(c) : nullptr;
  deliver(line, from != nullptr && from->in_room_ && !from->ids_ ? from : nullptr, over);
  drop_overflowed(over);
  // Each node counts its own clients' messages, as a single server does
  // (message()): the nodes' counts add up to the cluster's.
  if (counters* k = counting(); k != nullptr && mine)
    k->room_messages.add();
}

void room::apply_quit(std::string_view nick, std::string_view reason)
{
  std::vector<seat*> over;
  const std::string_view line = event_line("QUIT", nick, reason);
  std::lock_guard lock(mutex_);
  if (const auto it = roster_.find(nick); it != roster_.end())
    roster_.erase(it);
  // A client of this node still here (its node was declared lost) is not
  // told its own QUIT.
  const auto member = members_.find(nick);
  deliver(line, member != members_.end() ? *member : nullptr, over);
  drop_overflowed(over);
}

void room::apply_tell(client_id c, std::string_view from, std::string_view text)
{
  std::string line;
  proto::append_event(line, "TELL", from, text);
  shared_text told = make_text(std::move(line));
  std::vector<seat*> over;
  std::lock_guard lock(mutex_);
  seat* to = local(c);
  if (to == nullptr || !to->in_room_)
    return; // it left meanwhile: dropped with its connection (N-CLU-8)
  if (to->out_.push(std::move(told)) > config_.max_sendq)
    over.push_back(to);
  pick_total_victims(over);
  drop_overflowed(over);
}

void room::apply_gap(std::string_view epoch, std::uint64_t newest)
{
  std::vector<seat*> over;
  std::string line;
  proto::append_event(line, "GAP", epoch, std::to_string(newest));
  std::lock_guard lock(mutex_);
  epoch_.assign(epoch);
  history_.restart_after(newest);
  deliver(line, nullptr, over);
  drop_overflowed(over);
}

void room::answer(client_id c, cluster_answer a)
{
  std::lock_guard lock(mutex_);
  seat* s = local(c);
  if (s == nullptr)
    return;
  switch (a)
  {
  case cluster_answer::done: release(*s, s->cl_->held); return;
  case cluster_answer::gone: s->cl_->joining = false; return release(*s, {});
  case cluster_answer::in_use:
    s->cl_->joining = false;
    return release(*s, refusal(proto::reply_code::nick_in_use, s->cl_->asked));
  case cluster_answer::no_such_nick:
    return release(*s, refusal(proto::reply_code::no_such_nick, s->cl_->asked));
  case cluster_answer::try_again:
    s->cl_->joining = false;
    return release(*s, refusal(proto::reply_code::try_again, s->cl_->verb));
  }
}

std::vector<std::pair<client_id, std::string>> room::local_members() const
{
  std::lock_guard lock(mutex_);
  std::vector<std::pair<client_id, std::string>> out;
  out.reserve(members_.size());
  for (const seat* s : members_)
    out.emplace_back(s->cl_->id, s->nick_);
  return out;
}

void room::lose(client_id c)
{
  std::lock_guard lock(mutex_);
  if (seat* s = local(c))
    lose_locked(*s);
}

void room::lose_locked(seat& s)
{
  s.out_.close(close_reason::nick_lost);
  unlist(s);
  if (s.in_room_)
  {
    // Another client holds the nick in the cluster: this one is gone from
    // the room's list already, and no QUIT of it may remove the other.
    s.in_room_ = false;
    members_.erase(&s);
    s.out_.close_stream();
    unlist(s);
  }
}

// The cluster's list holds each nick as its newest holder spells it.
void room::list_in_roster(std::string_view nick)
{
  if (const auto it = roster_.find(nick); it != roster_.end())
    roster_.erase(it);
  roster_.emplace(nick);
}

// The log gives `nick` to a client other than `taker`: a member of this node
// still holding it lost it (N-CLU-16). That happens only after Redis forgot
// the member's lease (a failover); the later entry wins, on every node.
void room::lose_to_later_holder(std::string_view nick, const seat* taker)
{
  if (const auto it = members_.find(nick); it != members_.end() && *it != taker)
    lose_locked(**it);
}

void room::set_roster(const std::vector<std::string>& nicks)
{
  std::lock_guard lock(mutex_);
  roster_.clear();
  roster_.insert(nicks.begin(), nicks.end());
}

// Appends `line` to the log for every member receiving events but
// `except`, and collects those it takes past their send queue limit. The
// line is written once; each member's share is counted in the total with
// one addition, and a member is touched only to wake its writer if it is
// idle. Called with the lock held.
void room::deliver(std::string_view line, seat* except, std::vector<seat*>& over)
{
  const std::uint64_t at = log_.append(line);
  std::size_t receivers = readers_.size();
  const bool skipping = except != nullptr && except->out_.stream_open();
  if (skipping)
  {
    except->out_.skip(at, line.size());
    --receivers;
  }
  total_sendq_.add(line.size() * receivers);
  if (counters* c = counting())
    c->lines_sent.add(receivers);
  log_.publish();
  if (skipping)
    except->out_.settle(); // a member that only talks keeps no old chunk
  const std::uint64_t end = log_.end();
  const bool wake = holding_ == 0; // else the last held_wakeups wakes them
  for (seat* member : readers_)
  {
    if (member == except)
      continue;
    // The bound needs no lock; only a member near its limit pays for one.
    if (member->out_.pending_bound(end) > config_.max_sendq &&
        member->out_.bytes() > config_.max_sendq)
      over.push_back(member);
    if (wake)
      member->out_.notify();
  }
  pick_total_victims(over);
}

// Over the server-wide cap: the largest queues go first, so one slow reader
// cannot make the server drop everybody else. Only what a drop frees at once
// counts: bytes already handed to a writer, and queues already closing, are
// gone soon whatever happens, and counting them would drop healthy clients
// one after another. Unregistered sessions are candidates too. Called with
// the lock held.
void room::pick_total_victims(std::vector<seat*>& over)
{
  if (total_sendq_.value() <= config_.max_total_sendq)
    return;
  std::vector<std::pair<std::size_t, seat*>> sizes;
  std::size_t droppable = 0;
  for (seat* s = seats_; s != nullptr; s = s->next_)
  {
    if (s->out_.closing())
      continue;
    const std::size_t n = s->out_.untaken();
    droppable += n;
    sizes.emplace_back(n, s);
  }
  std::sort(sizes.begin(), sizes.end(), std::greater<>());
  for (const auto& [bytes, s] : sizes)
  {
    if (droppable <= config_.max_total_sendq || bytes == 0)
      break;
    over.push_back(s);
    droppable -= bytes;
  }
}

// Drops every session in `over` with 524; their QUIT events may push others
// over, so this runs until no new one appears. Called with the lock held.
void room::drop_overflowed(std::vector<seat*>& over)
{
  while (!over.empty())
  {
    seat* s = over.back();
    over.pop_back();
    // Closing an outbox twice changes nothing; the first reason stays.
    s->out_.close(close_reason::sendq_exceeded);
    unlist(*s);
    remove_locked(*s, describe(close_reason::sendq_exceeded), over);
  }
}

// Takes `s` off the list of readers once its stream has ended (any close of
// its outbox ends it). Called with the lock held.
void room::unlist(seat& s)
{
  if (s.reader_slot_ == seat::no_slot || s.out_.stream_open())
    return;
  seat* last = readers_.back();
  readers_[s.reader_slot_] = last;
  last->reader_slot_ = s.reader_slot_;
  readers_.pop_back();
  s.reader_slot_ = seat::no_slot;
}

void room::remove_locked(seat& s, std::string_view reason, std::vector<seat*>& over)
{
  if (link_ != nullptr && (s.in_room_ || s.cl_->joining))
  {
    // Its QUIT reaches the others from the log (N-CLU-11), also when its
    // JOIN or a rename is still on the way there: the cluster removes
    // whichever nick it holds by then.
    link_->quit(s.cl_->id, s.in_room_ ? std::string_view(s.nick_) : std::string_view(s.cl_->asked),
                s.cl_->asked, reason);
    s.cl_->joining = false;
  }
  if (!s.in_room_)
    return;
  s.in_room_ = false;
  members_.erase(&s);
  s.out_.close_stream(); // not told its own QUIT
  unlist(s);
  if (link_ == nullptr)
    deliver(event_line("QUIT", s.nick_, reason), nullptr, over);
}

} // namespace natter::core
