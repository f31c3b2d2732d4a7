#include "case_client.hpp"

#include "line_regex.hpp"

#include "natter/proto/greeting.hpp"
#include "natter/proto/reply.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <thread>
#include <utility>

namespace natter::conform
{

namespace
{

using proto::reply_code;

/// True when `s` starts with the command `word` (lower case), ignoring case.
bool starts_with_ci(std::string_view s, std::string_view word)
{
  if (s.size() < word.size())
    return false;
  for (std::size_t k = 0; k < word.size(); ++k)
    if (std::tolower(static_cast<unsigned char>(s[k])) != word[k])
      return false;
  return s.size() == word.size() || s[word.size()] == ' ' || s[word.size()] == '\r' ||
         s[word.size()] == '\n';
}

std::string milliseconds_since(clock::time_point start)
{
  return std::to_string(
      std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start).count());
}

} // namespace

case_client::case_client(std::string name, case_context& ctx, bool on_peer)
    : name_(std::move(name)), ctx_(ctx), on_peer_(on_peer), checks_(name_, ctx.opt.max_line)
{
}

const std::string& case_client::chat_host() const noexcept
{
  return on_peer_ ? ctx_.opt.peer_host : ctx_.opt.host;
}

std::uint16_t case_client::chat_port() const noexcept
{
  return on_peer_ ? ctx_.opt.peer_port : ctx_.opt.port;
}

case_client::~case_client()
{
  ctx_.held -= held_;
}

bool case_client::live() const noexcept
{
  return connected() && !echo_ && !plaintext_ && !over() && !conn_.shut() && !quit_sent_ &&
         !checks_.got_closing_reply() && !corked_;
}

clock::time_point case_client::deadline() const
{
  return clock::now() + ctx_.opt.timeout;
}

void case_client::note(std::string_view op, std::string_view text)
{
  ctx_.log.add(name_ + std::string(op) + " " + printable(text));
}

// ---- connecting and sending ----

void case_client::connect(bool raw, bool echo, int rcvbuf, const std::string& source, transport how)
{
  echo_ = echo;
  plaintext_ = how == transport::plaintext;
  SSL_CTX* const tls = echo || plaintext_        ? nullptr
                       : how == transport::usual ? ctx_.opt.tls.usual
                                                 : ctx_.opt.tls.no_alpn;
  const std::string err =
      echo ? conn_.connect(ctx_.opt.host, ctx_.opt.echo_port, deadline(), rcvbuf, source, tls)
           : conn_.connect(chat_host(), chat_port(), deadline(), rcvbuf, source, tls);
  if (!err.empty())
    throw failure{name_ + " cannot connect: " + err + (tls ? " [N-TLS-2]" : ""), {}};
  connected_at_ = clock::now();
  ctx_.log.add(name_ + " (connected to the " + std::string(echo ? "echo" : "chat") + " service" +
               (on_peer_ && !echo ? " of the peer" : "") +
               (tls ? " over " + conn_.tls_version() + ", ALPN " +
                          (conn_.alpn().empty() ? "none" : conn_.alpn())
                    : std::string(plaintext_ ? " without TLS" : "")) +
               (source.empty() ? std::string() : " from " + source) +
               (rcvbuf > 0 ? ", SO_RCVBUF " + std::to_string(rcvbuf) : std::string()) + ")");
  if (plaintext_)
    raw = true;
  if (raw || echo)
    return;
  const std::string greeting = proto::to_string(reply_code::greeting) + " natter/1";
  const auto it = next_item(deadline());
  if (!it || it->telnet || !(it->bytes == greeting || it->bytes.rfind(greeting + " ", 0) == 0))
    throw failure{name_ + " did not receive the greeting [N-CONN-1]",
                  {"expected: " + name_ + "< " + greeting + " {*}",
                   it ? "actual:   " + name_ + "< " + printable(it->bytes) : nothing_came()}};
  greeting_ = it->bytes;
}

void case_client::send(const std::string& bytes, bool line)
{
  if (!connected())
    connect(false, false);
  checks_.sent(bytes);
  if (!echo_ && starts_with_ci(bytes, "quit"))
    quit_sent_ = true;
  note(line ? ">" : ">>", line ? std::string_view(bytes).substr(0, bytes.size() - 2) : bytes);
  if (corked_)
    cork_ += bytes;
  else
    write(bytes);
}

void case_client::write(const std::string& bytes)
{
  if (!conn_.write(bytes, clock::now() + ctx_.opt.timeout * 4, held_bound(ctx_.opt)))
    throw failure{name_ + " could not send within " + std::to_string(ctx_.opt.timeout.count() * 4) +
                      " ms",
                  {}};
  // A reset while sending is left for the expectations to discover.
  receive();
}

void case_client::cork(bool on)
{
  corked_ = on;
  if (on)
  {
    if (!connected())
      connect(false, false);
    return;
  }
  ctx_.log.add(name_ + " (the " + std::to_string(cork_.size()) +
               " octets sent since 'cork' go out in one write)");
  const std::string bytes = std::move(cork_);
  cork_.clear();
  write(bytes);
}

void case_client::uncork_together(const std::vector<case_client*>& clients)
{
  case_context& ctx = clients.front()->ctx_;
  std::vector<std::string> bytes;
  std::string shown;
  for (case_client* c : clients)
  {
    shown += (shown.empty() ? "" : ", ") + c->name_ + " " + std::to_string(c->cork_.size());
    bytes.push_back(std::move(c->cork_));
    c->cork_.clear();
    c->corked_ = false;
  }
  ctx.log.add("(at the same moment, each from its own thread, the octets sent since 'cork' go " +
              std::string("out: ") + shown + ")");
  // The others wait for `go` spinning, not asleep, so that none of them is
  // still being woken when the first write has long begun. This thread
  // writes for the first client once all of them are spinning.
  const auto deadline = clock::now() + ctx.opt.timeout * 4;
  std::vector<char> written(clients.size(), 0);
  std::atomic<std::size_t> ready{0};
  std::atomic<bool> go{false};
  auto wait_for = [&](auto&& done)
  {
    while (!done() && clock::now() < deadline)
      std::this_thread::yield();
  };
  {
    std::vector<std::jthread> writers;
    for (std::size_t k = 1; k < clients.size(); ++k)
      writers.emplace_back(
          [&, k]
          {
            ready.fetch_add(1);
            wait_for([&] { return go.load(); });
            written[k] = clients[k]->conn_.write(bytes[k], deadline, held_bound(ctx.opt));
          });
    wait_for([&] { return ready.load() == clients.size() - 1; });
    go.store(true);
    written[0] = clients[0]->conn_.write(bytes[0], deadline, held_bound(ctx.opt));
  }
  for (std::size_t k = 0; k < clients.size(); ++k)
  {
    if (written[k] == 0)
      throw failure{clients[k]->name_ + " could not send within " +
                        std::to_string(ctx.opt.timeout.count() * 4) + " ms",
                    {}};
    clients[k]->receive();
  }
}

void case_client::close(bool reset)
{
  conn_.close(reset);
  ctx_.log.add(name_ + " (closed" + std::string(reset ? " with a reset)" : ")"));
}

void case_client::shutdown()
{
  conn_.shutdown_send();
  ctx_.log.add(name_ + " (shut down its sending side)");
}

// ---- receiving ----

/// Frames what arrived, checks every frame, and queues those of the case.
void case_client::receive()
{
  if (echo_ || plaintext_)
    return account();
  while (std::optional<frame> f = take_frame(conn_.received()))
  {
    ++lines_in_wait_;
    if (f->telnet)
    {
      checks_.telnet(f->bytes);
      note("<<", f->bytes);
      queue(std::move(*f));
      continue;
    }
    checks_.line(f->bytes, f->crlf);
    if (!foreign(*f))
    {
      if (skip_ && matches(*skip_, f->bytes))
      {
        ++skipped_; // checked like any line, then set aside uncounted in the transcript
        continue;
      }
      note("<", f->bytes);
    }
    queue(std::move(*f));
  }
  checks_.unterminated(conn_.received().size());
  account();
}

/// Updates the case's count of octets held; fails the case over the bound,
/// so a server that sends more than the case takes cannot grow the runner.
void case_client::account()
{
  const std::size_t mine = items_octets_ + conn_.received().size();
  ctx_.held = ctx_.held - held_ + mine;
  held_ = mine;
  const std::size_t bound = held_bound(ctx_.opt);
  if (ctx_.held <= bound)
    return;
  throw failure{
      "the case holds " + std::to_string(ctx_.held) +
          " octets received and not yet expected, over the bound of " + std::to_string(bound) +
          " (" + name_ + " " + std::to_string(mine) + ")",
      {items_.empty()
           ? "actual:   " + name_ + "<< " + printable(conn_.received().substr(0, 64)) + "..."
           : "actual:   " + std::to_string(items_.size()) + " lines for " + name_ +
                 ", the first: " + printable(items_.front().bytes.substr(0, 64))}};
}

/// Waits once for more input. False when nothing more can arrive in time,
/// and once `until` has passed: the deadline is absolute, so a server that
/// keeps sending cannot keep a step waiting.
bool case_client::wait(clock::time_point until)
{
  if (until != waiting_until_)
  {
    waiting_until_ = until;
    lines_in_wait_ = 0;
    octets_in_wait_ = 0;
  }
  ran_out_busy_ = false;
  if (clock::now() >= until)
  {
    ran_out_busy_ = octets_in_wait_ != 0;
    return false;
  }
  const std::size_t before = conn_.received().size();
  switch (conn_.wait_for_input(until))
  {
  case arrival::nothing: return false;
  case arrival::octets:
    octets_in_wait_ += conn_.received().size() - before;
    receive();
    return true;
  case arrival::end:
    ctx_.log.add(name_ + " (connection closed by the server" +
                 std::string(conn_.reset()            ? ", reset)"
                             : conn_.close_notified() ? ", with a TLS close_notify)"
                                                      : ")"));
    receive();
    if (!echo_ && !plaintext_)
      checks_.ended(conn_.received());
    return true;
  }
  return false;
}

/// Events and WHO lines about other cases' clients, which run at the same
/// time in the same room: not part of this case.
bool case_client::foreign(const frame& f) const
{
  return !f.telnet && ctx_.nicks.about_others(f.bytes);
}

void case_client::drop_foreign()
{
  while (!items_.empty() && foreign(items_.front()))
    unqueue(items_.begin());
}

/// What an item costs to hold: its octets and its bookkeeping, so that
/// short lines cannot hold much more memory than the count says.
std::size_t case_client::cost(const frame& f)
{
  return f.bytes.size() + sizeof(frame);
}

void case_client::queue(frame f)
{
  items_octets_ += cost(f);
  items_.push_back(std::move(f));
}

/// Takes `it` off the queue.
frame case_client::unqueue(std::deque<frame>::iterator it)
{
  frame f = std::move(*it);
  items_octets_ -= cost(f);
  items_.erase(it);
  account();
  return f;
}

/// The next item of this case already received, if any.
std::optional<frame> case_client::queued_item()
{
  drop_foreign();
  if (items_.empty())
    return std::nullopt;
  return unqueue(items_.begin());
}

/// The next item of this case, or nothing (timeout or closed).
std::optional<frame> case_client::next_item(clock::time_point until)
{
  for (;;)
  {
    if (auto f = queued_item())
      return f;
    if (!wait(until))
      return std::nullopt;
  }
}

std::string case_client::actual(const frame& f) const
{
  return "actual:   " + name_ + (f.telnet ? "<< " : "< ") + printable(f.bytes);
}

std::string case_client::nothing_came() const
{
  if (conn_.ended())
    return "actual: (the connection was closed)";
  if (ran_out_busy_)
    return "actual: (the step's deadline passed while the server kept sending: " +
           std::to_string(lines_in_wait_) + " lines, " + std::to_string(octets_in_wait_) +
           " octets since the wait began, not the one awaited)";
  return "actual: (nothing within " + std::to_string(ctx_.opt.timeout.count()) + " ms)";
}

// ---- expectations ----

void case_client::sync()
{
  const std::string token = ctx_.barrier_token();
  send("PING " + token + "\r\n", true);
  const std::string pong = "PONG " + token;
  const auto until = deadline();
  // Each item is looked at once: waiting only adds items at the back.
  for (std::size_t seen = 0;;)
  {
    for (; seen < items_.size(); ++seen)
      if (!items_[seen].telnet && items_[seen].bytes == pong)
      {
        unqueue(items_.begin() + static_cast<std::ptrdiff_t>(seen));
        return;
      }
    if (!wait(until))
      throw failure{name_ + " got no PONG for its barrier PING (N-FRAME-16, N-FRAME-17)",
                    {nothing_came()}};
  }
}

void case_client::expect_silence()
{
  const std::string token = ctx_.barrier_token();
  send("PING " + token + "\r\n", true);
  const auto it = next_item(deadline());
  if (!it || it->telnet || it->bytes != "PONG " + token)
    throw failure{name_ + " received something it should not have (before its barrier's PONG: "
                          "N-FRAME-16, N-FRAME-17)",
                  {"expected: " + name_ + "< PONG " + token + " (nothing before it)",
                   it ? actual(*it) : nothing_came()}};
}

void case_client::register_as(const std::string& nick)
{
  if (!connected())
    connect(false, false);
  send("NICK " + nick + "\r\n", true);
  const std::string accepted = proto::to_string(reply_code::nick_accepted) + " " + nick;
  const auto it = next_item(deadline());
  if (!it || it->telnet || it->bytes.rfind(accepted + " ", 0) != 0)
    throw failure{name_ + " could not register as " + nick,
                  {"expected: " + name_ + "< " + accepted + " {*}",
                   it ? "actual:   " + name_ + "< " + printable(it->bytes) : nothing_came()}};
  registered_ = true;
}

void case_client::expect_join(const std::string& nick)
{
  const auto ev = next_item(deadline());
  if (!ev || ev->telnet || ev->bytes != "JOIN " + nick)
    throw failure{name_ + " was not told that " + nick + " joined",
                  {"expected: " + name_ + "< JOIN " + nick,
                   ev ? "actual:   " + name_ + "< " + printable(ev->bytes) : nothing_came()}};
}

void case_client::expect_line(const pattern& p)
{
  const std::string shown = name_ + "< " + p.to_string();
  const auto it = next_item(deadline());
  if (!it || it->telnet || !matches(p, it->bytes))
    throw failure{"unexpected line for " + name_,
                  {"expected: " + shown, it ? actual(*it) : nothing_came()}};
}

void case_client::expect_regex(const std::string& re_text)
{
  const line_regex re(re_text);
  const std::string shown = name_ + "<~ " + re_text;
  const auto it = next_item(deadline());
  if (!it || it->telnet || !re.matches(it->bytes))
    throw failure{"unexpected line for " + name_,
                  {"expected: " + shown, it ? actual(*it) : nothing_came()}};
}

void case_client::expect_reply(const std::string& code, const std::vector<std::string>& words)
{
  // A bound on the lines of one reply, so a server that never ends it
  // cannot keep the case running.
  constexpr std::size_t max_lines = 1000;
  std::string shown = name_ + ": reply " + code;
  if (!words.empty())
    shown += " naming";
  for (const std::string& w : words)
    shown += " " + printable(w);
  // Of each line, only as much as the words need: every word and a SP.
  std::size_t keep = 1;
  for (const std::string& w : words)
    keep = std::max(keep, w.size() + 1);
  std::vector<std::string> texts;
  const auto until = deadline();
  for (;;)
  {
    const auto it = next_item(until);
    const reply_part part = it && !it->telnet ? split_reply(it->bytes, code) : reply_part{};
    if (part.what == reply_part::kind::other)
      throw failure{"unexpected line for " + name_ +
                        (texts.empty() ? std::string() : " inside its " + code + " reply"),
                    {"expected: " + shown, it ? actual(*it) : nothing_came()}};
    if (part.what == reply_part::kind::last)
    {
      if (texts.empty())
        throw failure{name_ + "'s " + code + " reply has no " + code + "- line before its last",
                      {"expected: " + shown, actual(*it)}};
      break;
    }
    texts.emplace_back(part.text.substr(0, keep));
    if (texts.size() > max_lines)
      throw failure{name_ + "'s " + code + " reply goes on for over " + std::to_string(max_lines) +
                        " lines",
                    {"expected: " + shown}};
  }
  const std::vector<std::string> missing = words_not_leading(texts, words);
  if (missing.empty())
    return;
  std::string absent;
  for (const std::string& w : missing)
    absent += " " + printable(w);
  std::string leading;
  for (const std::string& t : texts)
    leading += " " + printable(t.substr(0, t.find(' ')));
  throw failure{"no " + code + "- line of " + name_ + "'s reply begins with" + absent,
                {"expected: " + shown, "actual:   " + code + "- lines beginning with" + leading}};
}

void case_client::expect_bytes(const std::string& want)
{
  if (!echo_)
  {
    const auto it = next_item(deadline());
    if (!it || !it->telnet || it->bytes != want)
      throw failure{
          "unexpected octets for " + name_,
          {"expected: " + name_ + "<< " + printable(want), it ? actual(*it) : nothing_came()}};
    return;
  }
  // Echo: octets in order; big transfers get a proportionally longer bound.
  std::string& got = conn_.received();
  const auto until = deadline() + std::chrono::milliseconds(want.size() / 1000);
  while (got.size() < want.size())
    if (!wait(until))
      break;
  const std::size_t n = std::min(got.size(), want.size());
  std::size_t same = 0;
  while (same < n && got[same] == want[same])
    ++same;
  if (same < want.size())
  {
    const std::size_t from = same > 16 ? same - 16 : 0;
    throw failure{
        name_ + ": echoed octets differ from what was sent, at octet " + std::to_string(same) +
            " of " + std::to_string(want.size()),
        {"expected: ..." + printable(want.substr(from, 48)),
         "actual:   ..." +
             printable(got.substr(from, std::min<std::size_t>(48, got.size() - from))) +
             (got.size() < want.size() ? " (" + std::to_string(got.size()) + " octets arrived)"
                                       : "")}};
  }
  ctx_.log.add(name_ + "<< (" + std::to_string(want.size()) + " octets, as sent)");
  got.erase(0, want.size());
  account();
}

void case_client::expect_closed()
{
  const auto until = deadline();
  for (;;)
  {
    if (echo_ || plaintext_)
    {
      if (!conn_.received().empty())
        throw failure{name_ + " received octets instead of the close",
                      {"expected: " + name_ + ": closed",
                       "actual:   " + name_ + "<< " + printable(conn_.received().substr(0, 64))}};
    }
    else if (const auto it = queued_item(); it)
      throw failure{name_ + " received a line instead of the close",
                    {"expected: " + name_ + ": closed", actual(*it)}};
    if (conn_.ended() && conn_.tls() && !conn_.close_notified())
      throw failure{name_ + ": the server ended the TLS connection without a close_notify" +
                        (conn_.tls_error().empty() ? "" : " (" + conn_.tls_error() + ")") +
                        " [N-TLS-9]",
                    {"expected: " + name_ + ": closed (close_notify, then the TCP close)",
                     std::string("actual:   ") + (conn_.reset() ? "a reset" : "the TCP close")}};
    if (conn_.ended())
      return;
    if (!wait(until))
      throw failure{name_ + ": the server did not close the connection",
                    {"expected: " + name_ + ": closed", nothing_came()}};
  }
}

bool case_client::anything_arrived()
{
  if (echo_)
    return !conn_.received().empty() || conn_.ended();
  drop_foreign();
  return !items_.empty() || conn_.ended();
}

// Waits for `name` (a timeout of `limit`, counted from `from`) to end the
// connection: nothing may arrive before `quiet_until`, and a line (the
// server's final reply, left queued for the next steps) or the close must
// arrive by `until`, which `bound` says in words.
void case_client::await_timeout(const std::string& name, clock::time_point from,
                                clock::duration limit, clock::time_point quiet_until,
                                clock::time_point until, const std::string& bound)
{
  while (!anything_arrived())
    if (!wait(until))
      break;
  const auto now = clock::now();
  const std::string waited =
      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now - from).count()) +
      " ms";
  const std::string shown =
      name + " (" +
      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(limit).count()) + " ms)";
  if (!anything_arrived())
    throw failure{
        name_ + " waited " + waited + " and the server neither sent anything nor " +
            "closed the connection",
        {"expected: the close or a line within " + shown + " " + bound, "actual:   (nothing)"}};
  if (now < quiet_until)
    throw failure{"the server ended " + name_ + "'s silence after only " + waited + "; " + shown,
                  {"expected: nothing for " +
                       std::to_string(
                           std::chrono::duration_cast<std::chrono::milliseconds>(quiet_until - from)
                               .count()) +
                       " ms",
                   echo_ ? "actual:   " + name_ + "<< " + printable(conn_.received().substr(0, 64))
                   : !items_.empty() ? actual(items_.front())
                                     : "actual:   (the connection was closed)"}};
  ctx_.log.add(name_ + " (waited " + waited + " for " + name + ")");
}

// Nothing may arrive for three quarters of T (a quarter is the tolerance
// for the time the server took to send what arrived last, and for timers);
// then a line or the close must arrive within T plus the bound of a wait,
// and stays queued for the next steps.
void case_client::stay_idle()
{
  const auto start = clock::now();
  const auto t = std::chrono::duration_cast<clock::duration>(echo_ ? ctx_.opt.echo_idle_timeout
                                                                   : ctx_.opt.idle_timeout);
  await_timeout(echo_ ? "the echo idle timeout" : "the idle timeout", start, t, start + t - t / 4,
                start + t + ctx_.opt.timeout,
                "plus " + std::to_string(ctx_.opt.timeout.count()) + " ms");
}

// The registration timeout is absolute: counted from the connect, whatever
// was sent since (N-CONN-5). So the bound is tighter than idle's: R plus a
// quarter of R (at least 500 ms), or a server that restarted the time at
// the case's last line, three quarters of R after the connect, would pass.
void case_client::expect_registration_timeout()
{
  using namespace std::chrono_literals;
  const auto r = std::chrono::duration_cast<clock::duration>(ctx_.opt.registration_timeout);
  const auto slack = std::max<clock::duration>(r / 4, 500ms);
  await_timeout(
      "the registration timeout", connected_at_, r, connected_at_ + r - r / 4,
      connected_at_ + r + slack,
      "of the connect, plus " +
          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(slack).count()) +
          " ms");
}

void case_client::expect_adverts(std::string_view list)
{
  if (!greeting_)
    throw case_error(name_ + ": 'adverts' needs the greeting of a 'connect' without 'raw'");
  const proto::greeting g = proto::parse_greeting(*greeting_);
  std::size_t at = 0;
  while (at < list.size())
  {
    std::size_t end = list.find(' ', at);
    end = end == std::string_view::npos ? list.size() : end;
    const std::string_view want = list.substr(at, end - at);
    at = end + 1;
    if (want.empty())
      continue;
    const std::size_t eq = want.find('=');
    const std::string_view key = want.substr(0, eq);
    int count = 0;
    std::string_view value;
    for (const proto::advert& a : g.adverts)
      if (a.key == key && count++ == 0)
        value = a.value;
    const std::string actual_line = "actual:   " + name_ + "< " + printable(*greeting_);
    if (count != 1)
      throw failure{name_ + "'s greeting advertises " + std::string(key) + " " +
                        (count == 0 ? std::string("not at all") : std::to_string(count) + " times"),
                    {"expected: " + std::string(want) + " once", actual_line}};
    if (eq == std::string_view::npos)
      continue;
    const std::string_view expected = want.substr(eq + 1);
    const auto x = proto::advert_number(expected);
    const auto y = proto::advert_number(value);
    if (x && y ? *x != *y : expected != value)
      throw failure{name_ + "'s greeting advertises " + std::string(key) + "=" +
                        std::string(value) + ", not " + std::string(want),
                    {"expected: " + std::string(want), actual_line}};
  }
  ctx_.log.add(name_ + " (its greeting advertises " + std::string(list) + ")");
}

void case_client::start_skipping(pattern p)
{
  ctx_.log.add(name_ + " (skips lines matching " + p.to_string() + ")");
  skipped_ = 0;
  for (auto it = items_.begin(); it != items_.end();)
    if (!it->telnet && !foreign(*it) && matches(p, it->bytes))
    {
      ++skipped_;
      items_octets_ -= cost(*it);
      it = items_.erase(it);
    }
    else
      ++it;
  account();
  skip_ = std::move(p);
}

void case_client::expect_skipped(long want)
{
  const auto until = deadline();
  while (skipped_ < want)
    if (!wait(until))
      break;
  const std::string shown = skip_->to_string();
  const long got = skipped_;
  skip_.reset();
  skipped_ = 0;
  ctx_.log.add(name_ + " (skipped " + std::to_string(got) + " lines matching " + shown + ")");
  if (got != want)
    throw failure{name_ + " received " + std::to_string(got) + " lines matching " + shown +
                      (got < want ? " (the rest did not arrive)" : ""),
                  {"expected: " + std::to_string(want) + " such lines",
                   got < want ? nothing_came() : "actual:   " + std::to_string(got)}};
}

void case_client::expect_reset(long ms)
{
  const auto start = clock::now();
  const std::string limit = std::to_string(ms / 1000) + " s";
  if (conn_.ended())
  {
    ctx_.log.add(name_ + " (the connection had already ended)");
    return;
  }
  std::size_t unread = 0;
  const auto how = conn_.wait_dropped(start + std::chrono::milliseconds(ms), unread);
  const std::string waited = milliseconds_since(start);
  const std::string left = std::to_string(unread) + " octets unread";
  if (how == tcp_socket::drop::timeout)
    throw failure{"the server neither reset nor closed " + name_ + "'s connection within " + limit,
                  {"expected: " + name_ + ": reset within " + std::to_string(ms / 1000) + "s",
                   "actual:   (still open after " + waited + " ms, " + left + ")"}};
  ctx_.log.add(name_ + " (connection " +
               std::string(how == tcp_socket::drop::reset ? "reset" : "closed") +
               " by the server after " + waited + " ms, " + left + ")");
}

void case_client::backpressure(const std::string& unit, std::size_t limit)
{
  if (!connected())
    connect(false, false);
  const auto start = clock::now();
  const auto r = conn_.write_until_stalled(unit, limit, std::chrono::milliseconds(500),
                                           start + ctx_.opt.timeout * 4);
  using end = tcp_socket::stall_result::end;
  const std::string sent = std::to_string(r.written) + " octets";
  const std::string took = milliseconds_since(start) + " ms";
  ctx_.log.add(name_ + " (sent " + sent + " of " + printable(unit) + " without reading, in " +
               took + (r.how == end::stalled ? ", then the writes stalled)" : ")"));
  if (r.how == end::stalled)
    return;
  const std::string service = echo_ ? "the echo service" : "the server";
  const std::string why = r.how == end::limit ? service + " took " + sent + " without pushing back"
                          : r.how == end::failed ? "the connection failed after " + sent
                                                 : service + " was still taking octets after " +
                                                       took + " (" + sent + ")";
  throw failure{name_ + ", which reads nothing: " + why,
                {"expected: the writes stall before " + std::to_string(limit) + " octets"}};
}

void case_client::expect_alpn(const std::string& want)
{
  const std::string got = conn_.alpn().empty() ? "none" : conn_.alpn();
  if (got != want)
    throw failure{name_ + ": the TLS connection negotiated ALPN " + got + " [N-TLS-4]",
                  {"expected: " + name_ + ": alpn " + want, "actual:   alpn " + got}};
}

void case_client::expect_alert()
{
  // A record: type 0x15 (alert), version (2 octets), length (2), then the
  // alert itself.
  const auto until = deadline();
  const std::string& got = conn_.received();
  auto record_size = [&]
  {
    return got.size() < 5 ? std::size_t{5}
                          : 5 + (static_cast<std::size_t>(static_cast<unsigned char>(got[3])) << 8 |
                                 static_cast<unsigned char>(got[4]));
  };
  while (got.size() < record_size() && !conn_.ended() && wait(until))
  {
  }
  if (got.empty() || static_cast<unsigned char>(got[0]) != 0x15 || got.size() < record_size())
    throw failure{name_ + ": no TLS alert record arrived [N-TLS-8]",
                  {"expected: " + name_ + "<< \\x15 (an alert record), then the close",
                   got.empty() ? nothing_came()
                               : "actual:   " + name_ + "<< " + printable(got.substr(0, 64))}};
  note("<<", got.substr(0, record_size()));
  conn_.received().erase(0, record_size());
  while (got.empty() && !conn_.ended() && wait(until))
  {
  }
  if (!got.empty())
    throw failure{name_ + " received octets after the alert [N-TLS-8]",
                  {"expected: " + name_ + ": closed",
                   "actual:   " + name_ + "<< " + printable(got.substr(0, 64))}};
  if (!conn_.ended())
    throw failure{name_ + ": the server did not close the connection after its alert [N-TLS-8]",
                  {"expected: " + name_ + ": closed", nothing_came()}};
}

void case_client::expect_refused_old_tls()
{
  const std::string err =
      conn_.connect(chat_host(), chat_port(), deadline(), 0, {}, ctx_.opt.tls.tls11);
  if (err.empty())
    throw failure{
        name_ + ": the server completed a handshake offering only TLS 1.1 [N-TLS-3]",
        {"expected: the handshake fails", "actual:   " + conn_.tls_version() + " negotiated"}};
  if (!conn_.opened())
    throw failure{name_ + " cannot connect: " + err, {}};
  ctx_.log.add(name_ + " (offering only TLS 1.1: " + err + ")");
  conn_.close(true);
}

void case_client::expect_no_leftovers()
{
  if (echo_ || plaintext_)
  {
    if (!conn_.closed() && !conn_.received().empty())
      throw failure{name_ + " received octets the case did not expect",
                    {"actual:   " + name_ + "<< " + printable(conn_.received().substr(0, 64))}};
    return;
  }
  drop_foreign();
  if (!items_.empty())
    throw failure{name_ + " received a line the case did not expect", {actual(items_.front())}};
}

} // namespace natter::conform
