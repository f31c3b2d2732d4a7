// The simulated clients of fuzz_session: each drives a core::connection,
// the very state machine natterd's connections run, with virtual time and a
// simulated socket, and reads what it sends the way a client would. A
// client that does not read still has a writer, which finds its socket
// full: it peeks and writes nothing, as natterd's does.
//
// The room's messages are checked against what really happened: every call
// into one connection can only make the room accept that client's own
// messages, so the harness knows who sent each id (and where each client
// registered) from the room's newest id before and after the call; a
// witness, registered before anything else and always reading, numbers
// every MSG it receives and so holds each id's line. Every other client's
// live MSG events, numbered by counting from where it registered (its own
// skipped until its IDS), and its HISTORY lines must be those lines.
#ifndef NATTER_FUZZ_SESSION_SIM_HPP
#define NATTER_FUZZ_SESSION_SIM_HPP

#include "check.hpp"
#include "natter/core/connection.hpp"
#include "natter/core/room.hpp"
#include "natter/proto/command_parser.hpp"
#include "natter/proto/reply.hpp"
#include "natter/proto/server_line.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace natter::fuzz
{

/// Reads the fuzzer's input a piece at a time; zeros once it runs out.
class input
{
public:
  input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const { return at_ >= size_; }
  std::uint8_t byte() { return empty() ? 0 : data_[at_++]; }
  std::string_view bytes(std::size_t n)
  {
    n = std::min(n, size_ - std::min(at_, size_));
    std::string_view out(reinterpret_cast<const char*>(data_) + at_, n);
    at_ += n;
    return out;
  }

private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

/// NATTER_FUZZ_TRACE=1 prints what every client sends and receives, for
/// reading a failing input.
inline bool tracing()
{
  static const bool on = std::getenv("NATTER_FUZZ_TRACE") != nullptr;
  return on;
}

inline void trace(std::size_t id, const char* dir, std::string_view what)
{
  if (tracing())
    std::fprintf(stderr, "c%zu %s %.*s\n", id, dir, static_cast<int>(what.size()), what.data());
}

/// Tagged messages start with U+200B and "<sender id>.<sequence>"; the
/// harness keeps the octet 0xE2 out of everything else a client sends, so a
/// tag names its sender for certain.
inline constexpr std::string_view tag_mark = "\xE2\x80\x8B";

/// The epoch the harness gives its room.
inline constexpr std::string_view fuzz_epoch = "0123456789abcdef";

/// True for "2026-12-01T18:30:00.123Z" (spec msg-time).
inline bool is_msg_time(std::string_view t)
{
  static constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (t.size() != shape.size())
    return false;
  for (std::size_t i = 0; i < t.size(); ++i)
    if (shape[i] == 'd' ? !std::isdigit(static_cast<unsigned char>(t[i])) : t[i] != shape[i])
      return false;
  return true;
}

/// The decimal number `digits` (at most 19 digits), or -1 for anything else.
inline long long number(std::string_view digits)
{
  if (digits.empty() || digits.size() > 18)
    return -1;
  long long n = 0;
  for (char ch : digits)
  {
    if (!std::isdigit(static_cast<unsigned char>(ch)))
      return -1;
    n = n * 10 + (ch - '0');
  }
  return n;
}

/// Copies `raw` with every 0xE2 octet replaced, so it cannot forge a tag.
inline std::string untagged(std::string_view raw)
{
  std::string out(raw);
  for (char& ch : out)
    if (static_cast<unsigned char>(ch) == 0xE2)
      ch = 'E';
  return out;
}

/// One HISTORY reply as a client receives it (its 212- lines' ids).
struct history_block
{
  bool open = false;
  std::uint64_t first = 0; // 0: no line
  std::uint64_t last = 0;
};

/// One client and the connection natterd would give it.
struct client final : core::transport
{
  void wake() noexcept override {}

  std::size_t id = 0;
  bool in_room = false;        // registered, as the harness saw the call
  std::uint64_t joined = 0;    // the room's newest id before that call
  std::uint64_t last_live = 0; // id of the last MSG event it received
  bool ids_on = false;         // it received a 213
  std::uint64_t ids_from = 0;  // <newest> of its first 213
  history_block block;         // the reply being received, then the last one
  std::size_t blocks = 0;      // HISTORY replies received
  std::vector<std::pair<std::uint64_t, std::string>> unchecked; // id, "<nick> <text>"
  std::unique_ptr<core::connection> conn;
  core::time_point closing_since = core::time_point::max(); // first seen closing
  bool reading = true;
  proto::command_parser shadow;            // parses what the session parses
  std::set<std::string> nicks;             // every valid nick it asked for
  std::size_t next_tag = 0;                // sequence number of its next tagged MSG
  std::string rx;                          // partial received line
  int telnet_left = 0;                     // octets of a telnet answer to skip
  std::map<std::size_t, std::size_t> seen; // per sender: last tag received + 1
  core::connection::next last;             // what step() answered last
  std::size_t last_history = 0;            // valid HISTORY commands sent
  bool last_history_full = false;          // ...and the last had no argument
};

/// The room, the clients and the clock.
class world
{
public:
  static constexpr std::size_t slots = 8;

  explicit world(std::uint8_t knobs)
  {
    static constexpr std::array<std::size_t, 8> kept{0, 1, 2, 3, 5, 8, 40, 400};
    cfg_.max_line = 64 + (knobs & 0x3F);
    cfg_.max_sendq = 2048 + (knobs & 0xC0) * 16;
    cfg_.unregistered_sendq = 1024;
    cfg_.soft_sendq = 512;
    cfg_.max_total_sendq = 12288;
    cfg_.rate = (knobs & 1) != 0 ? 0 : 20;
    cfg_.burst = 8;
    cfg_.registration_timeout = std::chrono::seconds(5);
    cfg_.idle_timeout = std::chrono::seconds(20);
    cfg_.log_chunk = 128 + (knobs & 0x3F) * 8; // small: events cross chunks often
    cfg_.history = kept[(knobs >> 3) & 7];
    cfg_.epoch = std::string(fuzz_epoch);
    // Messages are stamped with the virtual time, from 2026 on.
    cfg_.wall_clock = [](core::time_point now)
    {
      using namespace std::chrono;
      return core::wall_time(sys_days(year(2026) / 12 / 1)) +
             duration_cast<core::wall_time::duration>(now.time_since_epoch());
    };
    room_ = std::make_unique<core::room>(cfg_);
    witness_ = add_client();
    send(*witness_, "NICK w\r\n");
    serve(*witness_);
  }

  ~world()
  {
    for (client* c : everyone())
      drop(*c);
  }

  void connect(std::size_t slot)
  {
    if (live_[slot] == nullptr)
      live_[slot] = add_client();
  }

  /// Sends "MSG <tag> <text>" from the client in `slot`.
  void send_tagged(std::size_t slot, std::string_view text)
  {
    client* c = live_[slot];
    if (c == nullptr)
      return;
    send(*c, "MSG " + std::string(tag_mark) + std::to_string(c->id) + "." +
                 std::to_string(c->next_tag++) + " " + untagged(text) + "\r\n");
  }

  /// Sends "TELL <nick> <tag> <text>" from the client in `slot` to one of
  /// the nicks the client in `to` asked for (or one nobody may hold).
  void send_tell(std::size_t slot, std::size_t to, std::string_view text)
  {
    client* c = live_[slot];
    if (c == nullptr)
      return;
    const client* r = live_[to % slots];
    const std::string nick =
        r != nullptr && !r->nicks.empty() ? *r->nicks.rbegin() : "n" + std::to_string(to % 13);
    const std::string mark =
        std::string(tag_mark) + std::to_string(c->id) + ".t" + std::to_string(c->next_tag++);
    tells_[mark] = lower(nick);
    send(*c, "TELL " + nick + " " + mark + " " + untagged(text) + "\r\n");
  }

  /// Sends `raw` octets (0xE2 replaced: see tag_mark).
  void send_raw(std::size_t slot, std::string_view raw) { send(slot, untagged(raw)); }

  void send(std::size_t slot, std::string_view bytes)
  {
    if (live_[slot] != nullptr)
      send(*live_[slot], bytes);
  }

  void toggle_reading(std::size_t slot)
  {
    if (live_[slot] != nullptr)
      live_[slot]->reading = !live_[slot]->reading;
  }

  void disconnect(std::size_t slot)
  {
    if (live_[slot] != nullptr)
      drop(*live_[slot]);
  }

  void half_close(std::size_t slot)
  {
    client* c = live_[slot];
    if (c != nullptr && c->conn->session().next_wait() != core::session::wait::closed)
      track(*c, [&] { c->conn->end_of_input(now_); });
  }

  void advance(std::chrono::milliseconds d)
  {
    now_ += d;
    // The witness says something now and then, so its idle timeout never
    // comes.
    if (witness_ != nullptr)
      send(*witness_, "PING w\r\n");
    // Whatever timer a connection asked for has come or is still ahead:
    // timer_fired() acts only on what is due.
    for (client* c : everyone())
      track(*c, [&] { c->conn->timer_fired(now_); });
  }

  /// Does what the connections would do now: write to reading clients,
  /// resume paused sessions, close finished connections. The witness is
  /// served first and last, so that it has what the others were given.
  void pump()
  {
    for (int round = 0; round < 4; ++round)
      for (client* c : everyone())
        serve(*c);
    if (witness_ != nullptr)
      serve(*witness_);
  }

  void check_invariants()
  {
    // The room's own view: WHO lists every member once, ignoring case, and
    // each is a live session holding exactly that nick.
    const std::string who = room_->who();
    std::set<std::string> lowered;
    std::size_t listed = 0;
    for (std::size_t at = 0; at < who.size();)
    {
      const std::size_t end = who.find("\r\n", at);
      check(end != std::string::npos, "WHO lines end in CRLF");
      const std::string_view line(who.data() + at, end - at);
      at = end + 2;
      const proto::server_line item = proto::parse_server_line(line);
      if (item.what != proto::server_line::kind::reply ||
          item.code != static_cast<int>(proto::reply_code::who) || !item.more)
        continue;
      const std::string nick(item.text);
      ++listed;
      check(lowered.insert(lower(nick)).second, "nicks are unique ignoring case");
      const crowd all = everyone();
      check(std::any_of(all.begin(), all.end(),
                        [&](client* c) { return c->conn->session().nick() == nick; }),
            "every member is a live session with that nick");
    }
    check(listed == room_->size(), "WHO lists every member");

    std::size_t total = 0;
    for (client* c : everyone())
    {
      const std::string& nick = c->conn->session().nick();
      if (!nick.empty())
        check(c->nicks.count(nick) == 1, "a client only gets a nick it asked for");
      core::outbox& out = c->conn->session().output();
      total += out.bytes();
      const std::size_t limit = nick.empty() ? cfg_.unregistered_sendq : cfg_.max_sendq;
      if (!out.closing())
        check(out.bytes() <= limit, "an open send queue stays within its limit");
    }
    check(room_->total_sendq().value() == total, "the total send queue is the sum of the queues");
    check_log_chunks();
    check_messages();
    // A closing connection (QUIT, a 5xx, dropped) is over by its flush
    // deadline, whether its client reads or not (spec N-SLOW-6, N-CONN-9).
    for (client* c : everyone())
      check(c->closing_since == core::time_point::max() ||
                now_ < c->closing_since + core::connection::flush_deadline,
            "a closing connection is over within its flush deadline");
  }

  /// No chunk of the room's log outlives the last reader that needs it: the
  /// chunks alive are exactly the tail and those from each outbox's position
  /// to the end of its stream; within those, an outbox holds less than a
  /// chunk of its own events (which it never sends); and a dropped slow
  /// consumer holds no chunk, only the rest of a line and its 524.
  void check_log_chunks()
  {
    const core::room_log& log = room_->log();
    std::set<const core::log_chunk*> held{log.tail()};
    for (client* c : everyone())
    {
      const core::outbox& out = c->conn->session().output();
      const core::log_chunk* first = nullptr;
      const core::log_chunk* last = nullptr;
      std::uint64_t position = 0;
      out.held_range(first, last, position);
      check(first == nullptr || (first->base() <= position && position <= first->limit()),
            "an outbox holds no chunk before its position");
      for (const core::log_chunk* k = first; k != nullptr; k = k == last ? nullptr : k->next())
        held.insert(k);
      check(out.own_events_held() < log.chunk_size() + cfg_.max_line,
            "an outbox holds less than a chunk of its own events");
      if (out.reason() == core::close_reason::sendq_exceeded)
      {
        check(first == nullptr, "a dropped slow consumer holds no chunk");
        check(out.bytes() <= cfg_.max_line + 64,
              "a dropped slow consumer holds at most a line's rest and its 524");
      }
    }
    check(log.chunks() == held.size(), "the log keeps exactly the chunks its readers hold");
  }

  /// The witness's count is the room's: ids are consecutive and only MSG
  /// has one (N-MSG-5, N-TELL-6); every line a client was given for an id
  /// is the one the witness was given (N-MSG-7).
  void check_messages()
  {
    if (witness_ == nullptr)
      return;
    const core::outbox& out = witness_->conn->session().output();
    if (!out.closing() && out.bytes() == 0 && witness_->rx.empty())
      check(truth_.size() == senders_.size(), "every message has the next id, and only messages");
    for (client* c : everyone())
    {
      std::size_t kept = 0;
      for (const auto& [id, what] : c->unchecked)
      {
        if (id <= truth_.size())
          check(truth_[id - 1] == what, "a client gets a message's id with its nick and text");
        else
          c->unchecked[kept++] = {id, what};
      }
      c->unchecked.resize(kept);
    }
  }

  /// Every client reads to the end; everything queued must arrive. Then each
  /// client still in the room asks HISTORY once more, when nothing else is
  /// held anywhere: its reply and the live messages before it hold every
  /// message the room still keeps from where it begins, exactly once
  /// (N-HIST-5, N-HIST-6).
  void finish()
  {
    for (client* c : everyone())
      c->reading = true;
    for (int i = 0; i < 8; ++i)
    {
      advance(std::chrono::milliseconds(1000));
      pump();
      check_invariants();
    }
    const std::uint64_t newest = room_->newest_id();
    std::vector<std::pair<client*, std::size_t>> asked; // and its replies so far
    for (client* c : everyone())
    {
      const core::session& s = c->conn->session();
      if (!c->in_room || s.next_wait() != core::session::wait::input || s.pending() > 0)
        continue;
      const std::size_t commands = c->last_history;
      send(*c, "\r\nHISTORY\r\n"); // ends any partial line first
      if (c->last_history == commands + 1 && c->last_history_full)
        asked.emplace_back(c, c->blocks);
    }
    pump();
    check_invariants();
    if (room_->newest_id() != newest)
      return; // someone's held input still talked: the window moved
    for (const auto& [c, blocks] : asked)
    {
      const core::session& s = c->conn->session();
      if (c->blocks != blocks + 1 || s.output().bytes() > 0 || s.output().closing())
        continue;
      const std::uint64_t kept = std::min<std::uint64_t>(newest, cfg_.history);
      const std::uint64_t oldest = newest - kept + 1; // newest + 1 when none
      if (c->joined >= oldest)
      {
        check(c->block.first == oldest && c->block.last == c->joined,
              "HISTORY gives every message kept from before it registered");
      }
      else
        check(c->block.first == 0, "HISTORY gives nothing when none it missed is kept");
      check(next_live(*c) > newest, "a client got every later message live");
    }
  }

private:
  static std::string lower(std::string s)
  {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    return s;
  }

  client* add_client()
  {
    auto c = std::make_unique<client>();
    c->id = all_.size();
    c->shadow = proto::command_parser(cfg_.max_line);
    c->conn = std::make_unique<core::connection>(*room_, *c, now_);
    c->conn->start();
    all_.push_back(std::move(c));
    return all_.back().get();
  }

  /// The connected clients, the witness first (no allocation: this runs
  /// several times an operation).
  struct crowd
  {
    std::array<client*, slots + 1> at{};
    std::size_t n = 0;
    client* const* begin() const { return at.data(); }
    client* const* end() const { return at.data() + n; }
  };
  crowd everyone() const
  {
    crowd out;
    if (witness_ != nullptr)
      out.at[out.n++] = witness_;
    for (client* c : live_)
      if (c != nullptr)
        out.at[out.n++] = c;
    return out;
  }

  /// Runs `call` on `c`'s connection: the messages the room accepts meanwhile
  /// are c's, and if c registers meanwhile, it did so before them.
  template <class Call>
  void track(client& c, Call&& call)
  {
    const bool was_in = !c.conn->session().nick().empty();
    const std::uint64_t before = room_->newest_id();
    call();
    if (!was_in && !c.conn->session().nick().empty())
    {
      c.in_room = true;
      c.joined = before;
      c.last_live = before;
    }
    check(room_->newest_id() >= before, "message ids only grow");
    while (senders_.size() < room_->newest_id())
      senders_.push_back(c.id);
  }

  void send(client& c, std::string_view bytes)
  {
    if (c.conn->session().next_wait() == core::session::wait::closed)
      return;
    c.shadow.feed(bytes,
                  [&](const proto::parse_event& ev)
                  {
                    if (ev.what != proto::parse_event::kind::command)
                      return;
                    if (ev.cmd.type == proto::command_type::nick)
                      c.nicks.emplace(ev.cmd.arg);
                    if (ev.cmd.type == proto::command_type::history && ev.cmd.valid)
                    {
                      ++c.last_history;
                      c.last_history_full = ev.cmd.arg.empty();
                    }
                  });
    trace(c.id, ">", bytes);
    track(c, [&] { c.conn->received(bytes, now_); });
  }

  void serve(client& c)
  {
    core::connection& conn = *c.conn;
    for (int i = 0; i < 64 && !conn.over(); ++i)
    {
      const core::connection::next next = step(c);
      if (next.close)
        break;
      if (conn.session().output().closing() && c.closing_since == core::time_point::max())
        c.closing_since = now_;
      const std::size_t count = conn.peek(pieces_, 16384);
      if (count == 0)
        break;
      std::size_t offered = 0;
      for (std::size_t k = 0; k < count; ++k)
        offered += pieces_[k].size;
      // A client that does not read has a full socket: nothing is taken.
      // Every third write is short, as a full socket makes it: the rest of
      // what was peeked must follow, whole, whatever happens meanwhile.
      std::size_t n = !c.reading ? 0 : i % 3 == 1 ? offered / 2 + 1 : offered;
      for (std::size_t k = 0, left = n; k < count && left > 0; ++k)
      {
        const std::size_t part = std::min(left, pieces_[k].size);
        take_in(c, std::string_view(pieces_[k].data, part));
        left -= part;
      }
      track(c, [&] { conn.wrote(n, now_); });
      if (n == 0)
        break;
    }
    if (step(c).close || conn.over())
      drop(c);
  }

  // Asks the connection what to do. Where step_due() says nothing can have
  // changed, natterd does not ask (after a write); here step() is asked
  // anyway and must answer what it answered last.
  core::connection::next step(client& c)
  {
    core::connection& conn = *c.conn;
    const bool skippable = !conn.step_due() && !conn.over();
    const core::connection::next next = conn.step(now_);
    check(!skippable || next == c.last, "step() answers as it last did when no step is due");
    c.last = next;
    return next;
  }

  // What a client makes of the octets it receives.
  void take_in(client& c, std::string_view octets)
  {
    for (char ch : octets)
    {
      const auto u = static_cast<unsigned char>(ch);
      if (c.telnet_left > 0)
      {
        if (c.telnet_left == 2)
          check(u == 251 || u == 252 || u == 254, "a telnet answer is WILL, WONT or DONT");
        --c.telnet_left;
        continue;
      }
      if (c.rx.empty() && u == 255)
      {
        c.telnet_left = 2;
        continue;
      }
      c.rx.push_back(ch);
      check(c.rx.size() <= cfg_.max_line + 64, "a server line stays within the limit + 64");
      if (ch == '\n')
      {
        check(c.rx.size() >= 2 && c.rx[c.rx.size() - 2] == '\r', "server lines end in CRLF");
        c.rx.resize(c.rx.size() - 2);
        on_line(c, c.rx);
        c.rx.clear();
      }
    }
  }

  /// The id of the next MSG event `c` must receive: the next message after
  /// the last it received, but its own until its IDS (N-MSG-4, N-IDS-3).
  std::uint64_t next_live(const client& c) const
  {
    std::uint64_t id = c.last_live + 1;
    while (id <= senders_.size() && senders_[id - 1] == c.id && !(c.ids_on && id > c.ids_from))
      ++id;
    return id;
  }

  void on_line(client& c, const std::string& line)
  {
    trace(c.id, "<", line);
    const proto::server_line l = proto::parse_server_line(line);
    check(l.what != proto::server_line::kind::invalid, "every received line is well formed");
    if (l.what == proto::server_line::kind::reply &&
        l.code == static_cast<int>(proto::reply_code::history))
      return on_history(c, l);
    if (l.what == proto::server_line::kind::reply &&
        l.code == static_cast<int>(proto::reply_code::ids))
      return on_ids(c, l.text);
    if (l.what == proto::server_line::kind::tell)
      return on_tell(c, l);
    if (l.what != proto::server_line::kind::msg)
      return;
    check(c.in_room, "only a member receives MSG events");
    const std::uint64_t id = next_live(c);
    check(id <= senders_.size(), "a MSG event is a message the room accepted");
    c.last_live = id;
    if (&c == witness_)
      truth_.push_back(line.substr(4));
    else
      check_line(c, id, std::string_view(line).substr(4));
    if (l.text.substr(0, tag_mark.size()) != tag_mark)
      return; // untagged: only its form and its id's line are checked
    // "<id>.<seq>" names the sender for certain (see tag_mark).
    const tag_fields t = read_tag(l.text);
    check(t.sender < all_.size(), "a tagged MSG names a client");
    check(t.sender == senders_[id - 1], "a MSG event carries its sender's message");
    check(t.sender != c.id || c.ids_on, "nobody receives their own MSG before IDS");
    check(all_[t.sender]->nicks.count(std::string(l.nick)) == 1,
          "a MSG carries a nick its sender asked for");
    std::size_t& next = c.seen[t.sender];
    check(t.seq >= next, "a client's messages arrive in the order sent");
    next = t.seq + 1;
  }

  /// Holds "<nick> <text>" that `c` got for message `id` to the witness's
  /// line for it, now or once the witness has it.
  void check_line(client& c, std::uint64_t id, std::string_view what)
  {
    if (id <= truth_.size())
      check(truth_[id - 1] == what, "a client gets a message's id with its nick and text");
    else
      c.unchecked.emplace_back(id, std::string(what));
  }

  // "212-<id> <time> <nick> <text>" lines, then "212 end of history".
  void on_history(client& c, const proto::server_line& l)
  {
    check(c.in_room, "only a member receives HISTORY");
    if (!l.more)
    {
      if (!c.block.open)
        c.block = history_block{}; // an empty reply
      check(c.block.last == 0 || c.block.last == c.joined,
            "a HISTORY reply ends with the newest message before it registered");
      c.block.open = false;
      ++c.blocks;
      return;
    }
    if (!c.block.open)
      c.block = history_block{true, 0, 0};
    const std::string_view text = l.text;
    const std::size_t sp = text.find(' ');
    check(sp != std::string_view::npos, "a HISTORY line has an id");
    const long long id = number(text.substr(0, sp));
    check(id > 0, "a HISTORY line's id is a number from 1");
    const auto uid = static_cast<std::uint64_t>(id);
    check(is_msg_time(text.substr(sp + 1, 24)) && text.size() > sp + 25 && text[sp + 25] == ' ',
          "a HISTORY line's time is RFC 3339 UTC with milliseconds");
    check(uid <= c.joined, "HISTORY holds only what came before the client registered");
    check(c.block.first == 0 || uid == c.block.last + 1, "HISTORY lines are consecutive");
    if (c.block.first == 0)
    {
      c.block.first = uid;
      check(cfg_.history > 0 && uid + cfg_.history > c.joined,
            "HISTORY holds only messages the room still keeps");
    }
    c.block.last = uid;
    const auto [it, fresh] = times_.emplace(uid, std::string(text.substr(sp + 1, 24)));
    check(fresh || it->second == text.substr(sp + 1, 24), "a message's time is fixed");
    check_line(c, uid, text.substr(sp + 26));
  }

  // "213 <epoch> <joined> <newest> ids on"
  void on_ids(client& c, std::string_view text)
  {
    check(c.in_room, "only a member receives 213");
    check(text.substr(0, fuzz_epoch.size() + 1) == std::string(fuzz_epoch) + " ",
          "213 carries the epoch");
    text.remove_prefix(fuzz_epoch.size() + 1);
    const std::size_t sp = text.find(' ');
    const std::size_t sp2 = text.find(' ', sp + 1);
    check(sp2 != std::string_view::npos, "213 has both ids");
    const long long joined = number(text.substr(0, sp));
    const long long newest = number(text.substr(sp + 1, sp2 - sp - 1));
    check(joined >= 0 && static_cast<std::uint64_t>(joined) == c.joined,
          "213 gives the newest id when the client registered");
    check(newest >= joined && static_cast<std::uint64_t>(newest) <= senders_.size(),
          "213 gives the newest id");
    check(next_live(c) > static_cast<std::uint64_t>(newest),
          "213 comes after every message up to its newest");
    if (!c.ids_on)
      c.ids_from = static_cast<std::uint64_t>(newest);
    c.ids_on = true;
  }

  // "TELL <from> <tag> <text>" reaches the client whose nick it names, once,
  // and is never numbered (N-TELL-4, N-TELL-6).
  void on_tell(client& c, const proto::server_line& l)
  {
    check(c.in_room, "only a member receives TELL");
    const std::string_view text = l.text;
    if (text.substr(0, tag_mark.size()) != tag_mark)
      return;
    const std::string mark(text.substr(0, text.find(' ')));
    const auto it = tells_.find(mark);
    check(it != tells_.end(), "a TELL is one a client sent");
    check(std::any_of(c.nicks.begin(), c.nicks.end(),
                      [&](const std::string& n) { return lower(n) == it->second; }),
          "a TELL reaches only the client holding its nick");
    check(all_[read_tag(text).sender]->nicks.count(std::string(l.nick)) == 1,
          "a TELL carries a nick its sender asked for");
    tells_.erase(it); // at most once
  }

  struct tag_fields
  {
    std::size_t sender = 0;
    std::size_t seq = 0;
  };

  // "<id>.<seq>" or "<id>.t<seq>" after the mark.
  static tag_fields read_tag(std::string_view text)
  {
    tag_fields t;
    std::size_t at = tag_mark.size();
    for (; at < text.size() && text[at] != '.'; ++at)
      t.sender = t.sender * 10 + static_cast<std::size_t>(text[at] - '0');
    for (++at; at < text.size() && text[at] != ' '; ++at)
      if (text[at] != 't')
        t.seq = t.seq * 10 + static_cast<std::size_t>(text[at] - '0');
    return t;
  }

  void drop(client& c)
  {
    c.conn->failed(); // nothing when it is over already
    c.conn.reset();
    for (client*& slot : live_)
      if (slot == &c)
        slot = nullptr;
    if (witness_ == &c)
      witness_ = nullptr; // the truth ends here: nothing more is checked against it
  }

  core::config cfg_;
  std::unique_ptr<core::room> room_;
  std::vector<std::unique_ptr<client>> all_;
  std::array<client*, slots> live_{};
  client* witness_ = nullptr;
  std::vector<std::size_t> senders_; // by id - 1: the client whose message it is
  std::vector<std::string> truth_;   // by id - 1: "<nick> <text>", as the witness got it
  std::map<std::uint64_t, std::string> times_;
  std::map<std::string, std::string> tells_; // tag -> the nick it was sent to, lowered
  std::array<core::piece, 16> pieces_{};
  core::time_point now_{};
};

} // namespace natter::fuzz

#endif // NATTER_FUZZ_SESSION_SIM_HPP
