#include "natter/core/session.hpp"

#include "natter/core/counters.hpp"
#include "natter/proto/parse_error.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace natter::core
{

namespace
{

using proto::reply_code;

shared_text reply_line(reply_code code)
{
  std::string s;
  proto::append_reply(s, code, proto::reply_text(code));
  return make_text(std::move(s));
}

// Lines every session sends unchanged are built once and shared (the final
// lines are close_reason's, the greeting is the room's).
const shared_text& not_registered_line()
{
  static const shared_text line = reply_line(reply_code::not_registered);
  return line;
}

const shared_text& help_text()
{
  static const shared_text text = []
  {
    std::string s;
    for (std::string_view line :
         {"NICK <nick>", "MSG <text>", "ECHO [<text>]", "PING [<token>]", "WHO", "HELP",
          "QUIT [<reason>]", "TELL <nick> <text>", "HISTORY [<count> | AFTER <id>]", "IDS"})
      proto::append_reply(s, reply_code::help, line, true);
    proto::append_reply(s, reply_code::help, proto::reply_text(reply_code::help));
    return make_text(std::move(s));
  }();
  return text;
}

constexpr unsigned char tls_handshake = 0x16;

// The value of a run of decimal digits, saturated at the largest id: an id
// above every id there can be selects nothing after it (N-HIST-6).
std::uint64_t decimal(std::string_view digits) noexcept
{
  constexpr std::uint64_t max = ~std::uint64_t{0};
  std::uint64_t n = 0;
  for (char c : digits)
  {
    const auto d = static_cast<std::uint64_t>(c - '0');
    n = n > (max - d) / 10 ? max : n * 10 + d;
  }
  return n;
}

room::history_request history_request_of(const proto::command& cmd) noexcept
{
  using kind = room::history_request::kind;
  if (cmd.arg.empty())
    return {kind::all, 0};
  return {cmd.after ? kind::after : kind::last, decimal(cmd.arg)};
}

} // namespace

session::session(room& r, transport& t, time_point now)
    : room_(r), seat_(r, t), parser_(r.settings().max_line), started_(now), last_input_(now),
      refilled_(now), tokens_(r.settings().burst)
{
  room_.attach(seat_);
}

session::~session()
{
  room_.detach(seat_);
}

void session::start()
{
  send(room_.greeting());
}

void session::receive(std::string_view data, time_point now)
{
  if (done_ || data.empty())
    return;
  last_input_ = now;
  if (!tls_checked_)
  {
    tls_checked_ = true;
    if (static_cast<unsigned char>(data.front()) == tls_handshake)
    {
      close_with(close_reason::wrong_protocol);
      return;
    }
  }
  if (pending_)
  {
    pending_->append(data);
    resume(now);
    return;
  }
  const std::size_t used = run(data, now);
  if (used < data.size() && !done_)
    pending_ = std::make_unique<std::string>(data.substr(used));
  else if (eof_ && !awaiting_)
    finish_input();
}

void session::resume(time_point now)
{
  if (awaiting_ && seat_.take_answer())
    take_answer();
  if (pending_)
  {
    const std::size_t used = run(*pending_, now);
    if (!done_)
      pending_->erase(0, used);
    // Return the storage once caught up: an idle session holds no buffer.
    // Held input is not idleness: the idle time starts again now, when the
    // connection is read again (spec N-CONN-10).
    if (done_ || pending_->empty())
    {
      pending_.reset();
      last_input_ = now;
    }
  }
  // The client's end of input waits for the answer of its last command
  // too (a PING's PONG in a cluster, N-CLU-9): its reply is pending
  // (N-CONN-8).
  if (eof_ && !pending_ && !awaiting_)
    finish_input();
}

void session::end_of_input(time_point now)
{
  eof_ = true;
  resume(now);
}

void session::finish_input()
{
  if (done_)
    return;
  done_ = true;
  room_.leave(seat_, close_reason::peer_closed);
}

// Spec 9.2: a first line that starts with an HTTP method and SP is another
// protocol. The line is the one framing sees, after telnet removal, and the
// first line is the first one that N-CMD-1 does not ignore, so the octets go
// to the parser one at a time until the content of such a line either is a
// method's prefix or cannot become one; nothing of the line has been
// executed by then, since LF, CR and SP end the decision. Returns true when
// the line is an HTTP request.
bool session::first_line_is_http()
{
  static constexpr std::array<std::string_view, 10> methods{"CONNECT ", "DELETE ", "GET ",  "HEAD ",
                                                            "OPTIONS ", "PATCH ",  "POST ", "PRI ",
                                                            "PUT ",     "TRACE "};
  const std::string_view seen = parser_.partial();
  // Spaces alone may still become an ignored line (N-CMD-1), and an HTTP
  // request line never starts with one.
  bool possible = seen.find_first_not_of(' ') == std::string_view::npos;
  for (std::string_view m : methods)
  {
    if (m == seen)
      return true;
    possible = possible || m.starts_with(seen);
  }
  // A line that breaks a rule holds no method name.
  protocol_known_ = !possible || parser_.line_refused();
  return false;
}

// Until the first line is known not to be HTTP, the parser gets one octet
// at a time, in a loop of its own (the checks of run() come once per
// window), stopping at an event, at the end of a line, or once the line's
// content decides it; `http` is set when it is an HTTP request. A line that
// ends with an event (a command or an error) decides it; an ignored line
// (empty or only spaces) does not, so the line after it is checked.
proto::parse_event session::next_on_first_line(std::string_view window, std::size_t& used,
                                               bool& http)
{
  const std::uint64_t framed = parser_.lines_framed();
  proto::parse_event ev;
  used = 0;
  while (used < window.size())
  {
    std::size_t step = 0;
    ev = parser_.next(window.substr(used, 1), step);
    used += step;
    const bool line_ended = parser_.lines_framed() != framed;
    if (line_ended && ev.what != proto::parse_event::kind::none &&
        ev.what != proto::parse_event::kind::telnet)
      protocol_known_ = true;
    else
      http = first_line_is_http();
    if (http || protocol_known_ || ev.what != proto::parse_event::kind::none || line_ended)
      break;
  }
  return ev;
}

session::wait session::next_wait() const
{
  if (done_ || out().closing())
    return wait::closed;
  if (awaiting_)
    return wait::cluster;
  if (!pending_)
    return wait::input;
  return blocked_;
}

time_point session::deadline() const
{
  const config& cfg = room_.settings();
  time_point t = time_point::max();
  if (done_)
    return t;
  if (!registered_ && cfg.registration_timeout.count() > 0)
    t = started_ + cfg.registration_timeout;
  if (idle_clock_runs())
    t = std::min(t, last_input_ + cfg.idle_timeout);
  return t;
}

// The idle time runs only while nothing received is held back (N-CONN-10).
bool session::idle_clock_runs() const noexcept
{
  return room_.settings().idle_timeout.count() > 0 && !pending_;
}

void session::on_timer(time_point now)
{
  const config& cfg = room_.settings();
  if (done_)
    return;
  if (!registered_ && cfg.registration_timeout.count() > 0 &&
      now >= started_ + cfg.registration_timeout)
    close_with(close_reason::registration_timeout);
  else if (idle_clock_runs() && now >= last_input_ + cfg.idle_timeout)
    close_with(close_reason::idle_timeout);
}

void session::on_closed()
{
  done_ = true;
  room_.leave(seat_, close_reason::failed);
  pending_.reset();
}

// Processes `in` one event at a time and stops early when the client must
// wait (send queue above the soft mark, no flood tokens) or the session
// ended. Returns the number of octets used; the caller keeps the rest.
std::size_t session::run(std::string_view in, time_point now)
{
  const config& cfg = room_.settings();
  std::size_t used_total = 0;
  const std::uint64_t framed_before = parser_.lines_framed();
  refill(now);
  while (!in.empty() && !done_)
  {
    if (out().closing())
    {
      done_ = true;
      break;
    }
    if (awaiting_)
    {
      blocked_ = wait::cluster;
      break;
    }
    if (out().bytes() > cfg.soft_sendq)
    {
      blocked_ = wait::output;
      break;
    }
    if (cfg.rate > 0 && tokens_ < 1)
    {
      blocked_ = wait::rate;
      // Clamped in double before the cast, so no rate can overflow the clock.
      const double wait_s = std::min((1 - tokens_) / cfg.rate, 1e6);
      resume_at_ =
          now + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(wait_s));
      if (counters* c = counting())
        c->flood_pauses.add();
      break;
    }
    // At most one line's worth at a time, so a long run without LF is paid
    // for in small steps and pausing stays fine-grained.
    std::size_t used = 0;
    bool http = false;
    const std::uint64_t framed = parser_.lines_framed();
    const proto::parse_event ev = protocol_known_
                                      ? parser_.next(in.substr(0, cfg.max_line), used)
                                      : next_on_first_line(in.substr(0, cfg.max_line), used, http);
    in.remove_prefix(used);
    used_total += used;
    // Every framed line costs a token, the ignored and refused ones too.
    charge(used, parser_.lines_framed() - framed);
    if (http)
    {
      close_with(close_reason::wrong_protocol);
      break;
    }
    if (ev.what != proto::parse_event::kind::none)
      handle(ev, now);
  }
  if (counters* c = counting())
    c->lines_received.add(parser_.lines_framed() - framed_before);
  return used_total;
}

void session::handle(const proto::parse_event& ev, time_point now)
{
  using kind = proto::parse_event::kind;
  if (ev.what == kind::telnet)
  {
    std::array<char, 3> buf{};
    const std::string_view answer = telnet_.answer(ev.telnet, ev.option, buf);
    if (!answer.empty())
      send(make_text(std::string(answer)));
    return;
  }
  if (ev.what == kind::error)
    handle_error(ev);
  else
    handle_command(ev.cmd, now);
}

void session::handle_error(const proto::parse_event& ev)
{
  const auto code = static_cast<reply_code>(proto::reply_code_for(ev.error));
  // "421 <verb> ..." even for an empty verb; "400 <VERB> ..."; the rest
  // carry no subject.
  if (ev.error == proto::parse_error::unknown_command ||
      ev.error == proto::parse_error::missing_argument)
    reply(code, ev.token);
  else
    reply(code);
}

void session::handle_command(const proto::command& cmd, time_point now)
{
  using proto::command_type;
  switch (cmd.type)
  {
  case command_type::nick:
    // The 200 is queued by the room under its lock, so no event reaches this
    // client before the reply that tells it it is registered.
    switch (room_.set_nick(seat_, cmd.arg, reply_line(reply_code::nick_accepted, cmd.arg)))
    {
    case room::nick_result::accepted:
    case room::nick_result::unchanged:
      registered_ = true;
      if (out().bytes() > sendq_limit())
        close_with(close_reason::sendq_exceeded);
      break;
    case room::nick_result::in_use: reply(reply_code::nick_in_use, cmd.arg); break;
    case room::nick_result::gone: break;
    case room::nick_result::pending: awaiting_ = true; break;
    case room::nick_result::refused: reply(reply_code::try_again, "NICK"); break;
    }
    break;
  case command_type::msg:
    if (refused(cmd))
      break;
    if (cmd.arg.find_first_not_of(' ') == std::string_view::npos)
      reply(reply_code::bad_argument, proto::verb_name(cmd.type));
    else
      switch (room_.message(seat_, cmd.arg, now))
      {
      case cluster_link::taken::yes: break;
      case cluster_link::taken::wait: awaiting_ = true; break; // a full backlog slows it
      case cluster_link::taken::refused: reply(reply_code::try_again, "MSG"); break;
      }
    break;
  case command_type::echo:
  case command_type::ping:
  {
    std::string line;
    proto::append_event(line, cmd.type == command_type::echo ? "ECHO" : "PONG", cmd.arg);
    shared_text text = make_text(std::move(line));
    // In a cluster the PONG waits for the barrier (N-CLU-9).
    if (cmd.type == command_type::ping && room_.ping(seat_, text))
      awaiting_ = true;
    else
      send(std::move(text));
    break;
  }
  case command_type::who:
    if (!refused(cmd))
      send(make_text(room_.who()));
    break;
  case command_type::tell:
    if (refused(cmd))
      break;
    switch (room_.tell(seat_, cmd.arg, cmd.text))
    {
    case room::tell_result::told: break;
    case room::tell_result::no_such_nick: reply(reply_code::no_such_nick, cmd.arg); break;
    case room::tell_result::pending: awaiting_ = true; break;
    case room::tell_result::refused: reply(reply_code::try_again, "TELL"); break;
    }
    break;
  case command_type::history:
    if (!refused(cmd))
      queued(room_.history(seat_, history_request_of(cmd)));
    break;
  case command_type::ids:
    if (!refused(cmd))
      queued(room_.ids_on(seat_));
    break;
  case command_type::help: send(help_text()); break;
  case command_type::quit:
    done_ = true;
    room_.leave(seat_, close_reason::quit, cmd.arg); // 221; QUIT <nick> [<reason>]
    break;
  }
}

// The checks of a command that needs registration: 401 before any other
// (N-MSG-1, N-TELL-1), then 400 for an argument that does not match the
// command's rule (N-TELL-2, N-HIST-2). Returns true when it answered.
bool session::refused(const proto::command& cmd)
{
  if (!registered_)
  {
    send(not_registered_line());
    if (counters* c = counting())
      c->error_reply(static_cast<int>(reply_code::not_registered));
  }
  else if (!cmd.valid)
    reply(reply_code::bad_argument, proto::verb_name(cmd.type));
  else
    return false;
  return true;
}

// Sends "CODE default-text".
void session::reply(reply_code code)
{
  if (counters* c = counting())
    c->error_reply(static_cast<int>(code));
  std::string line;
  proto::append_reply(line, code, proto::reply_text(code));
  send(make_text(std::move(line)));
}

// "CODE subject default-text" as a line to queue.
shared_text session::reply_line(reply_code code, std::string_view subject)
{
  return make_text(proto::reply_with_subject(code, subject));
}

// Sends "CODE subject default-text".
void session::reply(reply_code code, std::string_view subject)
{
  if (counters* c = counting())
    c->error_reply(static_cast<int>(code));
  send(reply_line(code, subject));
}

void session::send(shared_text text)
{
  queued(out().push(std::move(text)));
}

// After a reply was queued, with `pending` octets now pending.
void session::queued(std::size_t pending)
{
  if (pending > sendq_limit())
    close_with(close_reason::sendq_exceeded);
  else
    room_.enforce_total(); // a reply can take the server over its total too
}

// The cluster answered the command the session waited for; its reply, if
// any, is queued. A NICK's 200 registered it (N-CLU-5).
void session::take_answer()
{
  awaiting_ = false;
  if (!registered_ && !seat_.nick().empty())
  {
    registered_ = true;
    if (out().bytes() > sendq_limit())
      close_with(close_reason::sendq_exceeded);
  }
}

void session::close_with(close_reason why)
{
  done_ = true;
  room_.leave(seat_, why);
}

std::size_t session::sendq_limit() const noexcept
{
  const config& cfg = room_.settings();
  return registered_ ? cfg.max_sendq : std::min(cfg.max_sendq, cfg.unregistered_sendq);
}

void session::refill(time_point now)
{
  const config& cfg = room_.settings();
  if (cfg.rate <= 0)
    return;
  const std::chrono::duration<double> dt = now - refilled_;
  if (dt.count() > 0)
  {
    tokens_ = std::min(cfg.burst, tokens_ + dt.count() * cfg.rate);
    refilled_ = now;
  }
}

// Flood control (spec 11): a line costs one token, and so does every
// max_line octets of the raw stream, so a stream with no LF is paced too.
// Empty lines are framed without an event, so one read of them can take the
// bucket below zero; the pause that follows is then as long as their cost.
void session::charge(std::size_t bytes, std::uint64_t lines)
{
  const config& cfg = room_.settings();
  if (cfg.rate <= 0)
    return;
  tokens_ -= static_cast<double>(lines);
  byte_debt_ += bytes;
  while (byte_debt_ >= cfg.max_line)
  {
    tokens_ -= 1;
    byte_debt_ -= cfg.max_line;
  }
}

} // namespace natter::core
