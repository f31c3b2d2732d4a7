#include "natter/client/conversation.hpp"

#include "natter/client/format.hpp"
#include "natter/client/nick.hpp"
#include "natter/proto/ascii.hpp"
#include "natter/proto/greeting.hpp"
#include "natter/proto/limits.hpp"
#include "natter/proto/server_line.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <utility>

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

std::string local_stamp(std::time_t at)
{
  std::tm local{};
  localtime_r(&at, &local);
  return format_clock(local);
}

std::string_view first_word(std::string_view text) noexcept
{
  return text.substr(0, text.find(' '));
}

// What follows the first word and the spaces after it.
std::string_view after_word(std::string_view text) noexcept
{
  const std::size_t space = text.find(' ');
  if (space == std::string_view::npos)
    return {};
  text.remove_prefix(space);
  text.remove_prefix(std::min(text.find_first_not_of(' '), text.size()));
  return text;
}

// A decimal number of at most 19 digits (every id of spec 7.11's msg-id
// that fits 64 bits), else nothing.
std::optional<std::uint64_t> decimal(std::string_view word) noexcept
{
  if (word.empty() || word.size() > 19 ||
      word.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  std::uint64_t n = 0;
  for (const char c : word)
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  return n;
}

// Nicks are equal ignoring ASCII case (spec 7.2).
bool same_nick(std::string_view a, std::string_view b) noexcept
{
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return proto::ascii_lower(x) == proto::ascii_lower(y); });
}

std::string count_of(std::uint64_t n, std::string_view one, std::string_view many)
{
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

// An event is named in upper case, never with a digit first (spec 8.3,
// N-EVENT-1). A line so named that is not one of the events this client
// knows is an event of a later version of the protocol.
bool is_unknown_event(std::string_view line) noexcept
{
  const std::string_view name = first_word(line);
  if (name.empty() || name.front() < 'A' || name.front() > 'Z')
    return false;
  for (const char c : name)
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return false;
  for (const std::string_view known : {"JOIN", "NICK", "MSG", "QUIT", "ECHO", "PONG"})
    if (name == known)
      return false;
  return true;
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
  if (const auto history = g.find(key::history))
    out += ", keeps the last " + std::string(*history) + " messages (/history)";
  if (g.find(key::tell) == std::string_view("1"))
    out += ", private messages (/tell)";
  return out;
}

} // namespace

conversation::conversation(options opts, clock_fn clock, steady_fn steady, stamp_fn stamp)
    : opts_(std::move(opts)), clock_(clock ? std::move(clock) : clock_fn(&local_clock)),
      steady_(steady ? std::move(steady) : steady_fn(&std::chrono::steady_clock::now)),
      stamp_(stamp ? std::move(stamp) : stamp_fn(&local_stamp)), wanted_(opts_.nick),
      nick_(opts_.nick), line_limit_(proto::min_max_line)
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
  history_.reset();
  tell_ = false;
  nick_ = wanted_;
  send("NICK " + nick_);
}

void conversation::disconnected()
{
  connected_ = false;
  registered_ = false;
  limits_.clear();
  who_.clear();
  who_left_out_ = 0;
  awaiting_.clear();
  since_ping_ = 0;
  // Live messages held back are not shown: the next connection fetches
  // them with what else was missed, from the last id shown.
  ids_ = ids_state::off;
  catching_up_ = false;
  held_live_.clear();
  held_live_dropped_ = 0;
  live_last_ = 0;
  unechoed_.clear();
  recall_ = recalled{};
  // The barrier's PONG can no longer come on this connection: ask again on
  // the next one, after anything still held.
  if (barrier_sent_)
  {
    barrier_sent_ = false;
    held_.push_back(held{user_input::kind::ping, std::string(eof_barrier_token), true, {}});
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
  case k::invalid:
    if (first_word(line) == "GAP" && on_gap(line))
      return;
    // A client MUST ignore an event whose name it does not know [N-EVENT-3].
    if (!is_unknown_event(line))
      error("unexpected line from server: " + std::string(line));
    return;
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
  case k::msg: on_msg(l.nick, l.text); return;
  case k::quit:
    notice(display_line::kind::event,
           std::string(l.nick) + " left" +
               (l.has_text ? " (" + std::string(l.text) + ")" : std::string()));
    return;
  case k::echo:
    take_answered([](const sent& c) { return c.what == sent::verb::echo; });
    notice(display_line::kind::event, l.has_text ? "echo: " + std::string(l.text) : "echo");
    return;
  case k::tell:
    show(display_line::kind::chat, format_private(clock_(), l.nick, l.text, opts_.colour));
    return;
  case k::pong: on_pong(l.text, l.has_text); return;
  }
}

// "GAP <epoch> <newest>" (spec 17.5, N-CLU-23): a node of a cluster could not
// deliver what it missed; the next message is <newest> + 1 in <epoch>. With
// IDS on, the messages lost are counted; a new epoch means the server lost
// its history. Returns false for a line that is not such an event.
bool conversation::on_gap(std::string_view line)
{
  std::string_view rest = line.substr(3);
  if (!rest.starts_with(' '))
    return false;
  rest.remove_prefix(1);
  const std::string_view epoch = first_word(rest);
  const std::string_view digits = rest.substr(std::min(rest.size(), epoch.size() + 1));
  std::uint64_t newest = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), newest);
  if (epoch.empty() || ec != std::errc{} || end != digits.data() + digits.size())
    return false;
  std::string what;
  if (ids_ == ids_state::on && epoch == epoch_)
  {
    const std::uint64_t seen = next_live_ - 1;
    const std::uint64_t lost = newest > seen ? newest - seen : 0;
    what = lost == 0 ? "-- the server missed some of the room's events (no messages) --"
                     : "-- the server lost " + std::to_string(lost) +
                           (lost == 1 ? " message" : " messages") + " of the room --";
  }
  else if (ids_ == ids_state::on)
    what = "-- the server lost the room's history: earlier messages are gone --";
  else
    what = "-- the server missed some of the room's events --";
  if (ids_ == ids_state::on)
  {
    epoch_.assign(epoch);
    next_live_ = newest + 1;
    last_id_ = newest;
  }
  notice(display_line::kind::event, what + " (ask /who for who is here)");
  return true;
}

// A live MSG. Once IDS is on it is numbered by counting (spec 7.12); while
// what was said before is fetched it waits, to be shown after it.
void conversation::on_msg(std::string_view from, std::string_view text)
{
  std::uint64_t id = 0;
  if (ids_ == ids_state::on)
    id = next_live_++;
  else
    ++msgs_before_ids_;
  if (id != 0 && !opts_.show_own && same_nick(from, nick_))
    return; // our own, sent back since IDS: not shown where ours never are
  std::string line = format_message(clock_(), from, text, opts_.colour);
  if (catching_up_)
  {
    live_last_ = std::max(live_last_, id);
    if (held_live_.size() < max_held_live)
      held_live_.push_back(std::move(line));
    else
      ++held_live_dropped_;
    return;
  }
  if (id != 0 && !epoch_.empty())
    last_id_ = id;
  show(display_line::kind::chat, std::move(line));
}

// "213 <epoch> <joined> <newest> ...": the MSG events since the 200 were
// joined + 1 to newest, and the next is newest + 1 (spec 7.12).
void conversation::on_ids(std::string_view text)
{
  const std::string_view epoch = first_word(text);
  const std::string_view rest = after_word(text);
  const std::optional<std::uint64_t> joined = decimal(first_word(rest));
  const std::optional<std::uint64_t> newest = decimal(first_word(after_word(rest)));
  // The server sends our own messages from now on (N-IDS-3), those sent
  // since the IDS included: they are shown when they come.
  ids_ = ids_state::on;
  unechoed_.clear();
  if (epoch.empty() || !joined || !newest || *joined > *newest || !proto::is_valid_text(epoch))
  {
    error("the server's message ids cannot be read (213 " + std::string(text) +
          "): what is missed while away will not be known");
    forget_position();
    return;
  }
  joined_ = *joined;
  next_live_ = *newest + 1;
  if (epoch_.empty())
  {
    // First sight of this numbering: what came before is not missed.
    epoch_ = std::string(epoch);
    last_id_ = joined_;
  }
  else if (epoch != epoch_)
  {
    // The numbering began again (N-MSG-6): the last id seen means nothing
    // here, so everything the server kept is fetched instead.
    epoch_ = std::string(epoch);
    last_id_ = 0;
    bool resuming = false;
    for (sent& c : awaiting_)
      if (c.what == sent::verb::history && c.purpose == recall::after)
      {
        c.purpose = recall::discard;
        resuming = true;
      }
    notice(display_line::kind::event,
           "the server has restarted: what was said between your leaving and its restart is "
           "unknown");
    if (resuming)
      send_history({}, recall::restart);
  }
  // Everything up to newest has now been received live, or was our own.
  if (catching_up_)
    live_last_ = std::max(live_last_, *newest);
  else
    last_id_ = std::max(last_id_, *newest);
}

void conversation::on_ids_refused()
{
  const bool was_asked = ids_ == ids_state::asked;
  ids_ = ids_state::off;
  if (was_asked && opts_.show_own)
    for (const std::string& own : unechoed_)
      show(display_line::kind::chat, format_message(clock_(), nick_, own, opts_.colour));
  unechoed_.clear();
  forget_position();
}

// Without numbers the last id seen means nothing: a HISTORY sent to catch
// up is shown as one the user asked for.
void conversation::forget_position()
{
  epoch_.clear();
  last_id_ = 0;
  for (sent& c : awaiting_)
    if (c.what == sent::verb::history && c.purpose != recall::discard)
      c.purpose = recall::asked;
}

// At registration, before any held work goes out (so that no MSG of ours
// comes between the 200 and the 213): IDS, then HISTORY AFTER the last id
// seen, or the last screenful the first time.
void conversation::start_catch_up(bool first_time)
{
  msgs_before_ids_ = 0;
  if (!history_)
    return;
  const bool resume = opts_.catch_up && !epoch_.empty();
  if (opts_.catch_up)
  {
    send("IDS");
    ids_ = ids_state::asked;
  }
  if (resume)
    send_history("AFTER " + std::to_string(last_id_), recall::after);
  else if (first_time && opts_.history_rows > 0 && *history_ > 0)
    send_history(std::to_string(opts_.history_rows), recall::first);
  else if (!first_time && opts_.catch_up)
    notice(display_line::kind::status, "what was said while you were away is not known");
  catching_up_ = catch_up_pending();
}

bool conversation::catch_up_pending() const noexcept
{
  return std::any_of(awaiting_.begin(), awaiting_.end(),
                     [](const sent& c)
                     {
                       return (c.what == sent::verb::ids) ||
                              (c.what == sent::verb::history && c.purpose != recall::asked);
                     });
}

// What was said before is shown (or known lost): the live messages held
// back meanwhile follow it, and the last id is the last of them.
void conversation::finish_catch_up()
{
  catching_up_ = false;
  if (!epoch_.empty() && ids_ == ids_state::on)
    last_id_ = std::max({last_id_, joined_, live_last_});
  for (std::string& line : held_live_)
    show(display_line::kind::chat, std::move(line));
  held_live_.clear();
  if (held_live_dropped_ > 0)
    error(count_of(held_live_dropped_, "message", "messages") +
          " said meanwhile not shown: too many at once");
  held_live_dropped_ = 0;
  live_last_ = 0;
}

void conversation::send_history(std::string arg, recall purpose)
{
  send(arg.empty() ? std::string("HISTORY") : "HISTORY " + arg);
  awaiting_.back().purpose = purpose;
}

void conversation::earlier(std::string_view text)
{
  notice(display_line::kind::event, text);
}

// One "212-<id> <time> <nick> <text>" line (N-HIST-3). Shown only when it
// is well-formed, newer than the one before it, and, once ids are on, not
// newer than the 213's <joined> (N-HIST-5); at most max_history_items, and
// no more than the server keeps or the HISTORY asked for.
void conversation::on_history_item(const sent& cmd, std::string_view item)
{
  if (cmd.purpose == recall::discard)
    return;
  const std::optional<std::uint64_t> id = decimal(first_word(item));
  const std::string_view after_id = after_word(item);
  const std::optional<std::time_t> at = parse_message_time(first_word(after_id));
  const std::string_view nick = first_word(after_word(after_id));
  const std::string_view text = after_word(after_word(after_id));
  const bool ordered = id && *id > recall_.last && (ids_ != ids_state::on || *id <= joined_);
  if (!ordered || !at || !proto::is_valid_nick(nick) || text.empty())
  {
    ++recall_.left_out;
    return;
  }
  recall_.last = *id;
  const bool catching_up = cmd.purpose == recall::after || cmd.purpose == recall::restart;
  if (!std::exchange(recall_.opened, true))
    earlier(cmd.purpose == recall::after     ? "-- missed while you were away --"
            : cmd.purpose == recall::restart ? "-- said since the server restarted --"
                                             : "-- earlier messages --");
  if (catching_up)
  {
    if (*id <= last_id_)
      return; // shown already
    if (*id > last_id_ + 1)
    {
      const std::uint64_t gap = *id - last_id_ - 1;
      recall_.lost += gap;
      error(count_of(gap, "message", "messages") + " lost here: the server no longer keeps " +
            (gap == 1 ? "it" : "them"));
    }
    last_id_ = *id;
  }
  std::size_t limit = max_history_items;
  if (history_)
    limit = static_cast<std::size_t>(std::min<std::uint64_t>(limit, *history_));
  if (const std::optional<std::uint64_t> count = decimal(cmd.arg))
    limit = static_cast<std::size_t>(std::min<std::uint64_t>(limit, *count));
  if (recall_.shown >= limit)
  {
    ++recall_.left_out;
    return;
  }
  ++recall_.shown;
  show(display_line::kind::chat, format_earlier(stamp_(*at), nick, text, opts_.colour));
}

// "212 end of history": says what the reply held and, after a reconnection,
// how many messages were missed and how many of them are lost.
void conversation::on_history_end(const sent& cmd)
{
  const recalled got = recall_;
  recall_ = recalled{};
  if (cmd.purpose == recall::discard)
    return;
  const std::string left_out =
      got.left_out == 0 ? std::string()
                        : " (and " + count_of(got.left_out, "line", "lines") + " not shown)";
  if (cmd.purpose == recall::asked || cmd.purpose == recall::first)
  {
    if (got.shown + got.left_out == 0)
    {
      if (cmd.purpose == recall::asked)
        notice(display_line::kind::event, "no earlier messages are kept");
      return;
    }
    earlier(cmd.purpose == recall::first ? "-- now" + left_out + " --"
                                         : "-- end of earlier messages" + left_out + " --");
    return;
  }
  // Ids up to <joined> the reply did not reach are no longer kept: an
  // empty reply with <joined> above the last id seen is all gap.
  std::uint64_t lost = got.lost;
  if (ids_ == ids_state::on && joined_ > last_id_)
  {
    lost += joined_ - last_id_;
    last_id_ = joined_;
  }
  const std::uint64_t missed = got.shown + got.left_out + lost;
  const bool restart = cmd.purpose == recall::restart;
  if (missed == 0)
  {
    notice(display_line::kind::event, restart ? "nothing was said since the server restarted"
                                              : "no messages missed while you were away");
    return;
  }
  std::string line = "-- now: " + std::string(restart ? "since the restart " : "") + "missed " +
                     count_of(missed, "message", "messages");
  if (got.shown > 0)
    line += ", " + std::to_string(got.shown) + " shown above";
  if (got.left_out > 0)
    line += ", " + std::to_string(got.left_out) + " not shown";
  if (lost > 0)
  {
    line += ", " + std::to_string(lost) + " lost";
    if (history_)
      line += " (the server keeps only the last " + std::to_string(*history_) + ")";
  }
  line += " --";
  if (lost > 0)
    error(line);
  else
    earlier(line);
}

void conversation::on_pong(std::string_view token, bool has_token)
{
  const std::optional<sent> ping =
      take_answered([&](const sent& c) { return c.what == sent::verb::ping && c.arg == token; });
  if (ping && token == eof_barrier_token && barrier_sent_)
  {
    // Everything sent before the barrier has been processed.
    barrier_sent_ = false;
    quit({});
    return;
  }
  if (ping && token.starts_with(confirm_token))
    return; // the messages before it went through: nothing to show
  if (ping)
  {
    const auto rtt = std::chrono::duration_cast<std::chrono::microseconds>(steady_() - ping->at);
    const auto ms = static_cast<double>(rtt.count()) / 1000.0;
    char buf[64];
    std::snprintf(buf, sizeof buf, "pong from server: %.1f ms", ms);
    notice(display_line::kind::event, buf);
    return;
  }
  notice(display_line::kind::event, has_token ? "PONG " + std::string(token) : "PONG");
}

// Spec 7 lists the replies of each command. Any command can be refused
// with a 4xx; a success code answers only its own command, so one natter
// does not know answers only a /raw line natter does not know either.
bool conversation::answers(const sent& cmd, proto::reply_code code, std::string_view text) noexcept
{
  using rc = proto::reply_code;
  using v = sent::verb;
  if (cmd.what == v::other)
    return true;
  switch (code)
  {
  case rc::nick_accepted:
  case rc::invalid_nick:
  case rc::nick_in_use: return cmd.what == v::nick;
  case rc::who: return cmd.what == v::who;
  case rc::help: return cmd.what == v::help;
  case rc::closing: return cmd.what == v::quit;
  case rc::history: return cmd.what == v::history;
  case rc::ids: return cmd.what == v::ids;
  // 434 names the nick as the TELL wrote it (N-TELL-3): it tells which
  // TELL failed among the ones before it that went through unanswered.
  case rc::no_such_nick: return cmd.what == v::tell && first_word(cmd.arg) == first_word(text);
  case rc::bad_argument:
  {
    const std::string_view verb = first_word(text);
    return cmd.what == (verb == "NICK"      ? v::nick
                        : verb == "TELL"    ? v::tell
                        : verb == "HISTORY" ? v::history
                                            : v::msg);
  }
  case rc::not_registered:
    return cmd.what == v::msg || cmd.what == v::who || cmd.what == v::tell ||
           cmd.what == v::history || cmd.what == v::ids;
  default: return static_cast<int>(code) / 100 == 4;
  }
}

// The oldest command awaiting an answer that `fits` says this answer is
// for, passing over MSGs and TELLs: when one succeeds the server says
// nothing, so a later command's answer tells that the ones before it went
// through.
template <class Fits>
std::optional<conversation::sent> conversation::take_answered(Fits fits)
{
  for (auto it = awaiting_.begin(); it != awaiting_.end(); ++it)
  {
    if (fits(*it))
    {
      sent cmd = *it;
      if (it->what == sent::verb::msg && it->runs > 1)
        --it->runs; // one MSG of the run was refused
      else
        ++it;
      awaiting_.erase(awaiting_.begin(), it);
      ++answers_;
      return cmd;
    }
    if (!unanswered_on_success(*it))
      break;
  }
  return std::nullopt;
}

template <class Fits>
const conversation::sent* conversation::awaited(Fits fits) const
{
  for (const sent& cmd : awaiting_)
  {
    if (fits(cmd))
      return &cmd;
    if (!unanswered_on_success(cmd))
      return nullptr;
  }
  return nullptr;
}

// Acts on a reply only when it answers a command sent on this connection:
// a reply that answers nothing (a hostile or broken server's) changes no
// state, whatever its code says.
void conversation::on_reply(proto::reply_code code, bool more, std::string_view text)
{
  using rc = proto::reply_code;
  if (code == rc::greeting)
    return; // it answers connecting: server_line() reads it
  if (static_cast<int>(code) / 100 == 5)
  {
    // The server ends the connection (spec 8.1); the close will follow.
    error(proto::to_string(code) + " " + std::string(text));
    return;
  }
  const auto fits = [&](const sent& cmd) { return answers(cmd, code, text); };
  if (more)
  {
    // A line of a multi-line reply: kept or shown only as part of an answer.
    const sent* cmd = awaited(fits);
    if (!cmd)
      return;
    if (code == rc::history)
      on_history_item(*cmd, text);
    else if (code != rc::who)
      on_answer(sent{sent::verb::other, {}}, code, text);
    else if (who_.size() < max_who_nicks && proto::is_valid_nick(text))
      who_.emplace_back(text); // a who-item is a nick (spec 7.6)
    else
      ++who_left_out_; // a reply that never ends holds no memory
    return;
  }
  if (const std::optional<sent> cmd = take_answered(fits))
    on_answer(*cmd, code, text);
  else
    on_unasked(code, text);
  if (catching_up_ && !catch_up_pending())
    finish_catch_up();
}

void conversation::on_answer(const sent& cmd, proto::reply_code code, std::string_view text)
{
  using rc = proto::reply_code;
  if (code == rc::who)
  {
    std::string line(text);
    if (!who_.empty())
    {
      line += ':';
      for (const std::string& n : who_)
        line += ' ' + n;
    }
    if (who_left_out_ > 0)
      line += " (and " + std::to_string(who_left_out_) + " more lines not shown)";
    who_.clear();
    who_left_out_ = 0;
    notice(display_line::kind::event, line);
    return;
  }
  if (code == rc::help)
  {
    notice(display_line::kind::event, text);
    return;
  }
  if (code == rc::history)
  {
    on_history_end(cmd);
    return;
  }
  if (code == rc::ids)
  {
    on_ids(text);
    return;
  }
  if (code == rc::no_such_nick && cmd.what == sent::verb::tell)
  {
    const std::string_view to = first_word(cmd.arg);
    error("not delivered to " + std::string(to) +
          ": nobody here has that nick (you said: " + std::string(after_word(cmd.arg)) + ")");
    return;
  }
  if (cmd.what == sent::verb::ids)
    on_ids_refused();
  if (cmd.what == sent::verb::history && cmd.purpose != recall::asked)
  {
    recall_ = recalled{};
    if (cmd.purpose != recall::discard)
      error("could not fetch what was said before: " + proto::to_string(code) + " " +
            std::string(text));
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
    const std::string accepted = proto::is_valid_nick(word) ? std::string(word) : cmd.arg;
    if (!registered_)
    {
      const bool first_time = !ever_registered_;
      registered_ = true;
      nick_ = accepted;
      wanted_ = accepted;
      out_.nick_changed = true;
      notice(display_line::kind::status, ever_registered_
                                             ? "you are " + accepted + " again"
                                             : "you are " + accepted + "; type /help for commands");
      ever_registered_ = true;
      start_catch_up(first_time);
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
  if (!registered_ && cmd.what == sent::verb::nick &&
      (code == rc::nick_in_use || code == rc::invalid_nick || code == rc::bad_argument))
  {
    on_registration_refused(code, text);
    return;
  }
  // Any other code by its class [N-REPLY-9]: 2xx is news of a success,
  // 4xx an error.
  const std::string shown = proto::to_string(code) + " " + std::string(text);
  if (static_cast<int>(code) / 100 == 2)
    notice(display_line::kind::event, shown);
  else
    error(shown);
}

// A reply to nothing natter sent: shown for what it is, acted on never.
void conversation::on_unasked(proto::reply_code code, std::string_view text)
{
  const std::string shown = proto::to_string(code) + " " + std::string(text);
  if (static_cast<int>(code) / 100 == 2)
    notice(display_line::kind::status, "ignored a reply to nothing natter sent: " + shown);
  else
    error(shown);
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
  // The additions offered (N-CONN-17): without their keys natter uses
  // neither, as with a server written before them.
  if (const auto kept = g.find(proto::advert_key::history))
    history_ = decimal(*kept);
  tell_ = g.find(proto::advert_key::tell) == std::string_view("1");
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
  drop_held();
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
  case k::message:
    if (!sendable(in.text))
      return;
    break;
  case k::raw:
  case k::echo:
  case k::tell:
    if (!valid(in.text))
      return;
    break;
  case k::nick:
  case k::who:
  case k::history:
  case k::ping: break;
  }
  submit(held{in.what, std::move(in.text), false, std::string(line), std::move(in.target)});
}

void conversation::message(std::string_view text)
{
  if (sendable(text))
    submit(held{user_input::kind::message, std::string(text), false, {}});
}

void conversation::input_ended()
{
  if (input_ended_ || quitting_)
    return;
  input_ended_ = true;
  submit(held{user_input::kind::ping, std::string(eof_barrier_token), true, {}});
}

void conversation::quit(std::string_view reason)
{
  if (quitting_)
    return;
  quitting_ = true;
  drop_held();
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
  if (!item.typed.empty())
  {
    // The typed line has left the screen: say where it went.
    notice(display_line::kind::status,
           std::string("not sent yet, held until ") +
               (connected_ ? "the server accepts the nick: " : "reconnected: ") + item.typed);
  }
  else if (!connected_ && !told_held_)
  {
    told_held_ = true;
    notice(display_line::kind::status, "not connected; will send once reconnected");
  }
  held_.push_back(std::move(item));
}

bool conversation::waiting() const noexcept
{
  return connected_ &&
         (!registered_ || std::any_of(awaiting_.begin(), awaiting_.end(),
                                      [](const sent& c) { return !unanswered_on_success(c); }));
}

std::size_t conversation::pings_awaited() const noexcept
{
  return static_cast<std::size_t>(std::count_if(awaiting_.begin(), awaiting_.end(),
                                                [](const sent& c)
                                                { return c.what == sent::verb::ping; }));
}

std::size_t conversation::held_lines() const noexcept
{
  return static_cast<std::size_t>(
      std::count_if(held_.begin(), held_.end(), [](const held& item) { return !item.barrier; }));
}

// Forgets what is held, saying how many lines will never be sent.
void conversation::drop_held()
{
  const std::size_t lines = held_lines();
  held_.clear();
  if (lines > 0)
    error("not sent: " + std::to_string(lines) + (lines == 1 ? " line" : " lines") +
          " held while not registered");
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
    // Once IDS is on the server sends our messages back, numbered among
    // the others (N-IDS-3): they are shown then, not twice.
    if (opts_.show_own && ids_ == ids_state::off)
      show(display_line::kind::chat, format_message(clock_(), nick_, item.text, opts_.colour));
    else if (opts_.show_own && ids_ == ids_state::asked && unechoed_.size() < max_held)
      unechoed_.push_back(item.text);
    if (opts_.confirm_every > 0 && ++since_ping_ >= opts_.confirm_every)
      send(std::string("PING ") + std::string(confirm_token) + std::to_string(++next_ping_));
    return;
  case k::nick: send("NICK " + item.text); return;
  case k::tell:
  {
    if (!tell_)
    {
      error("not sent: this server does not offer private messages (no tell=1 in its greeting)");
      return;
    }
    const std::string arg = item.target + " " + item.text;
    if (!fits("TELL", arg))
      return;
    send("TELL " + arg);
    // The server says nothing to the sender of a TELL that went through
    // (N-TELL-4): the line is shown here.
    show(display_line::kind::chat,
         format_private_sent(clock_(), item.target, item.text, opts_.colour));
    return;
  }
  case k::history:
    if (!history_)
    {
      error("not sent: this server keeps no history (no history= in its greeting)");
      return;
    }
    send_history(item.text, recall::asked);
    return;
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
    send("PING natter-" + std::to_string(++next_ping_));
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

bool conversation::sendable(std::string_view text)
{
  if (text.find_first_not_of(' ') == std::string_view::npos)
    return false; // the server would ignore it, or refuse "MSG " with 400
  return valid(text);
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

// Every line sent is remembered until answered, so that a reply is acted
// on only as the answer to the command it answers.
void conversation::send(std::string line)
{
  using v = sent::verb;
  std::string verb(first_word(line));
  for (char& c : verb)
    c = proto::ascii_lower(c);
  std::string_view arg = std::string_view(line).substr(verb.size());
  arg.remove_prefix(std::min(arg.find_first_not_of(' '), arg.size())); // spec 7.1
  const v what = verb == "nick"      ? v::nick
                 : verb == "msg"     ? v::msg
                 : verb == "who"     ? v::who
                 : verb == "help"    ? v::help
                 : verb == "echo"    ? v::echo
                 : verb == "ping"    ? v::ping
                 : verb == "quit"    ? v::quit
                 : verb == "tell"    ? v::tell
                 : verb == "history" ? v::history
                 : verb == "ids"     ? v::ids
                                     : v::other;
  if (what == v::ping)
    since_ping_ = 0; // any PING confirms what was sent before it
  if (what == v::msg && !awaiting_.empty() && awaiting_.back().what == v::msg)
    ++awaiting_.back().runs;
  else
    awaiting_.push_back(sent{what, std::string(arg), 1, steady_()});
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
