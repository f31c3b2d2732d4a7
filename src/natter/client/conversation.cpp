#include "natter/client/conversation.hpp"

#include "natter/client/format.hpp"
#include "natter/client/nick.hpp"
#include "natter/proto/greeting.hpp"
#include "natter/proto/limits.hpp"
#include "natter/proto/server_line.hpp"

#include <ctime>

namespace natter::client
{
namespace
{

std::string local_clock()
{
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  return format_clock(local);
}

std::string_view first_word(std::string_view text) noexcept
{
  return text.substr(0, text.find(' '));
}

/// The limits `g` advertises, in words, for /help. Keys this client does
/// not know are left out; so is a limit not advertised, but for the line
/// limit, which is then assumed (N-CONN-13).
std::string describe_limits(const proto::greeting& g, std::size_t line_limit)
{
  namespace key = proto::advert_key;
  auto is_zero = [](std::string_view v) { return proto::advert_number(v) == 0.0; };
  std::string out = "server natter/" + std::to_string(g.version) + ": lines of up to " +
                    std::to_string(line_limit) + " bytes (" + std::to_string(line_limit - 6) +
                    " of message text)";
  if (!g.find(key::line))
    out += ", assumed: the server advertises no limit";
  if (const auto nick = g.find(key::nick))
    out += ", nicks of up to " + std::string(*nick) + " characters";
  if (const auto rate = g.find(key::rate))
  {
    const auto burst = g.find(key::burst);
    out += is_zero(*rate) ? std::string(", no flood control")
                          : ", " + std::string(*rate) + " lines a second" +
                                (burst ? " after a burst of " + std::string(*burst) : "");
  }
  if (const auto sendq = g.find(key::sendq))
    out += ", up to " + std::string(*sendq) + " bytes of output held for you";
  if (const auto reg = g.find(key::reg))
    out += is_zero(*reg) ? ", no registration timeout"
                         : ", registration within " + std::string(*reg) + " s";
  if (const auto idle = g.find(key::idle))
    out += is_zero(*idle) ? ", no idle timeout" : ", idle timeout " + std::string(*idle) + " s";
  return out;
}

} // namespace

conversation::conversation(options opts, clock_fn clock, steady_fn steady)
    : opts_(std::move(opts)), clock_(clock ? std::move(clock) : clock_fn(&local_clock)),
      steady_(steady ? std::move(steady) : steady_fn(&std::chrono::steady_clock::now)),
      wanted_(opts_.nick), nick_(opts_.nick), line_limit_(proto::min_max_line)
{
}

effects conversation::take()
{
  effects taken = std::move(out_);
  out_ = effects{};
  return taken;
}

void conversation::connected()
{
  connected_ = true;
  registered_ = false;
  told_held_ = false;
  attempt_ = 0;
  line_limit_ = proto::min_max_line;
  limits_.clear();
  nick_ = wanted_;
  send("NICK " + nick_);
}

void conversation::disconnected()
{
  connected_ = false;
  registered_ = false;
  limits_.clear();
  who_.clear();
  pings_.clear();
  // The barrier's PONG can no longer come on this connection: ask again on
  // the next one, after anything still held.
  if (barrier_sent_)
  {
    barrier_sent_ = false;
    held_.push_back(held{user_input::kind::ping, std::string(eof_barrier_token), true});
  }
  // A QUIT that the server never answered is as good as answered.
  if (quitting_)
    out_.exit_code = 0;
}

void conversation::server_line(std::string_view line)
{
  using k = proto::server_line::kind;
  const proto::server_line l = proto::parse_server_line(line);
  switch (l.what)
  {
  case k::invalid: error("unexpected line from server: " + std::string(line)); return;
  case k::reply:
    if (static_cast<proto::reply_code>(l.code) == proto::reply_code::greeting && !l.more)
    {
      on_greeting(line); // "connected to ..." was already said
      return;
    }
    // A code this version does not know keeps its value (N-REPLY-9).
    on_reply(static_cast<proto::reply_code>(l.code), l.more, l.text);
    return;
  case k::join: notice(display_line::kind::event, std::string(l.nick) + " joined"); return;
  case k::nick:
    notice(display_line::kind::event,
           std::string(l.nick) + " is now known as " + std::string(l.new_nick));
    return;
  case k::msg:
    show(display_line::kind::chat, format_message(clock_(), l.nick, l.text, opts_.colour));
    return;
  case k::quit:
    notice(display_line::kind::event,
           std::string(l.nick) + " left" +
               (l.has_text ? " (" + std::string(l.text) + ")" : std::string()));
    return;
  case k::echo:
    notice(display_line::kind::event, l.has_text ? "echo: " + std::string(l.text) : "echo");
    return;
  case k::pong:
    if (barrier_sent_ && l.text == eof_barrier_token)
    {
      // Everything sent before the barrier has been processed.
      barrier_sent_ = false;
      quit({});
      return;
    }
    if (const auto it = pings_.find(l.text); it != pings_.end())
    {
      const auto rtt =
          std::chrono::duration_cast<std::chrono::microseconds>(steady_() - it->second);
      pings_.erase(it);
      const auto ms = static_cast<double>(rtt.count()) / 1000.0;
      char buf[64];
      std::snprintf(buf, sizeof buf, "pong from server: %.1f ms", ms);
      notice(display_line::kind::event, buf);
      return;
    }
    notice(display_line::kind::event, l.has_text ? "PONG " + std::string(l.text) : "PONG");
    return;
  }
}

void conversation::on_reply(proto::reply_code code, bool more, std::string_view text)
{
  using rc = proto::reply_code;
  if (code == rc::who)
  {
    if (more)
    {
      who_.emplace_back(text);
      return;
    }
    std::string line(text);
    if (!who_.empty())
    {
      line += ':';
      for (const std::string& n : who_)
        line += ' ' + n;
    }
    who_.clear();
    notice(display_line::kind::event, line);
    return;
  }
  if (code == rc::help)
  {
    notice(display_line::kind::event, text);
    return;
  }
  if (code == rc::closing)
  {
    // Also reached through "/raw QUIT": the close that follows is wanted.
    quitting_ = true;
    return;
  }
  if (code == rc::nick_accepted)
  {
    const std::string_view word = first_word(text);
    const std::string accepted = proto::is_valid_nick(word) ? std::string(word) : nick_;
    if (!registered_)
    {
      registered_ = true;
      nick_ = accepted;
      wanted_ = accepted;
      out_.nick_changed = true;
      notice(display_line::kind::status, ever_registered_
                                             ? "you are " + accepted + " again"
                                             : "you are " + accepted + "; type /help for commands");
      ever_registered_ = true;
      // Work held while registering goes out in the order it was given.
      std::deque<held> queued;
      queued.swap(held_);
      for (const held& item : queued)
        perform(item);
      return;
    }
    if (accepted != nick_)
    {
      nick_ = accepted;
      wanted_ = accepted;
      out_.nick_changed = true;
      notice(display_line::kind::event, "you are now known as " + accepted);
    }
    return;
  }
  if (!registered_ && connected_ &&
      (code == rc::nick_in_use || code == rc::invalid_nick || code == rc::bad_argument))
  {
    on_registration_refused(code, text);
    return;
  }
  error(proto::to_string(code) + " " + std::string(text));
}

// The version comes from the version token alone, unknown adverts are
// ignored and none is required: without a line advert the limit stays 32
// (N-CONN-13).
void conversation::on_greeting(std::string_view line)
{
  const proto::greeting g = proto::parse_greeting(line);
  if (g.what != proto::greeting::status::ok)
    return;
  line_limit_ = proto::line_limit(g);
  limits_ = describe_limits(g, line_limit_);
}

void conversation::on_registration_refused(proto::reply_code code, std::string_view text)
{
  if (code == proto::reply_code::nick_in_use && attempt_ + 1 < max_nick_attempts)
  {
    const std::string taken = nick_;
    ++attempt_;
    nick_ = nick_candidate(wanted_, attempt_);
    notice(display_line::kind::status, "nick " + taken + " is taken; trying " + nick_);
    send("NICK " + nick_);
    return;
  }
  error(proto::to_string(code) + " " + std::string(text));
  error("could not register a nick; giving up");
  out_.exit_code = 1;
}

void conversation::user_line(std::string_view line)
{
  using k = user_input::kind;
  user_input in = parse_user_input(line);
  switch (in.what)
  {
  case k::nothing: return;
  case k::error: error(in.text); return;
  case k::help:
  {
    std::string_view help = user_help();
    while (!help.empty())
    {
      const std::size_t nl = help.find('\n');
      notice(display_line::kind::status, help.substr(0, nl));
      help = nl == std::string_view::npos ? std::string_view{} : help.substr(nl + 1);
    }
    notice(display_line::kind::status,
           limits_.empty() ? std::string_view("server limits: known once connected") : limits_);
    return;
  }
  case k::quit: quit(in.text); return;
  case k::message: message(in.text); return;
  case k::raw:
  case k::echo:
    if (!valid(in.text))
      return;
    submit(held{in.what, std::move(in.text)});
    return;
  case k::nick:
  case k::who:
  case k::ping: submit(held{in.what, std::move(in.text)}); return;
  }
}

void conversation::message(std::string_view text)
{
  if (text.find_first_not_of(' ') == std::string_view::npos)
    return; // the server would ignore it, or refuse "MSG " with 400
  if (!valid(text))
    return;
  submit(held{user_input::kind::message, std::string(text)});
}

void conversation::input_ended()
{
  if (input_ended_ || quitting_)
    return;
  input_ended_ = true;
  submit(held{user_input::kind::ping, std::string(eof_barrier_token), true});
}

void conversation::quit(std::string_view reason)
{
  if (quitting_)
    return;
  quitting_ = true;
  if (!connected_)
  {
    out_.exit_code = 0;
    return;
  }
  send(reason.empty() ? std::string("QUIT") : "QUIT " + std::string(reason));
  out_.quit_sent = true;
}

// Holds user work until this connection is registered: a message sent
// before NICK succeeded would be refused (401), and after a reconnect the
// user's words go out once we are back, in order.
void conversation::submit(held item)
{
  if (registered_)
  {
    perform(item);
    return;
  }
  if (held_.size() >= max_held)
  {
    error("not connected, and too much is waiting to be sent; line dropped");
    return;
  }
  if (!connected_ && !told_held_)
  {
    told_held_ = true;
    notice(display_line::kind::status, "not connected; will send once reconnected");
  }
  held_.push_back(std::move(item));
}

void conversation::perform(const held& item)
{
  using k = user_input::kind;
  switch (item.what)
  {
  case k::message:
    if (!fits("MSG", item.text))
      return;
    send("MSG " + item.text);
    if (opts_.show_own)
      show(display_line::kind::chat, format_message(clock_(), nick_, item.text, opts_.colour));
    return;
  case k::nick: send("NICK " + item.text); return;
  case k::who: send("WHO"); return;
  case k::echo:
    if (fits("ECHO", item.text))
      send(item.text.empty() ? std::string("ECHO") : "ECHO " + item.text);
    return;
  case k::ping:
    if (item.barrier)
    {
      barrier_sent_ = true;
      send("PING " + item.text);
      return;
    }
    {
      const std::string token = "natter-" + std::to_string(++next_ping_);
      pings_.emplace(token, steady_());
      send("PING " + token);
    }
    return;
  case k::raw:
    if (fits({}, item.text))
      send(item.text);
    return;
  case k::nothing:
  case k::help:
  case k::quit:
  case k::error: return;
  }
}

// The protocol allows no control characters and bounded lines; saying so
// here beats a 415 or 413 from the server for a line the user cannot see.
// Text is checked as it is typed; the length when it is sent, against the
// limit of the connection it goes out on.
bool conversation::valid(std::string_view text)
{
  if (proto::is_valid_text(text))
    return true;
  error("not sent: the text contains control characters or invalid UTF-8");
  return false;
}

bool conversation::fits(std::string_view verb, std::string_view text)
{
  const std::size_t overhead = (verb.empty() ? 0 : verb.size() + 1) + 2; // SP, CRLF
  if (overhead + text.size() <= line_limit_)
    return true;
  error("not sent: " + std::to_string(text.size()) + " bytes of " +
        (verb.empty() ? std::string("line") : std::string(verb) + " text") +
        ", and this server takes lines of up to " + std::to_string(line_limit_) +
        " bytes: at most " + std::to_string(line_limit_ - overhead));
  return false;
}

void conversation::send(std::string line)
{
  out_.send.push_back(std::move(line));
}

void conversation::show(display_line::kind what, std::string text)
{
  out_.show.push_back(display_line{what, std::move(text)});
}

void conversation::notice(display_line::kind what, std::string_view text)
{
  show(what, format_notice(clock_(), text, opts_.colour));
}

void conversation::error(std::string_view text)
{
  show(display_line::kind::error, format_error(clock_(), text, opts_.colour));
}

} // namespace natter::client
