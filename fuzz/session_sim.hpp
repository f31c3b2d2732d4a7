// The simulated clients of fuzz_session: each drives a core::connection,
// the very state machine natterd's connections run, with virtual time and a
// simulated socket, and reads what it sends the way a client would. A
// client that does not read still has a writer, which finds its socket
// full: it peeks and writes nothing, as natterd's does.
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

/// Copies `raw` with every 0xE2 octet replaced, so it cannot forge a tag.
inline std::string untagged(std::string_view raw)
{
  std::string out(raw);
  for (char& ch : out)
    if (static_cast<unsigned char>(ch) == 0xE2)
      ch = 'E';
  return out;
}

/// One client and the connection natterd would give it.
struct client final : core::transport
{
  void wake() noexcept override {}

  std::size_t id = 0;
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
};

/// The room, the clients and the clock.
class world
{
public:
  static constexpr std::size_t slots = 8;

  explicit world(std::uint8_t knobs)
  {
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
    room_ = std::make_unique<core::room>(cfg_);
  }

  ~world()
  {
    for (auto& c : live_)
      if (c != nullptr)
        drop(*c);
  }

  void connect(std::size_t slot)
  {
    if (live_[slot] != nullptr)
      return;
    auto c = std::make_unique<client>();
    c->id = all_.size();
    c->shadow = proto::command_parser(cfg_.max_line);
    c->conn = std::make_unique<core::connection>(*room_, *c, now_);
    c->conn->start();
    live_[slot] = c.get();
    all_.push_back(std::move(c));
  }

  /// Sends "MSG <tag> <text>" from the client in `slot`.
  void send_tagged(std::size_t slot, std::string_view text)
  {
    client* c = live_[slot];
    if (c == nullptr)
      return;
    send(slot, "MSG " + std::string(tag_mark) + std::to_string(c->id) + "." +
                   std::to_string(c->next_tag++) + " " + untagged(text) + "\r\n");
  }

  /// Sends `raw` octets (0xE2 replaced: see tag_mark).
  void send_raw(std::size_t slot, std::string_view raw) { send(slot, untagged(raw)); }

  void send(std::size_t slot, std::string_view bytes)
  {
    client* c = live_[slot];
    if (c == nullptr || c->conn->session().next_wait() == core::session::wait::closed)
      return;
    c->shadow.feed(bytes,
                   [&](const proto::parse_event& ev)
                   {
                     if (ev.what == proto::parse_event::kind::command &&
                         ev.cmd.type == proto::command_type::nick)
                       c->nicks.emplace(ev.cmd.arg);
                   });
    trace(c->id, ">", bytes);
    c->conn->received(bytes, now_);
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
    if (live_[slot] != nullptr &&
        live_[slot]->conn->session().next_wait() != core::session::wait::closed)
      live_[slot]->conn->end_of_input(now_);
  }

  void advance(std::chrono::milliseconds d)
  {
    now_ += d;
    // Whatever timer a connection asked for has come or is still ahead:
    // timer_fired() acts only on what is due.
    for (client* c : live_)
      if (c != nullptr)
        c->conn->timer_fired(now_);
  }

  /// Does what the connections would do now: write to reading clients,
  /// resume paused sessions, close finished connections.
  void pump()
  {
    for (int round = 0; round < 4; ++round)
      for (client* c : live_)
        if (c != nullptr)
          serve(*c);
  }

  void check_invariants()
  {
    // The room's own view: WHO lists every member once, ignoring case, and
    // each is a live session holding exactly that nick.
    const std::string who = room_->who();
    std::set<std::string> lower;
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
      std::string l = nick;
      std::transform(l.begin(), l.end(), l.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      check(lower.insert(l).second, "nicks are unique ignoring case");
      check(std::any_of(live_.begin(), live_.end(),
                        [&](client* c)
                        { return c != nullptr && c->conn->session().nick() == nick; }),
            "every member is a live session with that nick");
    }
    check(listed == room_->size(), "WHO lists every member");

    std::size_t total = 0;
    for (client* c : live_)
    {
      if (c == nullptr)
        continue;
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
    // A closing connection (QUIT, a 5xx, dropped) is over by its flush
    // deadline, whether its client reads or not (spec N-SLOW-6, N-CONN-9).
    for (client* c : live_)
      if (c != nullptr)
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
    for (client* c : live_)
    {
      if (c == nullptr)
        continue;
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

  /// Every client reads to the end; everything queued must arrive.
  void finish()
  {
    for (client* c : live_)
      if (c != nullptr)
        c->reading = true;
    for (int i = 0; i < 8; ++i)
    {
      advance(std::chrono::milliseconds(1000));
      pump();
      check_invariants();
    }
  }

private:
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
      conn.wrote(n, now_);
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

  void on_line(client& c, const std::string& line)
  {
    trace(c.id, "<", line);
    const proto::server_line l = proto::parse_server_line(line);
    check(l.what != proto::server_line::kind::invalid, "every received line is well formed");
    if (l.what != proto::server_line::kind::msg)
      return;
    if (l.text.substr(0, tag_mark.size()) != tag_mark)
      return; // untagged: only its form is checked
    // "<id>.<seq>" names the sender for certain (see tag_mark).
    std::size_t id = 0;
    std::size_t seq = 0;
    std::size_t at = tag_mark.size();
    for (; at < l.text.size() && l.text[at] != '.'; ++at)
      id = id * 10 + static_cast<std::size_t>(l.text[at] - '0');
    for (++at; at < l.text.size() && l.text[at] != ' '; ++at)
      seq = seq * 10 + static_cast<std::size_t>(l.text[at] - '0');
    check(id < all_.size(), "a tagged MSG names a client");
    check(id != c.id, "nobody receives their own MSG");
    check(all_[id]->nicks.count(std::string(l.nick)) == 1,
          "a MSG carries a nick its sender asked for");
    std::size_t& next = c.seen[id];
    check(seq >= next, "a client's messages arrive in the order sent");
    next = seq + 1;
  }

  void drop(client& c)
  {
    c.conn->failed(); // nothing when it is over already
    c.conn.reset();
    for (client*& slot : live_)
      if (slot == &c)
        slot = nullptr;
  }

  core::config cfg_;
  std::unique_ptr<core::room> room_;
  std::vector<std::unique_ptr<client>> all_;
  std::array<client*, slots> live_{};
  std::array<core::piece, 16> pieces_{};
  core::time_point now_{};
};

} // namespace natter::fuzz

#endif // NATTER_FUZZ_SESSION_SIM_HPP
