#include "natter/cluster/node.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <optional>
#include <random>

namespace natter::cluster
{

namespace
{

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

constexpr std::size_t batch_max = 512;  // calls pipelined in one round trip
constexpr std::size_t read_count = 512; // entries per XREAD and stream
constexpr auto first_retry = 100ms;     // backoff after a failure, doubling
constexpr auto last_retry = 1000ms;     // ...to at most a second (N-CLU-21)

core::client_id client_of(std::string_view s) noexcept
{
  core::client_id c = 0;
  std::from_chars(s.data(), s.data() + s.size(), c);
  return c;
}

bool is_lost(std::string_view error) noexcept
{
  return error.starts_with("NATTERLOST");
}

} // namespace

node::node(settings s, core::room& room)
    : settings_(std::move(s)), store_(settings_.id), room_(room)
{
}

node::~node()
{
  stop(0ms);
}

void node::start()
{
  const auto begin = [this](std::size_t i)
  {
    if (settings_.on_thread)
      settings_.on_thread(i);
  };
  writer_ = std::thread(
      [this, begin]
      {
        begin(0);
        writer_loop();
      });
  reader_ = std::thread(
      [this, begin]
      {
        begin(1);
        reader_loop();
      });
}

bool node::wait_joined(std::chrono::milliseconds limit)
{
  std::unique_lock lock(mutex_);
  return joined_cv_.wait_for(lock, limit, [this] { return joined_; });
}

void node::stop(std::chrono::milliseconds limit)
{
  {
    std::unique_lock lock(mutex_);
    // The departures queued by the shutdown go out first, for a while.
    wake_writer_.notify_all();
    joined_cv_.wait_for(lock, limit, [this] { return queue_.empty() || !connected(); });
    stopping_ = true;
  }
  wake_writer_.notify_all();
  joined_cv_.notify_all();
  if (writer_.joinable())
    writer_.join();
  if (reader_.joinable())
    reader_.join();
}

// Redis answered the writer: a node that was cut off after it joined is
// back (whichever of its threads found it cut off); counted once.
void node::got_through()
{
  if (connected_.exchange(true))
    return;
  std::lock_guard lock(mutex_);
  if (joined_)
    ++counts_.reconnects;
}

node::counts node::stats() const
{
  std::lock_guard lock(mutex_);
  counts c = counts_;
  c.backlog = queued_messages_;
  c.connected = connected();
  return c;
}

void node::note(bool warning, const std::string& what)
{
  if (settings_.log)
    settings_.log(warning, what);
}

void node::backoff(std::chrono::milliseconds& delay)
{
  std::unique_lock lock(mutex_);
  wake_writer_.wait_for(lock, delay, [this] { return stopping_.load(); });
  delay = std::min(delay * 2, std::chrono::milliseconds(last_retry));
}

// ---- the room's calls (under the room's lock: queue them, nothing more) ----

void node::enqueue(request r)
{
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(r));
  }
  wake_writer_.notify_one();
}

void node::join(core::client_id c, std::string_view nick)
{
  enqueue({kind::join, c, 0, std::string(nick), {}, {}});
}

void node::rename(core::client_id c, std::string_view old_nick, std::string_view nick)
{
  enqueue({kind::rename, c, 0, std::string(old_nick), std::string(nick), {}});
}

// The backlog bounds what the node holds for Redis (N-CLU-18). While Redis
// answers, a message past it is taken and its sender waits until there is
// room: a burst is slowed like flood control slows it, and the node holds
// at most the backlog plus one message per client. Cut off, it is refused.
core::cluster_link::taken node::message(core::client_id c, std::string_view nick,
                                        std::string_view text)
{
  taken t = taken::yes;
  {
    std::lock_guard lock(mutex_);
    if (queued_messages_ >= settings_.backlog)
    {
      if (!connected())
      {
        ++counts_.refused;
        return taken::refused;
      }
      slowed_.push_back(c);
      t = taken::wait;
    }
    ++queued_messages_;
    queue_.push_back({kind::message, c, 0, std::string(nick), std::string(text), {}});
  }
  wake_writer_.notify_one();
  return t;
}

void node::quit(core::client_id c, std::string_view nick, std::string_view or_nick,
                std::string_view reason)
{
  enqueue({kind::quit, c, 0, std::string(nick), std::string(or_nick), std::string(reason)});
}

void node::tell(core::client_id c, std::string_view from, std::string_view to,
                std::string_view text)
{
  enqueue({kind::tell, c, 0, std::string(from), std::string(to), std::string(text)});
}

void node::barrier(core::client_id c)
{
  enqueue({kind::barrier, c, 0, {}, {}, {}});
}

// ---- the writer ----

void node::writer_loop()
{
  std::unique_ptr<redis> conn;
  std::deque<request> inflight; // sent and not answered: retried first, in order
  auto delay = std::chrono::milliseconds(first_retry);
  auto next_beat = clock::now();
  const auto beat_every = settings_.id.lease / 3;
  for (;;)
  {
    {
      std::lock_guard lock(mutex_);
      if (stopping_ && (queue_.empty() || !conn))
        break;
    }
    try
    {
      if (!conn && !writer_connect(conn))
      {
        backoff(delay);
        continue;
      }
      delay = first_retry;
      // A beat when due, and at once when the reader found Redis gone: it
      // tells whether the node is cut off.
      if (clock::now() >= next_beat || !connected())
      {
        beat(*conn);
        got_through();
        next_beat = clock::now() + beat_every;
      }
      {
        std::unique_lock lock(mutex_);
        if (inflight.empty())
          wake_writer_.wait_until(lock, next_beat,
                                  [this]
                                  { return !queue_.empty() || stopping_.load() || !connected(); });
        while (!queue_.empty() && inflight.size() < batch_max)
        {
          inflight.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      if (!inflight.empty())
      {
        send_batch(*conn, inflight);
        got_through();
      }
      joined_cv_.notify_all(); // stop() waits for the queue to drain
    }
    catch (const redis_io_error& e)
    {
      conn.reset();
      connected_ = false;
      joined_cv_.notify_all();
      note(true, std::string("cluster: Redis at ") + settings_.where.shown() +
                     " unreachable, retrying: " + e.what());
      backoff(delay);
    }
    catch (const redis_error& e)
    {
      if (!is_lost(e.what()))
        note(true, std::string("cluster: ") + e.what());
      // This run's place was lost (expired while cut off, or Redis lost its
      // data): register again, then retry what is in flight.
      try
      {
        if (conn)
        {
          (void)store_.hello(*conn, core::random_epoch());
          register_clients(*conn);
        }
      }
      catch (const redis_io_error&)
      {
        conn.reset();
        connected_ = false;
      }
      catch (const redis_error& again)
      {
        note(true, std::string("cluster: ") + again.what());
        backoff(delay);
      }
    }
  }
  // Stopped: what was not sent is answered, so no session waits for ever.
  std::deque<request> left;
  std::vector<core::client_id> slowed;
  {
    std::lock_guard lock(mutex_);
    left.swap(queue_);
    slowed.swap(slowed_);
  }
  for (core::client_id c : slowed)
    room_.answer(c, core::cluster_answer::done);
  for (auto* q : {&inflight, &left})
    for (const request& r : *q)
      if (r.what == kind::join || r.what == kind::rename || r.what == kind::tell ||
          r.what == kind::barrier)
        room_.answer(r.client, core::cluster_answer::try_again);
}

// Connects, loads the functions and registers the node; the first time, it
// also reads the room's list, its recent messages and where the reader
// starts. Returns false when Redis cannot be reached (logged).
bool node::writer_connect(std::unique_ptr<redis>& conn)
{
  try
  {
    conn = std::make_unique<redis>(settings_.where, settings_.timeout);
    store::load_functions(*conn);
    const store::hello_result h = store_.hello(*conn, core::random_epoch());
    bool first = false;
    {
      std::lock_guard lock(mutex_);
      first = !joined_;
    }
    if (first)
    {
      const store::room_view view = store_.room(*conn);
      std::vector<std::string> nicks;
      for (const auto& m : view.members)
        nicks.push_back(m.nick);
      room_.set_roster(nicks);
      // The room's recent messages, for HISTORY (N-CLU-4): those up to
      // where the reader starts.
      const std::size_t want = room_.settings().history;
      if (want > 0)
        for (const log_entry& e : store_.tail(*conn, std::min<std::size_t>(want * 8 + 64, 100000)))
          if (e.type == 'M' && !id_less(view.log_id, e.id))
            room_.apply_message(false, 0, e.nick, e.text, e.msg_id,
                                core::wall_time(std::chrono::milliseconds(e.millis())));
      const auto [log_tip, inbox_tip] = store_.tip(*conn);
      std::lock_guard lock(mutex_);
      epoch_ = view.epoch;
      log_cursor_ = view.log_id;
      inbox_cursor_ = inbox_tip;
      last_number_ = view.events;
      cursor_set_ = true;
      joined_ = true;
    }
    else if (h.status != store::hello_result::kind::same)
      register_clients(*conn);
    if (first)
      connected_ = true;
    else
      got_through();
    joined_cv_.notify_all();
    if (first && joined_hook_)
      joined_hook_();
    note(false, std::string("cluster: joined through ") + settings_.where.shown() + " as node " +
                    settings_.id.node);
    return true;
  }
  catch (const redis_io_error& e)
  {
    conn.reset();
    note(true, std::string("cluster: cannot reach Redis at ") + settings_.where.shown() +
                   ", retrying: " + e.what());
  }
  catch (const redis_error& e)
  {
    conn.reset();
    note(true, std::string("cluster: Redis at ") + settings_.where.shown() +
                   " refused the node, retrying: " + e.what());
  }
  return false;
}

// This node's clients are registered again, each under its nick (N-CLU-14);
// one whose nick another client took meanwhile is closed with 525 (N-CLU-15).
void node::register_clients(redis& conn)
{
  for (const auto& [id, nick] : room_.local_members())
    if (store::call(conn, store_.join(++next_seq_, client_name(id), nick)) == outcome::in_use)
      room_.lose(id);
}

void node::beat(redis& conn)
{
  const store::beat_result b = store_.beat(conn);
  if (b.lost)
  {
    note(true, "cluster: this node's place was lost; registering its clients again");
    (void)store_.hello(conn, core::random_epoch());
    register_clients(conn);
  }
  if (b.taken.empty())
    return;
  // Leases that name another client now (N-CLU-16).
  for (const auto& [id, nick] : room_.local_members())
    for (const std::string& f : b.taken)
      if (folded(nick) == f)
        room_.lose(id);
}

void node::send_batch(redis& conn, std::deque<request>& batch)
{
  for (request& r : batch)
  {
    if (r.seq == 0 && r.what != kind::barrier)
      r.seq = ++next_seq_;
    const std::string c = client_name(r.client);
    std::vector<std::string> argv;
    switch (r.what)
    {
    case kind::join: argv = store_.join(r.seq, c, r.a); break;
    case kind::rename: argv = store_.rename(r.seq, c, r.a, r.b); break;
    case kind::message: argv = store_.message(r.seq, c, r.a, r.b); break;
    case kind::quit: argv = store_.quit(r.seq, c, r.a, r.b, r.c); break;
    case kind::tell: argv = store_.tell(r.seq, r.a, r.b, r.c); break;
    case kind::barrier:
      argv = {"FCALL", "natter_tip", "0", settings_.id.prefix, settings_.id.node};
      break;
    }
    const std::vector<std::string_view> v(argv.begin(), argv.end());
    conn.append(v);
  }
  std::vector<reply> replies;
  replies.reserve(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i)
    replies.push_back(conn.read()); // a lost connection throws: all is retried
  // Answered, in order; a lost place stops at the first call it refused,
  // which is retried with the rest once the node registered again.
  std::size_t done = 0;
  for (; done < batch.size(); ++done)
  {
    if (replies[done].is_error() && is_lost(replies[done].str()))
      break;
    answer(batch[done], replies[done]);
  }
  const bool lost = done < batch.size();
  const std::string why = lost ? std::string(replies[done].str()) : std::string();
  batch.erase(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(done));
  if (lost)
    throw redis_error(why);
}

void node::answer(const request& r, const reply& rep)
{
  if (r.what == kind::message)
  {
    std::vector<core::client_id> go_on;
    {
      std::lock_guard lock(mutex_);
      --queued_messages_;
      if (queued_messages_ < settings_.backlog)
        go_on.swap(slowed_);
    }
    for (core::client_id c : go_on)
      room_.answer(c, core::cluster_answer::done);
  }
  if (r.what == kind::barrier)
  {
    {
      std::lock_guard lock(mutex_);
      barriers_.push_back({r.client, std::string(rep[0].str()), std::string(rep[1].str())});
    }
    return release_barriers();
  }
  outcome o = outcome::ok;
  try
  {
    o = store::outcome_of(rep);
  }
  catch (const redis_error& e)
  {
    note(true, std::string("cluster: ") + e.what());
    if (r.what != kind::message && r.what != kind::quit)
      room_.answer(r.client, core::cluster_answer::try_again);
    return;
  }
  switch (r.what)
  {
  case kind::join:
  case kind::rename:
    // An accepted one is answered by its own entry in the log (N-CLU-5).
    if (o == outcome::in_use)
      room_.answer(r.client, core::cluster_answer::in_use);
    else if (o == outcome::gone)
      room_.answer(r.client, core::cluster_answer::gone);
    break;
  case kind::tell:
    room_.answer(r.client, o == outcome::none ? core::cluster_answer::no_such_nick
                                              : core::cluster_answer::done);
    break;
  default: break;
  }
}

// ---- the reader ----

void node::reader_loop()
{
  {
    std::unique_lock lock(mutex_);
    joined_cv_.wait(lock, [this] { return cursor_set_ || stopping_.load(); });
  }
  std::unique_ptr<redis> conn;
  auto delay = std::chrono::milliseconds(first_retry);
  while (!stopping_)
  {
    try
    {
      if (!conn)
      {
        conn = std::make_unique<redis>(settings_.where, settings_.block + settings_.timeout);
        // Redis restarted empty: a new epoch, once a node said hello to it.
        const store::room_view view = store_.room(*conn);
        if (view.epoch.empty())
          throw redis_error("Redis has no room yet"); // the writer's hello gives it one
        bool changed = false;
        {
          std::lock_guard lock(mutex_);
          if (view.epoch != epoch_)
          {
            changed = true;
            epoch_ = view.epoch;
            log_cursor_ = "0-0";
            inbox_cursor_ = "0-0";
            last_number_ = 0;
            ++counts_.gaps;
          }
        }
        if (changed)
        {
          note(true, "cluster: Redis lost the room's log; new epoch " + view.epoch);
          std::vector<std::string> nicks;
          for (const auto& m : view.members)
            nicks.push_back(m.nick);
          room_.set_roster(nicks);
          room_.apply_gap(view.epoch, 0);
        }
      }
      delay = first_retry;
      std::string from_log;
      std::string from_inbox;
      {
        std::lock_guard lock(mutex_);
        from_log = log_cursor_;
        from_inbox = inbox_cursor_;
      }
      deliver(store_.read(*conn, from_log, from_inbox, read_count, settings_.block));
    }
    catch (const std::runtime_error& e)
    {
      // Lost (N-CLU-20): the node is cut off until the writer gets through.
      conn.reset();
      connected_ = false;
      wake_writer_.notify_all();
      note(true, std::string("cluster: reading the log: ") + e.what());
      backoff(delay);
    }
  }
}

// Only the reader changes the cursors and the epoch: it takes them once
// and gives them back once, so the other threads see a whole read applied.
void node::deliver(const read_result& got)
{
  std::uint64_t last = 0;
  std::string epoch;
  {
    std::lock_guard lock(mutex_);
    last = last_number_;
    epoch = epoch_;
  }
  std::uint64_t gaps = 0;
  // Log entries go to every member; a TELL wakes only its recipient itself.
  std::optional<core::room::held_wakeups> held;
  if (got.log.size() > 1)
    held.emplace(room_);
  for (const log_entry& e : got.log)
  {
    if (e.number != last + 1)
    {
      // Entries this node had not read were dropped (N-CLU-23).
      const std::uint64_t newest = e.type == 'M' ? e.newest - 1 : e.newest;
      ++gaps;
      note(true, "cluster: " + std::to_string(e.number - last - 1) +
                     " log entries were dropped before this node read them");
      room_.apply_gap(epoch, newest);
    }
    const bool mine = e.node == settings_.id.node;
    const core::client_id c = mine ? client_of(e.client) : 0;
    switch (e.type)
    {
    case 'J': room_.apply_join(mine, c, e.nick); break;
    case 'N': room_.apply_nick(mine, c, e.old, e.nick); break;
    case 'M':
      room_.apply_message(mine, c, e.nick, e.text, e.msg_id,
                          core::wall_time(std::chrono::milliseconds(e.millis())));
      break;
    case 'Q': room_.apply_quit(e.nick, e.text); break;
    default: break; // an entry of a later version
    }
    last = e.number;
  }
  for (const inbox_entry& t : got.inbox)
    room_.apply_tell(client_of(t.client), t.from, t.text);
  held.reset(); // every member's writer woken once for the whole read
  {
    std::lock_guard lock(mutex_);
    last_number_ = last;
    counts_.gaps += gaps;
    counts_.entries += got.log.size();
    if (!got.log.empty())
    {
      log_cursor_ = got.log.back().id;
      // Redis's clock against this node's: on one host, the read's delay.
      const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch());
      const auto then = static_cast<std::int64_t>(got.log.back().millis());
      counts_.lag_ms = static_cast<std::uint64_t>(std::max<std::int64_t>(0, now.count() - then));
    }
    if (!got.inbox.empty())
      inbox_cursor_ = got.inbox.back().id;
  }
  release_barriers();
}

// Answers every PING whose barrier the reader has passed (N-CLU-9).
void node::release_barriers()
{
  std::vector<core::client_id> done;
  {
    std::lock_guard lock(mutex_);
    std::erase_if(barriers_,
                  [&](const waiting& w)
                  {
                    if (id_less(log_cursor_, w.log_tip) || id_less(inbox_cursor_, w.inbox_tip))
                      return false;
                    done.push_back(w.client);
                    return true;
                  });
  }
  for (core::client_id c : done)
    room_.answer(c, core::cluster_answer::done);
}

} // namespace natter::cluster
