#include "engine.hpp"

#include "matcher.hpp"
#include "net.hpp"

#include "natter/proto/reply.hpp"
#include "natter/proto/server_line.hpp"

#include <algorithm>
#include <cctype>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <thread>

namespace natter::conform
{

namespace
{

using proto::reply_code;

/// A failed expectation; ends the case.
struct failure
{
  std::string reason;
  std::vector<std::string> details;
};

/// A line that no conforming server may send, whatever the case expects.
struct violation
{
  std::string id;
  std::string what;
};

/// One thing a chat client received: a line (without CRLF) or a telnet
/// answer (three octets between lines).
struct item
{
  bool telnet = false;
  std::string bytes;
};

/// What was sent and received: the first and the last lines of it, so a
/// case that moves thousands of lines still shows how it ended.
class transcript
{
public:
  void add(std::string line)
  {
    if (head_.size() < keep)
    {
      head_.push_back(std::move(line));
      return;
    }
    tail_.push_back(std::move(line));
    if (tail_.size() > keep)
    {
      tail_.pop_front();
      ++cut_;
    }
  }

  std::vector<std::string> take()
  {
    std::vector<std::string> out = std::move(head_);
    if (cut_ != 0)
      out.push_back("... (" + std::to_string(cut_) + " lines of the transcript cut)");
    out.insert(out.end(), std::make_move_iterator(tail_.begin()),
               std::make_move_iterator(tail_.end()));
    return out;
  }

private:
  static constexpr std::size_t keep = 200;
  std::vector<std::string> head_;
  std::deque<std::string> tail_;
  std::size_t cut_ = 0;
};

struct client
{
  std::string name;
  bool echo = false;
  tcp_socket sock;
  bool connected = false;
  std::string raw; ///< chat: unparsed octets; echo: octets not yet expected
  std::deque<item> items;
  bool eof = false;
  bool reset = false;
  // What the invariant checks remember.
  bool sent_iac = false;
  bool got_nick_accepted = false;
  bool got_closing_reply = false;
  bool got_line = false;
  int more_code = 0;
  std::vector<std::string> who_run;
  // What the case did with it.
  bool quit_sent = false;
  bool shut = false;
  bool closed_by_us = false;
  bool registered = false; ///< by a `register` action
  std::string nick;
  bool corked = false; ///< between `cork` and `uncork`: sends are collected
  std::string cork;    ///< what the sends collected
  /// Between `skip` and `skipped`: lines that match are set aside, counted.
  std::optional<pattern> skip;
  long skipped = 0;

  /// The server may still answer a PING on it (a corked client sends none).
  bool live() const
  {
    return connected && !echo && !closed_by_us && !eof && !reset && !quit_sent && !shut &&
           !got_closing_reply && !corked;
  }
};

std::string to_lower(std::string_view s)
{
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string base36(unsigned long v)
{
  static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string out;
  do
  {
    out.insert(out.begin(), digits[v % 36]);
    v /= 36;
  } while (v != 0);
  return out;
}

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

class case_runner final : public variables
{
public:
  case_runner(const test_case& tc, const run_options& opt, unsigned index)
      : tc_(tc), opt_(opt), id_(opt.salt + base36(index))
  {
  }

  case_result run()
  {
    case_result result;
    const auto start = clock::now();
    if (tc_.needs_echo && !opt_.echo)
    {
      result.what = case_result::status::skip;
      result.reason = "needs the echo service (--echo-port)";
      return result;
    }
    if (tc_.needs_idle_timeout && opt_.idle_timeout.count() == 0)
    {
      result.what = case_result::status::skip;
      result.reason = "needs the server's idle timeout (--idle-timeout)";
      return result;
    }
    try
    {
      run_steps(tc_.steps);
      current_line_ = 0;
      final_check();
    }
    catch (const failure& f)
    {
      result.what = case_result::status::fail;
      result.reason = f.reason;
      result.details = f.details;
      result.line = current_line_;
    }
    catch (const violation& v)
    {
      result.what = case_result::status::fail;
      result.reason = "protocol violation [" + v.id + "]: " + v.what;
      result.line = current_line_;
    }
    catch (const case_error& e)
    {
      result.what = case_result::status::fail;
      result.reason = std::string("case error: ") + e.what();
      result.line = current_line_;
    }
    catch (const std::exception& e)
    {
      result.what = case_result::status::fail;
      result.reason = std::string("runner error: ") + e.what();
      result.line = current_line_;
    }
    for (auto& c : clients_)
      c->sock.close();
    result.transcript = log_.take();
    result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
    return result;
  }

  // ---- variables ----
  std::string nick(std::string_view name, std::size_t length) override
  {
    const std::string key(name);
    if (const auto it = nicks_.find(key); it != nicks_.end())
    {
      if (length != 0 && it->second.size() != length)
        throw case_error("$" + key + " is already " + std::to_string(it->second.size()) +
                         " octets long");
      return it->second;
    }
    std::string value;
    const std::string tail = "_" + id_;
    const std::size_t want =
        length != 0 ? length : std::min<std::size_t>(16, key.size() + tail.size());
    if (want >= tail.size() + 1)
    {
      std::string head = key.substr(0, want - tail.size());
      while (head.size() < want - tail.size())
        head += 'x';
      value = head + tail;
    }
    else
    {
      // Too short to carry the run's id: letters derived from it.
      unsigned long h = std::hash<std::string>{}(id_ + key);
      value = key.substr(0, 1);
      while (value.size() < want)
      {
        value += static_cast<char>('a' + h % 26);
        h /= 26;
      }
    }
    for (const auto& [other, v] : nicks_)
      if (to_lower(v) == to_lower(value))
        throw case_error("$" + key + " and $" + other + " give the same nick; rename one");
    nicks_.emplace(key, value);
    ours_.insert(to_lower(value));
    return value;
  }

  long counter() const override
  {
    if (counters_.empty())
      throw case_error("${i} outside a repeat");
    return counters_.back();
  }

  long max_line() const override { return opt_.max_line; }

  long idle_timeout() const override
  {
    if (opt_.idle_timeout.count() == 0)
      throw case_error("T: the server's idle timeout is not known (--idle-timeout)");
    return static_cast<long>(opt_.idle_timeout.count());
  }

private:
  clock::time_point deadline() const { return clock::now() + opt_.timeout; }

  std::string where() const { return "line " + std::to_string(current_line_); }

  client& get(const std::string& name)
  {
    for (auto& c : clients_)
      if (c->name == name)
        return *c;
    clients_.push_back(std::make_unique<client>());
    clients_.back()->name = name;
    return *clients_.back();
  }

  void note(const client& c, std::string_view op, std::string_view text)
  {
    log_.add(c.name + std::string(op) + " " + printable(text));
  }

  // ---- receiving ----

  bool is_ours(std::string_view nick) const { return ours_.count(to_lower(nick)) != 0; }

  /// Events and WHO lines about other cases' clients, which run at the same
  /// time in the same room: not part of this case.
  bool foreign(const item& it) const
  {
    if (it.telnet)
      return false;
    const auto sl = natter::proto::parse_server_line(it.bytes);
    using k = natter::proto::server_line::kind;
    switch (sl.what)
    {
    case k::join:
    case k::msg:
    case k::quit: return !is_ours(sl.nick);
    case k::nick: return !is_ours(sl.nick) && !is_ours(sl.new_nick);
    case k::reply:
      return static_cast<reply_code>(sl.code) == reply_code::who && sl.more && !is_ours(sl.text);
    default: return false;
    }
  }

  void check_line(client& c, const std::string& line, bool crlf)
  {
    if (!crlf)
      throw violation{"N-FRAME-5",
                      c.name + " received a line not ended by CRLF: " + printable(line)};
    if (static_cast<long>(line.size()) + 2 > opt_.max_line + 64)
      throw violation{"N-REPLY-1", c.name + " received a line of " +
                                       std::to_string(line.size() + 2) +
                                       " octets, over the line limit plus 64"};
    if (line.find('\xFF') != std::string::npos)
      throw violation{"N-TELNET-13", c.name + " received an IAC inside a line: " + printable(line)};
    if (!natter::proto::is_valid_text(line))
      throw violation{"N-ENC-6",
                      c.name + " received a line that is not valid text: " + printable(line)};
    if (c.got_closing_reply)
      throw violation{"N-REPLY-6",
                      c.name + " received a line after a 5xx reply: " + printable(line)};
    const auto sl = natter::proto::parse_server_line(line);
    using k = natter::proto::server_line::kind;
    if (sl.what == k::invalid)
    {
      if (!line.empty() && line[0] >= '0' && line[0] <= '9')
        throw violation{"N-REPLY-2", c.name + " received a malformed reply: " + printable(line)};
      throw violation{
          "N-EVENT-1",
          c.name + " received a line that is neither a reply nor an event: " + printable(line)};
    }
    if (sl.what == k::reply)
    {
      // A code this version does not know keeps its value (N-REPLY-9).
      const auto code = static_cast<reply_code>(sl.code);
      if (c.more_code != 0 && sl.code != c.more_code)
        throw violation{"N-REPLY-3", c.name + " received " + std::to_string(sl.code) +
                                         " inside a multi-line " + std::to_string(c.more_code) +
                                         " reply"};
      c.more_code = sl.more ? sl.code : 0;
      if (code == reply_code::greeting && c.got_line)
        throw violation{"N-CONN-1", c.name + " received a " + proto::to_string(code) +
                                        " that is not the first line"};
      if (proto::closes_connection(code))
        c.got_closing_reply = true;
      if (code == reply_code::nick_accepted)
        c.got_nick_accepted = true;
      if (code == reply_code::who)
        check_who(c, sl.more, std::string(sl.text));
    }
    else
    {
      if (c.more_code != 0)
        throw violation{"N-REPLY-4", c.name + " received an event inside a multi-line reply: " +
                                         printable(line)};
      if (sl.what != k::echo && sl.what != k::pong && !c.got_nick_accepted)
        throw violation{"N-EVENT-2", c.name + " is not registered but received " + printable(line)};
    }
    c.got_line = true;
  }

  void check_who(client& c, bool more, const std::string& text)
  {
    const std::string who = proto::to_string(reply_code::who);
    if (more)
    {
      if (!natter::proto::is_valid_nick(text))
        throw violation{"N-WHO-2", c.name + " received a " + who + "- line without a nick: " + who +
                                       "-" + printable(text)};
      if (!c.who_run.empty() && to_lower(c.who_run.back()) >= to_lower(text))
        throw violation{"N-WHO-3", c.name + " received " + who + "-" + text + " after " + who +
                                       "-" + c.who_run.back() + ": not in ascending order"};
      c.who_run.push_back(text);
      return;
    }
    const std::string count = text.substr(0, text.find(' '));
    if (count != std::to_string(c.who_run.size()))
      throw violation{"N-WHO-2", c.name + " received '" + who + " " + printable(text) + "' after " +
                                     std::to_string(c.who_run.size()) + " " + who + "- lines"};
    c.who_run.clear();
  }

  void parse(client& c)
  {
    if (c.echo)
      return;
    for (;;)
    {
      if (c.raw.empty())
        return;
      if (static_cast<unsigned char>(c.raw[0]) == 0xFF)
      {
        if (c.raw.size() < 3)
          return;
        item it{true, c.raw.substr(0, 3)};
        c.raw.erase(0, 3);
        const auto verb = static_cast<unsigned char>(it.bytes[1]);
        if (!c.sent_iac || (verb != 0xFB && verb != 0xFC && verb != 0xFE))
          throw violation{
              "N-TELNET-12",
              c.name + " received telnet negotiation it did not ask for: " + printable(it.bytes)};
        if (c.more_code != 0)
          throw violation{"N-TELNET-13",
                          c.name + " received a telnet answer inside a multi-line reply"};
        note(c, "<<", it.bytes);
        c.items.push_back(std::move(it));
        continue;
      }
      const std::size_t lf = c.raw.find('\n');
      if (lf == std::string::npos)
      {
        if (static_cast<long>(c.raw.size()) > opt_.max_line + 64)
          throw violation{"N-REPLY-1", c.name + " received over " +
                                           std::to_string(opt_.max_line + 64) +
                                           " octets without a line end"};
        return;
      }
      const bool crlf = lf > 0 && c.raw[lf - 1] == '\r';
      item it{false, c.raw.substr(0, crlf ? lf - 1 : lf)};
      c.raw.erase(0, lf + 1);
      check_line(c, it.bytes, crlf);
      if (!foreign(it))
      {
        if (c.skip && matches(*c.skip, it.bytes))
        {
          ++c.skipped; // checked like any line, then set aside uncounted in the transcript
          continue;
        }
        note(c, "<", it.bytes);
      }
      c.items.push_back(std::move(it));
    }
  }

  /// Waits once for more input. False when nothing more can arrive in time.
  bool pump(client& c, clock::time_point until)
  {
    if (!c.connected || c.eof || c.reset || c.closed_by_us)
      return false;
    const io_status st = c.sock.read_some(c.raw, until);
    if (st == io_status::timeout)
      return false;
    if (st == io_status::eof || st == io_status::reset)
    {
      (st == io_status::eof ? c.eof : c.reset) = true;
      log_.add(c.name + " (connection closed by the server" +
               std::string(st == io_status::reset ? ", reset)" : ")"));
      parse(c);
      if (!c.echo && !c.raw.empty())
        throw violation{"N-FRAME-5", c.name + " received an unterminated line before the close: " +
                                         printable(c.raw)};
      return true;
    }
    parse(c);
    return true;
  }

  /// The next item of this case for `c`, or nothing (timeout or closed).
  std::optional<item> next_item(client& c, clock::time_point until)
  {
    for (;;)
    {
      while (!c.items.empty() && foreign(c.items.front()))
        c.items.pop_front();
      if (!c.items.empty())
      {
        item it = std::move(c.items.front());
        c.items.pop_front();
        return it;
      }
      if (!pump(c, until))
        return std::nullopt;
    }
  }

  std::string nothing_came(const client& c) const
  {
    if (c.eof || c.reset)
      return "actual: (the connection was closed)";
    return "actual: (nothing within " + std::to_string(opt_.timeout.count()) + " ms)";
  }

  // ---- sending ----

  void send(client& c, const std::string& bytes, bool line)
  {
    if (!c.connected)
      connect(c, false, false);
    if (bytes.find('\xFF') != std::string::npos)
      c.sent_iac = true;
    if (!c.echo && starts_with_ci(bytes, "quit"))
      c.quit_sent = true;
    note(c, line ? ">" : ">>", line ? std::string_view(bytes).substr(0, bytes.size() - 2) : bytes);
    if (c.corked)
      c.cork += bytes;
    else
      write(c, bytes);
  }

  /// Writes `bytes` to `c` in one call (the kernel may still split them).
  void write(client& c, const std::string& bytes)
  {
    const io_status st = c.sock.write_all(bytes, c.raw, clock::now() + opt_.timeout * 4);
    if (st == io_status::timeout)
      throw failure{c.name + " could not send within " + std::to_string(opt_.timeout.count() * 4) +
                        " ms",
                    {}};
    // A reset while sending is left for the expectations to discover.
    parse(c);
  }

  /// Every line of `c` the case has not expected fails it (the end of a
  /// case, or a new connection under the same name).
  void expect_no_leftovers(client& c)
  {
    if (c.echo)
    {
      if (!c.closed_by_us && !c.raw.empty())
        throw failure{c.name + " received octets the case did not expect",
                      {"actual:   " + c.name + "<< " + printable(c.raw.substr(0, 64))}};
      return;
    }
    while (!c.items.empty() && foreign(c.items.front()))
      c.items.pop_front();
    if (!c.items.empty())
      throw failure{c.name + " received a line the case did not expect",
                    {"actual:   " + c.name + (c.items.front().telnet ? "<< " : "< ") +
                     printable(c.items.front().bytes)}};
  }

  void connect(client& c, bool raw, bool echo, int rcvbuf = 0)
  {
    if (c.connected)
    {
      // A client whose connection is over may connect again, afresh.
      if (!(c.eof || c.reset || c.closed_by_us))
        throw case_error(c.name + " is already connected (expect 'closed' or 'close' it first)");
      expect_no_leftovers(c);
      const std::string name = std::move(c.name);
      c = client{};
      c.name = name;
    }
    c.echo = echo;
    const std::string err =
        c.sock.connect(opt_.host, echo ? opt_.echo_port : opt_.port, deadline(), rcvbuf);
    if (!err.empty())
      throw failure{c.name + " cannot connect: " + err, {}};
    c.connected = true;
    log_.add(c.name + " (connected to the " + std::string(echo ? "echo" : "chat") + " service" +
             (rcvbuf > 0 ? ", SO_RCVBUF " + std::to_string(rcvbuf) : std::string()) + ")");
    if (raw || echo)
      return;
    const std::string greeting = proto::to_string(reply_code::greeting) + " natter/1";
    const auto it = next_item(c, deadline());
    if (!it || it->telnet || !(it->bytes == greeting || it->bytes.rfind(greeting + " ", 0) == 0))
      throw failure{c.name + " did not receive the greeting [N-CONN-1]",
                    {"expected: " + c.name + "< " + greeting + " {*}",
                     it ? "actual:   " + c.name + "< " + printable(it->bytes) : nothing_came(c)}};
  }

  // ---- expectations ----

  void expect_line(client& c, const step& st)
  {
    std::optional<item> it;
    bool ok = false;
    std::string shown;
    if (st.what == step::kind::expect_regex)
    {
      const std::string re_text = expand_regex(st.arg, *this);
      const std::regex re(re_text, std::regex::ECMAScript);
      shown = c.name + "<~ " + re_text;
      it = next_item(c, deadline());
      ok = it && !it->telnet && std::regex_match(it->bytes, re);
    }
    else
    {
      const pattern p = compile_pattern(st.arg, *this);
      shown = c.name + "< " + p.to_string();
      it = next_item(c, deadline());
      ok = it && !it->telnet && matches(p, it->bytes);
    }
    if (!ok)
      throw failure{"unexpected line for " + c.name,
                    {"expected: " + shown,
                     it ? "actual:   " + c.name + (it->telnet ? "<< " : "< ") + printable(it->bytes)
                        : nothing_came(c)}};
  }

  void expect_bytes(client& c, const step& st)
  {
    const std::string want = expand(st.arg, *this);
    if (!c.echo)
    {
      const auto it = next_item(c, deadline());
      if (!it || !it->telnet || it->bytes != want)
        throw failure{
            "unexpected octets for " + c.name,
            {"expected: " + c.name + "<< " + printable(want),
             it ? "actual:   " + c.name + (it->telnet ? "<< " : "< ") + printable(it->bytes)
                : nothing_came(c)}};
      return;
    }
    // Echo: octets in order; big transfers get a proportionally longer bound.
    const auto until = deadline() + std::chrono::milliseconds(want.size() / 1000);
    while (c.raw.size() < want.size())
      if (!pump(c, until))
        break;
    const std::size_t n = std::min(c.raw.size(), want.size());
    std::size_t same = 0;
    while (same < n && c.raw[same] == want[same])
      ++same;
    if (same < want.size())
    {
      const std::size_t from = same > 16 ? same - 16 : 0;
      throw failure{
          c.name + ": echoed octets differ from what was sent, at octet " + std::to_string(same) +
              " of " + std::to_string(want.size()),
          {"expected: ..." + printable(want.substr(from, 48)),
           "actual:   ..." +
               printable(c.raw.substr(from, std::min<std::size_t>(48, c.raw.size() - from))) +
               (c.raw.size() < want.size()
                    ? " (" + std::to_string(c.raw.size()) + " octets arrived)"
                    : "")}};
    }
    log_.add(c.name + "<< (" + std::to_string(want.size()) + " octets, as sent)");
    c.raw.erase(0, want.size());
  }

  /// PING `c` and wait for its PONG, leaving every other item queued.
  void ping_through(client& c)
  {
    const std::string token = "barrier-" + id_ + "-" + std::to_string(++tokens_);
    send(c, "PING " + token + "\r\n", true);
    const auto until = deadline();
    for (;;)
    {
      for (auto it = c.items.begin(); it != c.items.end(); ++it)
        if (!it->telnet && it->bytes == "PONG " + token)
        {
          c.items.erase(it);
          return;
        }
      if (!pump(c, until))
        throw failure{c.name + " got no PONG for its barrier PING", {nothing_came(c)}};
    }
  }

  /// Nothing more arrives for `c`: barriers through every other live client
  /// (so every event their commands caused is queued), then a PING on `c`
  /// whose PONG must be the next line [N-FRAME-16].
  void expect_nothing(client& c)
  {
    if (!c.live())
      throw case_error(c.name + ": 'nothing' needs a connected chat client that can still PING");
    for (auto& other : clients_)
      if (other.get() != &c && other->live())
        ping_through(*other);
    const std::string token = "barrier-" + id_ + "-" + std::to_string(++tokens_);
    send(c, "PING " + token + "\r\n", true);
    const auto it = next_item(c, deadline());
    if (!it || it->telnet || it->bytes != "PONG " + token)
      throw failure{c.name + " received something it should not have",
                    {"expected: " + c.name + "< PONG " + token + " (nothing before it)",
                     it ? "actual:   " + c.name + (it->telnet ? "<< " : "< ") + printable(it->bytes)
                        : nothing_came(c)}};
  }

  void expect_closed(client& c)
  {
    const auto until = deadline();
    for (;;)
    {
      if (c.echo)
      {
        if (!c.raw.empty())
          throw failure{c.name + " received octets instead of the close",
                        {"expected: " + c.name + ": closed",
                         "actual:   " + c.name + "<< " + printable(c.raw.substr(0, 64))}};
      }
      else if (const auto it = next_item(c, clock::now()); it)
        throw failure{c.name + " received a line instead of the close",
                      {"expected: " + c.name + ": closed",
                       "actual:   " + c.name + (it->telnet ? "<< " : "< ") + printable(it->bytes)}};
      if (c.eof || c.reset)
        return;
      if (!pump(c, until))
        throw failure{c.name + ": the server did not close the connection",
                      {"expected: " + c.name + ": closed", nothing_came(c)}};
    }
  }

  /// `idle`: c sends nothing for the server's idle timeout T. Nothing may
  /// arrive for three quarters of T (a quarter is the tolerance for the time
  /// the server took to send what c received last, and for timers); then a
  /// line or the close must arrive within T plus the bound of a wait, and
  /// stays queued for the next steps [N-CONN-6].
  void stay_idle(client& c)
  {
    if (!c.live())
      throw case_error(c.name + ": 'idle' needs a connected chat client that can still PING");
    const auto start = clock::now();
    const auto t = std::chrono::duration_cast<clock::duration>(opt_.idle_timeout);
    const auto quiet = t - t / 4;
    const auto quiet_until = start + quiet;
    const auto until = start + t + opt_.timeout;
    auto arrived = [&]
    {
      while (!c.items.empty() && foreign(c.items.front()))
        c.items.pop_front();
      return !c.items.empty() || c.eof || c.reset;
    };
    while (!arrived())
      if (!pump(c, until))
        break;
    const auto now = clock::now();
    const std::string waited =
        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now - start).count()) +
        " ms";
    const std::string limit = std::to_string(opt_.idle_timeout.count()) + " s";
    if (!arrived())
      throw failure{c.name + " stayed silent for " + waited + " and the server neither sent a " +
                        "line nor closed the connection",
                    {"expected: a line or the close within the idle timeout (" + limit + ") plus " +
                         std::to_string(opt_.timeout.count()) + " ms",
                     "actual:   (nothing)"}};
    if (now < quiet_until)
      throw failure{"the server ended " + c.name + "'s silence after only " + waited +
                        "; the idle timeout is " + limit,
                    {"expected: nothing for " +
                         std::to_string(
                             std::chrono::duration_cast<std::chrono::milliseconds>(quiet).count()) +
                         " ms",
                     !c.items.empty()
                         ? "actual:   " + c.name + (c.items.front().telnet ? "<< " : "< ") +
                               printable(c.items.front().bytes)
                         : "actual:   (the connection was closed)"}};
    log_.add(c.name + " (stayed silent for " + waited + ")");
  }

  /// `skip PATTERN`: from now on the lines of `c` that match are checked,
  /// counted and set aside; those already queued too.
  void start_skipping(client& c, const step& st)
  {
    if (c.skip)
      throw case_error(c.name + " is already skipping lines (end it with 'skipped N')");
    if (c.echo)
      throw case_error("skip is for chat clients");
    pattern p = compile_pattern(st.arg, *this);
    log_.add(c.name + " (skips lines matching " + p.to_string() + ")");
    c.skipped = 0;
    for (auto it = c.items.begin(); it != c.items.end();)
      if (!it->telnet && !foreign(*it) && matches(p, it->bytes))
      {
        ++c.skipped;
        it = c.items.erase(it);
      }
      else
        ++it;
    c.skip = std::move(p);
  }

  /// `skipped N`: exactly N lines were set aside since `skip` (waiting up to
  /// --timeout for the last of them); the skipping ends.
  void expect_skipped(client& c, const step& st)
  {
    if (!c.skip)
      throw case_error(c.name + ": 'skipped' without 'skip'");
    const long want = st.arg.empty() ? st.count : eval_expr(st.arg, *this);
    const auto until = deadline();
    while (c.skipped < want)
      if (!pump(c, until))
        break;
    const std::string shown = c.skip->to_string();
    const long got = c.skipped;
    c.skip.reset();
    c.skipped = 0;
    log_.add(c.name + " (skipped " + std::to_string(got) + " lines matching " + shown + ")");
    if (got != want)
      throw failure{c.name + " received " + std::to_string(got) + " lines matching " + shown +
                        (got < want ? " (the rest did not arrive)" : ""),
                    {"expected: " + std::to_string(want) + " such lines",
                     got < want ? nothing_came(c) : "actual:   " + std::to_string(got)}};
  }

  /// `reset within Ns`: without reading anything more, the connection of
  /// `c` is reset (or closed, its FIN having arrived behind everything the
  /// server sent) within N seconds.
  void expect_reset(client& c, const step& st)
  {
    if (!c.connected || c.closed_by_us)
      throw case_error(c.name + ": 'reset within' needs a connection the case did not close");
    const auto start = clock::now();
    const std::string limit = std::to_string(st.count / 1000) + " s";
    if (c.eof || c.reset)
    {
      log_.add(c.name + " (the connection had already ended)");
      return;
    }
    std::size_t unread = 0;
    const auto how = c.sock.wait_dropped(start + std::chrono::milliseconds(st.count), unread);
    const std::string waited = std::to_string(
        std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start).count());
    const std::string left = std::to_string(unread) + " octets unread";
    if (how == tcp_socket::drop::timeout)
      throw failure{
          "the server neither reset nor closed " + c.name + "'s connection within " + limit,
          {"expected: " + c.name + ": reset within " + std::to_string(st.count / 1000) + "s",
           "actual:   (still open after " + waited + " ms, " + left + ")"}};
    (how == tcp_socket::drop::reset ? c.reset : c.eof) = true;
    log_.add(c.name + " (connection " +
             std::string(how == tcp_socket::drop::reset ? "reset" : "closed") +
             " by the server after " + waited + " ms, " + left + ")");
  }

  void cork(client& c, bool on)
  {
    if (c.corked == on)
      throw case_error(c.name + (on ? " is already corked" : " is not corked"));
    c.corked = on;
    if (on)
    {
      if (!c.connected)
        connect(c, false, false);
      return;
    }
    log_.add(c.name + " (the " + std::to_string(c.cork.size()) +
             " octets sent since 'cork' go out in one write)");
    const std::string bytes = std::move(c.cork);
    c.cork.clear();
    write(c, bytes);
  }

  void register_client(client& c, const step& st)
  {
    const std::string nick = expand(st.arg, *this);
    if (!c.connected)
      connect(c, false, false);
    send(c, "NICK " + nick + "\r\n", true);
    const std::string accepted = proto::to_string(reply_code::nick_accepted) + " " + nick;
    const auto it = next_item(c, deadline());
    if (!it || it->telnet || it->bytes.rfind(accepted + " ", 0) != 0)
      throw failure{c.name + " could not register as " + nick,
                    {"expected: " + c.name + "< " + accepted + " {*}",
                     it ? "actual:   " + c.name + "< " + printable(it->bytes) : nothing_came(c)}};
    for (auto& other : clients_)
      if (other.get() != &c && other->registered && other->live())
      {
        const auto ev = next_item(*other, deadline());
        if (!ev || ev->telnet || ev->bytes != "JOIN " + nick)
          throw failure{other->name + " was not told that " + nick + " joined",
                        {"expected: " + other->name + "< JOIN " + nick,
                         ev ? "actual:   " + other->name + "< " + printable(ev->bytes)
                            : nothing_came(*other)}};
      }
    c.registered = true;
    c.nick = nick;
  }

  void action(client& c, const step& st)
  {
    const std::string& v = st.verb;
    if (v == "connect")
      connect(c, st.arg == "raw", st.arg == "echo", static_cast<int>(st.count));
    else if (v == "register")
      register_client(c, st);
    else if (v == "nothing")
      expect_nothing(c);
    else if (v == "sync")
      ping_through(c);
    else if (v == "closed")
      expect_closed(c);
    else if (v == "close")
    {
      c.sock.close(st.arg == "reset");
      c.closed_by_us = true;
      log_.add(c.name + " (closed" + std::string(st.arg == "reset" ? " with a reset)" : ")"));
    }
    else if (v == "shutdown")
    {
      c.sock.shutdown_send();
      c.shut = true;
      log_.add(c.name + " (shut down its sending side)");
    }
    else if (v == "wait")
      std::this_thread::sleep_for(std::chrono::milliseconds(st.count));
    else if (v == "cork" || v == "uncork")
      cork(c, v == "cork");
    else if (v == "idle")
      stay_idle(c);
    else if (v == "skip")
      start_skipping(c, st);
    else if (v == "skipped")
      expect_skipped(c, st);
    else if (v == "reset")
      expect_reset(c, st);
    else if (v == "backpressure")
    {
      if (!c.echo)
        throw case_error("backpressure is for echo clients");
      const auto limit = static_cast<std::size_t>(st.count);
      const std::size_t n = c.sock.write_until_stalled(limit, std::chrono::milliseconds(500),
                                                       clock::now() + opt_.timeout * 4);
      log_.add(c.name + " (sent " + std::to_string(n) + " octets without reading)");
      if (n >= limit)
        throw failure{c.name + ": the echo service took " + std::to_string(n) +
                          " octets from a client that reads nothing, without pushing back",
                      {}};
    }
  }

  void run_steps(const std::vector<step>& steps)
  {
    for (const step& st : steps)
    {
      current_line_ = st.line;
      if (!st.client.empty() && get(st.client).corked && st.what != step::kind::send_line &&
          st.what != step::kind::send_raw &&
          !(st.what == step::kind::action && st.verb == "uncork"))
        throw case_error(st.client + " is corked: only sends until 'uncork'");
      switch (st.what)
      {
      case step::kind::repeat:
      {
        const long count = st.arg.empty() ? st.count : eval_expr(st.arg, *this);
        if (count < 1 || count > 100000)
          throw case_error("repeat count " + std::to_string(count) + " is not 1 to 100000");
        for (long k = 1; k <= count; ++k)
        {
          counters_.push_back(k);
          run_steps(st.body);
          counters_.pop_back();
        }
        break;
      }
      case step::kind::mark: mark_ = clock::now(); break;
      case step::kind::elapsed:
      {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - mark_);
        if (ms.count() < st.count)
          throw failure{"only " + std::to_string(ms.count()) + " ms passed since the mark",
                        {"expected: elapsed >= " + std::to_string(st.count)}};
        break;
      }
      case step::kind::udp_silent:
        if (udp_answers(opt_.host, opt_.echo_port, "natter-conform udp probe\r\n",
                        std::chrono::milliseconds(300)))
          throw failure{"a UDP datagram to the echo port was answered", {}};
        log_.add("(a UDP datagram to the echo port got no answer)");
        break;
      case step::kind::send_line: send(get(st.client), expand(st.arg, *this) + "\r\n", true); break;
      case step::kind::send_raw: send(get(st.client), expand(st.arg, *this), false); break;
      case step::kind::expect_line:
      case step::kind::expect_regex: expect_line(get(st.client), st); break;
      case step::kind::expect_bytes: expect_bytes(get(st.client), st); break;
      case step::kind::action: action(get(st.client), st); break;
      }
    }
  }

  /// At the end every line a client received must have been expected: two
  /// rounds of barriers flush what the case's commands caused.
  void final_check()
  {
    for (auto& c : clients_)
      if (c->corked)
        throw case_error(c->name + " is still corked at the end of the case");
    for (int round = 0; round < 2; ++round)
      for (auto& c : clients_)
        if (c->live())
          ping_through(*c);
    for (auto& c : clients_)
      expect_no_leftovers(*c);
  }

  const test_case& tc_;
  const run_options& opt_;
  std::string id_;
  std::vector<std::unique_ptr<client>> clients_;
  std::map<std::string, std::string> nicks_;
  std::set<std::string> ours_;
  std::vector<long> counters_;
  transcript log_;
  clock::time_point mark_ = clock::now();
  unsigned tokens_ = 0;
  int current_line_ = 0;
};

} // namespace

case_result run_case(const test_case& tc, const run_options& opt, unsigned index)
{
  case_runner runner(tc, opt, index);
  return runner.run();
}

} // namespace natter::conform
