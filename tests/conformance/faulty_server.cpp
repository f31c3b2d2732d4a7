// natter-faulty: a small, single-threaded natter server with switchable
// faults, so the conformance tests can show that natter-conform catches each
// one (issue 5, "It must be able to fail"). It serves the core of the spec
// (framing, text, telnet and commands via natter::proto, the room, the echo
// service), the greeting with its adverts (built as natterd builds its
// own), TELL, HISTORY and IDS with the room's message ids (keeping the last
// 100 messages, as natterd does by default), the HTTP check of the first
// line, flood control (charged per framed line), the registration timeout,
// an optional idle timeout, the per-address limit and the send queue limit
// of registered clients (1 MiB, with the kernel's send buffer capped as
// natterd does), at natterd's defaults unless told otherwise, and nothing
// else: no other limits, no soft mark, no TLS check, so the fault tests run
// it only on the cases that cover what it does.
//
//   natter-faulty --fault NAME [--idle-timeout S] [--registration-timeout S]
//                 [--rate R] [--max-per-ip N] [--no-loopback-exempt]
// prints "natterd: chat listening on 127.0.0.1:<port>" and the echo line as
// natterd does, then serves until killed.
#include "natter/core/greeting.hpp"
#include "natter/core/limits.hpp"
#include "natter/proto/command_parser.hpp"
#include "natter/proto/parse_error.hpp"
#include "natter/proto/reply.hpp"
#include "natter/proto/telnet.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <list>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace
{

namespace proto = natter::proto;
using proto::reply_code;
using clock = std::chrono::steady_clock;

/// The faults, each breaking one requirement of the spec, and variations
/// the spec allows, which every case must tolerate.
struct faults
{
  bool no_adverts = false;               ///< the greeting advertises nothing [N-CONN-11]
  bool advert_twice = false;             ///< the greeting advertises line twice [N-CONN-11]
  bool text_with_equals = false;         ///< the text after the adverts starts "Ready=" [N-CONN-12]
  bool advert_lies = false;              ///< advertises line=1024, applies 512 [N-CONN-11]
  bool greeting_too_long = false;        ///< a greeting of 300 octets [N-REPLY-1]
  bool half_sendq = false;               ///< started without flags, sendq is 512 KiB [N-LIMIT-3]
  bool no_per_ip_limit = false;          ///< connections per address are not limited [N-LIMIT-5]
  bool loopback_counted = false;         ///< loopback counts against the limit [N-LIMIT-7]
  bool reg_extended = false;             ///< each line restarts the registration time [N-CONN-5]
  bool rate0_still_paced = false;        ///< --rate 0 is advertised, 20 applied [N-FLOOD-5]
  bool msg_to_sender = false;            ///< MSG also goes back to its sender [N-MSG-4]
  bool no_join = false;                  ///< no JOIN event [N-NICK-8]
  bool overlong_415 = false;             ///< an overlong line gets 415, not 413 [N-FRAME-8]
  bool duplicate_nick = false;           ///< a nick in use is given out again [N-NICK-4]
  bool lf_only = false;                  ///< lines end with LF, not CRLF [N-FRAME-5]
  bool who_unsorted = false;             ///< WHO in reverse order [N-WHO-3]
  bool echo_drop_ff = false;             ///< the echo service drops 0xFF octets [N-ECHOSVC-1]
  bool quit_stays_open = false;          ///< 221 without closing [N-QUIT-1]
  bool http_check_before_telnet = false; ///< the HTTP check reads raw octets [N-CONN-2]
  bool idle_counts_held_input = false;   ///< idle time runs while input is held [N-CONN-10]
  bool dropped_stays_open =
      false; ///< a dropped slow consumer is closed only once flushed [N-SLOW-6]
  bool ip_in_character_discards = false; ///< IAC IP inside a character discards [N-TELNET-18]
  bool refused_not_charged = false;      ///< a refused line costs no token [N-FLOOD-1]
  bool help_repeats = false;             ///< HELP names NICK on every line [N-HELP-1]
  bool blocking_write = false;           ///< a write waits until the client took it all [N-SLOW-5]
  bool flood_reads_anyway = false;       ///< input held by flood control is read on [N-FLOOD-3]
  bool nick_race = false;                ///< NICK checks and claims apart [N-NICK-5]
  bool delayed_echo = false;             ///< MSG goes back to its sender later [N-MSG-4]
  /// Not a fault: HELP starts with a header line, which the spec allows.
  bool help_header = false;
  // TELL, HISTORY and IDS (spec 7.10 to 7.12) and message ids (7.3).
  bool additions_421 = false;        ///< advertises tell and history, answers 421 [N-CONN-17]
  bool tell_400_first = false;       ///< TELL's argument checked before registration [N-TELL-1]
  bool tell_any_word = false;        ///< a first word that is not a nick-arg is a nick [N-TELL-2]
  bool tell_blank_text = false;      ///< a TELL of only spaces after the nick is told [N-TELL-2]
  bool tell_no_434 = false;          ///< a TELL to nobody is dropped unanswered [N-TELL-3]
  bool tell_broadcast = false;       ///< a TELL goes to every registered client [N-TELL-4]
  bool tell_self_refused = false;    ///< a TELL to oneself is answered 434 [N-TELL-5]
  bool tell_stored = false;          ///< a TELL is numbered and kept for HISTORY [N-TELL-6]
  bool history_unregistered = false; ///< HISTORY answered before registration [N-HIST-1]
  bool history_lenient = false;      ///< a bad HISTORY argument is taken as none [N-HIST-2]
  bool history_no_millis = false;    ///< HISTORY's times have no milliseconds [N-HIST-4]
  bool seam_duplicate = false;       ///< the first message after NICK is history too [N-HIST-5]
  bool history_off_by_one = false;   ///< HISTORY <count> selects count - 1 messages [N-HIST-6]
  bool history_after_wraps = false;  ///< AFTER <id> selects from id + 1, which wraps [N-HIST-6]
  bool no_history_limit = false;     ///< every message is kept, not the last 100 [N-HIST-6]
  bool history_trims = false;        ///< a kept text loses its trailing spaces [N-MSG-7]
  bool ids_gap = false;              ///< JOIN, NICK, QUIT and TELL take ids too [N-MSG-5]
  bool ids_unregistered = false;     ///< IDS answered 213 before registration [N-IDS-1]
  bool ids_next_id = false;          ///< the 213 gives the next id for the newest [N-IDS-2]
  bool ids_no_echo = false;          ///< IDS does not send the client its own messages [N-IDS-3]
  bool ids_toggles = false;          ///< a second IDS turns the own messages off again [N-IDS-4]
};

/// The name of each fault on the command line.
constexpr auto fault_names = std::to_array<std::pair<std::string_view, bool faults::*>>({
    {"no-adverts", &faults::no_adverts},
    {"advert-twice", &faults::advert_twice},
    {"text-with-equals", &faults::text_with_equals},
    {"advert-lies", &faults::advert_lies},
    {"greeting-too-long", &faults::greeting_too_long},
    {"half-sendq", &faults::half_sendq},
    {"no-per-ip-limit", &faults::no_per_ip_limit},
    {"loopback-counted", &faults::loopback_counted},
    {"reg-extended", &faults::reg_extended},
    {"rate0-still-paced", &faults::rate0_still_paced},
    {"msg-to-sender", &faults::msg_to_sender},
    {"no-join", &faults::no_join},
    {"overlong-415", &faults::overlong_415},
    {"duplicate-nick", &faults::duplicate_nick},
    {"lf-only", &faults::lf_only},
    {"who-unsorted", &faults::who_unsorted},
    {"echo-drop-ff", &faults::echo_drop_ff},
    {"quit-stays-open", &faults::quit_stays_open},
    {"http-check-before-telnet", &faults::http_check_before_telnet},
    {"idle-counts-held-input", &faults::idle_counts_held_input},
    {"dropped-stays-open", &faults::dropped_stays_open},
    {"ip-in-character-discards", &faults::ip_in_character_discards},
    {"refused-not-charged", &faults::refused_not_charged},
    {"help-repeats", &faults::help_repeats},
    {"blocking-write", &faults::blocking_write},
    {"flood-reads-anyway", &faults::flood_reads_anyway},
    {"nick-race", &faults::nick_race},
    {"delayed-echo", &faults::delayed_echo},
    {"help-header", &faults::help_header},
    {"additions-421", &faults::additions_421},
    {"tell-400-first", &faults::tell_400_first},
    {"tell-any-word", &faults::tell_any_word},
    {"tell-blank-text", &faults::tell_blank_text},
    {"tell-no-434", &faults::tell_no_434},
    {"tell-broadcast", &faults::tell_broadcast},
    {"tell-self-refused", &faults::tell_self_refused},
    {"tell-stored", &faults::tell_stored},
    {"history-unregistered", &faults::history_unregistered},
    {"history-lenient", &faults::history_lenient},
    {"history-no-millis", &faults::history_no_millis},
    {"seam-duplicate", &faults::seam_duplicate},
    {"history-off-by-one", &faults::history_off_by_one},
    {"history-after-wraps", &faults::history_after_wraps},
    {"no-history-limit", &faults::no_history_limit},
    {"history-trims", &faults::history_trims},
    {"ids-gap", &faults::ids_gap},
    {"ids-unregistered", &faults::ids_unregistered},
    {"ids-next-id", &faults::ids_next_id},
    {"ids-no-echo", &faults::ids_no_echo},
    {"ids-toggles", &faults::ids_toggles},
});

/// Flood control at natterd's defaults (spec section 11): a bucket of 100
/// tokens that gains 20 a second; each framed line costs one.
constexpr double flood_burst = 100;
constexpr double flood_rate = 20;

/// Section 12 at natterd's defaults: a registered client whose pending
/// output passes max_sendq is dropped, and its connection closed (reset
/// when output is still unsent) within flush_deadline. The kernel's send
/// buffer of a chat socket is capped at chat_sndbuf (which Linux doubles).
constexpr std::size_t max_sendq = std::size_t{1} << 20;
constexpr auto flush_deadline = std::chrono::seconds(3);
constexpr int chat_sndbuf = 64 * 1024;

/// The fault nick-race: how long after checking a nick the server claims
/// it, the time a little work between the two takes. 1 ms is enough for
/// the two NICKs of a round of 7.2/7 to fall in it in a TSan build too.
constexpr auto nick_race_window = std::chrono::milliseconds(1);

/// The fault delayed-echo: how long after a MSG the server sends it back to
/// its sender. Far longer than a barrier's round trip, shorter than
/// natter-conform's settle (300 ms).
constexpr auto delayed_echo_after = std::chrono::milliseconds(100);

/// Follows telnet sequences in a client's octets (spec section 6.1), one
/// octet at a time, and says what each octet is.
class telnet_follower
{
public:
  enum class what
  {
    data,    ///< an octet of the line
    command, ///< the command octet after an IAC (IAC IAC included, removed entirely)
    none,    ///< any other part of a sequence
  };

  /// True when `o`, next, is the command octet after an IAC.
  bool is_command(unsigned char o) const
  {
    return state_ == state::after_iac || (state_ == state::subneg_iac && o != iac && o != se);
  }

  what step(unsigned char o)
  {
    const bool cmd = is_command(o);
    switch (state_)
    {
    case state::data:
      if (o != iac)
        return what::data;
      state_ = state::after_iac;
      break;
    case state::option: state_ = state::data; break;
    case state::subneg:
      if (o == iac)
        state_ = state::subneg_iac;
      break;
    case state::after_iac:
    case state::subneg_iac:
      if (cmd) // any command but IAC and SE ends a subnegotiation [N-TELNET-6]
        state_ = o == sb ? state::subneg : o >= 0xFB && o <= 0xFE ? state::option : state::data;
      else
        state_ = o == iac ? state::subneg : state::data; // a payload 0xFF, or IAC SE
      break;
    }
    return cmd ? what::command : what::none;
  }

private:
  static constexpr unsigned char iac = 0xFF;
  static constexpr unsigned char se = 0xF0;
  static constexpr unsigned char sb = 0xFA;

  enum class state
  {
    data,
    after_iac,
    option,     ///< after IAC WILL, WONT, DO or DONT
    subneg,     ///< inside IAC SB ... IAC SE
    subneg_iac, ///< an IAC inside a subnegotiation
  };

  state state_ = state::data;
};

/// Decides from its first octets whether a chat connection's first line is
/// an HTTP request line [N-CONN-2]. It sees the line as framing does, after
/// telnet removal (spec section 6.1), unless told to look at raw octets.
class http_sniffer
{
public:
  enum class verdict
  {
    undecided,
    http,
    other,
  };

  verdict push(unsigned char o, bool strip_telnet)
  {
    if (!strip_telnet || telnet_.step(o) == telnet_follower::what::data)
      return data(o);
    return verdict::undecided;
  }

private:
  verdict data(unsigned char o)
  {
    static constexpr std::array<std::string_view, 10> methods{
        "CONNECT ", "DELETE ", "GET ", "HEAD ", "OPTIONS ",
        "PATCH ",   "POST ",   "PRI ", "PUT ",  "TRACE "};
    seen_ += static_cast<char>(o);
    bool possible = false;
    for (const std::string_view m : methods)
    {
      if (m == seen_)
        return verdict::http;
      possible = possible || m.starts_with(seen_);
    }
    return possible ? verdict::undecided : verdict::other;
  }

  telnet_follower telnet_;
  std::string seen_;
};

/// For the fault ip-in-character-discards: follows a client's octets as the
/// parser reads them (telnet removal, and the characters of spec section
/// 6.4) to find each IAC IP inside a character, which the server must take
/// as the octet 0x83 [N-TELNET-18] and the fault takes as an IP outside one.
class character_tracker
{
public:
  /// The octets of `s` before the IP of the first IAC IP inside a character.
  std::size_t before_ip(std::string_view s) const
  {
    character_tracker t = *this;
    std::size_t n = 0;
    while (n < s.size() && t.step(static_cast<unsigned char>(s[n])))
      ++n;
    return n;
  }

  /// Follows `s`, which holds no such IP.
  void follow(std::string_view s)
  {
    for (const char o : s)
      step(static_cast<unsigned char>(o));
  }

  /// Follows the IP that before_ip() stopped at, which discarded the line.
  void discarded() { *this = character_tracker(); }

private:
  /// Follows one octet; returns false, and follows nothing, for the IP of
  /// an IAC IP inside a character.
  bool step(unsigned char o)
  {
    if (due_ != 0 && o == 0xF4 && telnet_.is_command(o))
      return false;
    switch (telnet_.step(o))
    {
    case telnet_follower::what::data:
      if (o >= 0x80 && o <= 0xBF)
        due_ = due_ == 0 ? 0 : due_ - 1;
      else
        due_ = o >= 0xF0 && o <= 0xF4   ? 3
               : o >= 0xE0 && o <= 0xEF ? 2
               : o >= 0xC2 && o <= 0xDF ? 1
                                        : 0;
      break;
    case telnet_follower::what::command:
      if (due_ != 0 && (o == 0xF5 || o == 0xED || o == 0xF3 || o == 0xEE))
        --due_; // AO, SUSP, BRK, ABORT: an octet of the character
      break;
    case telnet_follower::what::none: break;
    }
    return true;
  }

  telnet_follower telnet_;
  int due_ = 0; ///< continuation octets due
};

struct conn
{
  int fd = -1;
  bool echo = false;
  std::string out;
  std::string in; ///< received and not yet processed: held by flood control
  /// What the fault reads while input is held, in reads, for `in` later.
  std::deque<std::string> hoard;
  proto::command_parser parser;
  proto::telnet_answerer telnet;
  http_sniffer sniffer;
  character_tracker characters;
  std::string peer; ///< the client's address, for the per-address limit
  /// Accepted then: unregistered at the registration timeout, it is closed.
  clock::time_point accepted = clock::now();
  bool first_line_known = false; ///< the first line is known not to be HTTP
  double tokens = flood_burst;
  clock::time_point refilled = clock::now();
  clock::time_point idle_from = clock::now(); ///< the idle time runs from here
  std::string nick;
  clock::time_point nick_since; ///< when `nick` was given
  std::uint64_t joined = 0;     ///< the newest message id when it registered
  bool ids = false;             ///< IDS was sent: its own messages come back [N-IDS-3]
  bool closing = false;         ///< close once `out` is written
  bool dead = false;
  bool mid_line = false; ///< the last write ended inside a line
  bool over = false;     ///< pending output passed max_sendq: to be dropped
  /// A dropped slow consumer is closed by then, reset if output is left.
  clock::time_point close_by = clock::time_point::max();
  /// The fault delayed-echo: lines to send at the time given.
  std::deque<std::pair<clock::time_point, std::string>> delayed;

  bool held() const { return !in.empty() || !hoard.empty(); }
};

int listen_on_loopback(std::uint16_t& port)
{
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(fd, 128) != 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
  {
    std::perror("natter-faulty: listen");
    std::exit(1);
  }
  port = ntohs(a.sin_port);
  return fd;
}

std::string lower(std::string_view s)
{
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

/// The limits natter-faulty applies, natterd's defaults unless told
/// otherwise on its command line; its greeting advertises them.
struct settings
{
  double rate = flood_rate; ///< lines per second; 0: no flood control
  std::chrono::milliseconds registration_timeout{std::chrono::seconds(60)}; ///< 0: none
  std::chrono::milliseconds idle_timeout{0};                                ///< 0: none
  std::size_t max_per_ip = 16; ///< chat connections per address; 0: no limit
  bool loopback_exempt = true; ///< 127.0.0.0/8 is not counted
};

/// The line limit natter-faulty applies: its parser's, unless a fault
/// applies less than it advertises.
constexpr std::size_t max_line = 1024;
constexpr std::size_t lying_max_line = 512;

/// The config natter-faulty's greeting advertises for `s`.
natter::core::config advertised(const settings& s, const faults& f)
{
  natter::core::config c;
  c.max_line = max_line;
  c.max_sendq = f.half_sendq ? max_sendq / 2 : max_sendq;
  c.rate = s.rate;
  c.burst = flood_burst;
  c.registration_timeout = s.registration_timeout;
  c.idle_timeout = s.idle_timeout;
  return c;
}

/// The greeting, built as natterd builds its own, unless a fault breaks it.
std::string greeting_of(const settings& s, const faults& f)
{
  std::string line = natter::core::greeting_line(advertised(s, f));
  line.resize(line.size() - 2);
  if (f.no_adverts)
    return "220 natter/1 ready";
  const std::size_t text = line.rfind(' ');
  if (f.advert_twice)
    line.insert(text, " line=1024");
  if (f.text_with_equals)
    line.replace(text + 1, std::string::npos, "Ready=yes");
  if (f.greeting_too_long)
    line.append(" " + std::string(300 - 2 - line.size() - 1, 'x')); // under L + 64
  return line;
}

class server
{
public:
  server(faults f, settings s)
      : f_(f), settings_(s), rate_(f.rate0_still_paced && s.rate == 0 ? flood_rate : s.rate),
        idle_timeout_(s.idle_timeout), greeting_(greeting_of(s, f)), epoch_(random_epoch())
  {
  }

  int run()
  {
    std::uint16_t chat_port = 0;
    std::uint16_t echo_port = 0;
    chat_fd_ = listen_on_loopback(chat_port);
    echo_fd_ = listen_on_loopback(echo_port);
    std::printf(
        "natterd: chat listening on 127.0.0.1:%u\nnatterd: echo listening on 127.0.0.1:%u\n",
        chat_port, echo_port);
    std::fflush(stdout);
    for (;;)
    {
      std::vector<pollfd> fds{{chat_fd_, POLLIN, 0}, {echo_fd_, POLLIN, 0}};
      clock::time_point wake = clock::time_point::max();
      for (const conn& c : conns_)
      {
        // Held input: the socket is not read until the bucket refilled
        // [N-FLOOD-3], unless the fault reads on and hoards.
        const bool read = !c.closing && (!c.held() || f_.flood_reads_anyway);
        fds.push_back(
            {c.fd, static_cast<short>((read ? POLLIN : 0) | (c.out.empty() ? 0 : POLLOUT)), 0});
        wake =
            std::min({wake, resume_at(c), idle_deadline(c), registration_deadline(c), c.close_by});
        if (!c.delayed.empty())
          wake = std::min(wake, c.delayed.front().first);
      }
      int timeout_ms = -1;
      if (wake != clock::time_point::max())
        timeout_ms = static_cast<int>(std::clamp<long long>(
            std::chrono::ceil<std::chrono::milliseconds>(wake - clock::now()).count(), 0, 60000));
      if (::poll(fds.data(), fds.size(), timeout_ms) < 0)
        continue;
      if (fds[0].revents != 0)
        accept_from(chat_fd_, false);
      if (fds[1].revents != 0)
        accept_from(echo_fd_, true);
      std::size_t k = 2;
      for (conn& c : conns_)
      {
        if (k >= fds.size())
          break;
        const short ev = fds[k++].revents;
        if ((ev & (POLLIN | POLLHUP | POLLERR)) != 0)
          read_from(c);
        if (!c.dead && (ev & POLLOUT) != 0)
          write_to(c);
      }
      const clock::time_point now = clock::now();
      for (conn& c : conns_)
      {
        for (; !c.delayed.empty() && now >= c.delayed.front().first; c.delayed.pop_front())
          if (!c.dead && !c.closing)
            line(c, c.delayed.front().second);
        if (now >= resume_at(c))
          resume(c, now);
        if (now >= idle_deadline(c))
          close_with(c, reply_code::idle_timeout, "idle timeout", "idle timeout");
        if (now >= registration_deadline(c))
          close_with(c, reply_code::registration_timeout, "registration timeout", nullptr);
        if (now >= c.close_by && !c.dead)
        {
          // Output is still unsent: reset, so the kernel drops it too.
          const linger abort_on_close{1, 0};
          ::setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
          c.dead = true;
        }
      }
      for (conn& c : conns_)
        if (c.over)
          drop_slow(c, now);
      for (auto it = conns_.begin(); it != conns_.end();)
      {
        if (it->dead || (it->closing && it->out.empty()))
        {
          ::close(it->fd);
          it = conns_.erase(it);
        }
        else
          ++it;
      }
    }
  }

private:
  void accept_from(int lfd, bool echo)
  {
    // The fault's chat sockets block, and each line is written as soon as
    // it is queued (line()): one client that does not read stops the whole
    // server once its socket's buffers are full.
    const int fd = ::accept4(lfd, nullptr, nullptr,
                             (f_.blocking_write && !echo ? 0 : SOCK_NONBLOCK) | SOCK_CLOEXEC);
    if (fd < 0)
      return;
    conns_.emplace_back();
    conn& c = conns_.back();
    c.fd = fd;
    c.echo = echo;
    if (!echo)
    {
      ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &chat_sndbuf, sizeof chat_sndbuf);
      // As natterd: without it, Nagle holds back a reply behind the last
      // unacknowledged segment, and a sender that writes 48 KiB at once waits
      // for a delayed ACK.
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      greet(c);
    }
  }

  /// A new chat connection gets the greeting, or 504 and the close when it
  /// is one too many from its address [N-LIMIT-5].
  void greet(conn& c)
  {
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    char text[INET_ADDRSTRLEN] = "";
    if (::getpeername(c.fd, reinterpret_cast<sockaddr*>(&peer), &len) == 0)
      ::inet_ntop(AF_INET, &peer.sin_addr, text, sizeof text);
    c.peer = text;
    if (f_.advert_lies)
      c.parser = proto::command_parser(lying_max_line);
    if (over_per_ip_limit(c))
    {
      reply(c, reply_code::too_many_from_address, "too many connections from your address");
      c.closing = true;
      ::shutdown(c.fd, SHUT_RD);
      return;
    }
    line(c, greeting_);
  }

  /// The per-address limit [N-LIMIT-5]: `c` would be one too many from its
  /// address. Loopback addresses are exempt unless told otherwise.
  bool over_per_ip_limit(const conn& c) const
  {
    if (settings_.max_per_ip == 0 || f_.no_per_ip_limit ||
        (settings_.loopback_exempt && !f_.loopback_counted && c.peer.starts_with("127.")))
      return false;
    std::size_t open = 0;
    for (const conn& o : conns_)
      open += !o.echo && !o.dead && &o != &c && o.peer == c.peer ? 1 : 0;
    return open >= settings_.max_per_ip;
  }

  /// When the registration timeout ends the connection; max() when it
  /// cannot [N-CONN-4].
  clock::time_point registration_deadline(const conn& c) const
  {
    if (settings_.registration_timeout.count() == 0 || c.echo || c.closing || c.dead ||
        !c.nick.empty())
      return clock::time_point::max();
    // The fault counts from the last input, as an idle timeout would.
    return (f_.reg_extended ? c.idle_from : c.accepted) + settings_.registration_timeout;
  }

  /// A slow consumer [N-SLOW-2]: all its pending output is dropped but the
  /// rest of a line partly written and the 524, the others are told, and the
  /// connection must be closed within the flush deadline [N-SLOW-6]. The
  /// fault leaves it open until the final lines are written, which for a
  /// client that does not read is never.
  void drop_slow(conn& c, clock::time_point now)
  {
    c.over = false;
    if (c.closing || c.dead)
      return;
    c.out.erase(c.mid_line ? c.out.find('\n') + 1 : 0);
    close_with(c, reply_code::sendq_exceeded, "send queue exceeded", "send queue exceeded");
    if (!f_.dropped_stays_open)
      c.close_by = now + flush_deadline;
  }

  void read_from(conn& c)
  {
    char buf[65536];
    const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n <= 0)
    {
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
      return lost(c);
    }
    std::string_view data(buf, static_cast<std::size_t>(n));
    if (c.echo)
    {
      for (const char ch : data)
        if (!(f_.echo_drop_ff && ch == '\xFF'))
          c.out += ch;
      return;
    }
    if (c.closing)
      return;
    const clock::time_point now = clock::now();
    c.idle_from = now; // any octet counts [N-CONN-6]
    if (c.held())
    {
      c.hoard.emplace_back(data); // only the fault reads while input is held
      return;
    }
    c.in.append(data);
    process(c, now);
  }

  /// Processes received octets one event at a time, as far as the flood
  /// tokens allow; what is left stays held in `c.in` (and, read on by the
  /// fault, in `c.hoard`).
  void process(conn& c, clock::time_point now)
  {
    c.tokens = std::min(flood_burst,
                        c.tokens + std::chrono::duration<double>(now - c.refilled).count() * rate_);
    if (rate_ == 0)
      c.tokens = HUGE_VAL; // no flood control: every line finds its token [N-FLOOD-5]
    c.refilled = now;
    for (;;)
    {
      consume(c);
      if (c.closing || !c.in.empty() || c.hoard.empty() || c.tokens < 1)
        break;
      c.in = std::move(c.hoard.front());
      c.hoard.pop_front();
    }
    if (c.closing)
    {
      c.in.clear();
      c.hoard.clear();
    }
  }

  /// Processes `c.in` as far as the tokens allow, and erases what was used.
  void consume(conn& c)
  {
    std::size_t pos = 0;
    while (pos < c.in.size() && !c.closing && !c.dead && c.tokens >= 1)
    {
      std::size_t n = std::min<std::size_t>(c.in.size() - pos, 1024);
      if (f_.ip_in_character_discards)
      {
        // The parser stops before an IP inside a character, and the fault
        // applies the rule of N-TELNET-14 to it.
        n = c.characters.before_ip(std::string_view(c.in).substr(pos, n));
        if (n == 0)
        {
          c.parser.reset();
          c.characters.discarded();
          ++pos;
          continue;
        }
      }
      // Until the first line is known not to be HTTP, one octet at a time:
      // the line is refused before any of it reaches the parser.
      if (!c.first_line_known)
      {
        n = 1;
        const auto v =
            c.sniffer.push(static_cast<unsigned char>(c.in[pos]), !f_.http_check_before_telnet);
        if (v == http_sniffer::verdict::http)
        {
          close_with(c, reply_code::wrong_protocol,
                     "this port speaks natter, a line-based chat protocol", nullptr);
          break;
        }
        c.first_line_known = v == http_sniffer::verdict::other;
      }
      std::size_t used = 0;
      const std::uint64_t framed = c.parser.lines_framed();
      const proto::parse_event ev = c.parser.next(std::string_view(c.in).substr(pos, n), used);
      // One call may frame empty lines before the line of its event; the
      // fault lets that line go free when it is answered with an error.
      const bool refused_free = f_.refused_not_charged &&
                                ev.what == proto::parse_event::kind::error &&
                                c.parser.lines_framed() > framed;
      c.tokens -= static_cast<double>(c.parser.lines_framed() - framed - (refused_free ? 1 : 0));
      if (f_.ip_in_character_discards)
        c.characters.follow(std::string_view(c.in).substr(pos, used));
      if (ev.what != proto::parse_event::kind::none && !c.closing)
        handle(c, ev);
      if (used == 0 && ev.what == proto::parse_event::kind::none)
        break;
      pos += used;
    }
    if (!c.closing)
      c.in.erase(0, pos);
  }

  /// When held input may be processed again; max() when none is held.
  clock::time_point resume_at(const conn& c) const
  {
    if (!c.held() || c.closing || c.dead || rate_ == 0)
      return clock::time_point::max();
    return c.refilled + std::chrono::duration_cast<clock::duration>(
                            std::chrono::duration<double>((1 - c.tokens) / rate_));
  }

  void resume(conn& c, clock::time_point now)
  {
    process(c, now);
    // Held input is not idleness: the idle time starts again once all of it
    // was processed [N-CONN-10]. The fault lets it run from the last octet.
    if (!c.held() && !f_.idle_counts_held_input)
      c.idle_from = now;
  }

  /// When the idle timeout ends the connection; max() when it cannot.
  clock::time_point idle_deadline(const conn& c) const
  {
    if (idle_timeout_.count() == 0 || c.echo || c.closing || c.dead ||
        (c.held() && !f_.idle_counts_held_input))
      return clock::time_point::max();
    return c.idle_from + idle_timeout_;
  }

  /// Sends a final reply and closes; `reason` is the QUIT event's reason
  /// for the others (none for a connection that never got that far).
  void close_with(conn& c, reply_code code, std::string_view text, const char* reason)
  {
    reply(c, code, text);
    if (!c.nick.empty() && reason != nullptr)
      broadcast(c, "QUIT " + c.nick + " " + reason);
    c.nick.clear();
    c.closing = true;
    c.in.clear();
    c.hoard.clear();
    ::shutdown(c.fd, SHUT_RD);
  }

  void write_to(conn& c)
  {
    const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n > 0)
    {
      c.mid_line = c.out[static_cast<std::size_t>(n) - 1] != '\n';
      c.out.erase(0, static_cast<std::size_t>(n));
    }
    else if (n < 0 && errno != EAGAIN && errno != EINTR)
      lost(c);
  }

  /// The connection ended under us (closed, reset or failed): the others
  /// are told, whether a read or a write found out [N-QUIT-5].
  void lost(conn& c)
  {
    // Dead first: a write the QUIT causes may find another client lost.
    c.dead = true;
    if (!c.echo && !c.nick.empty() && !c.closing)
      broadcast(c, "QUIT " + c.nick + " connection closed");
  }

  void line(conn& c, std::string_view text)
  {
    c.out.append(text);
    c.out.append(f_.lf_only ? "\n" : "\r\n");
    if (!c.nick.empty() && !c.closing && c.out.size() > (f_.half_sendq ? max_sendq / 2 : max_sendq))
      c.over = true;
    if (f_.blocking_write && !c.echo && !c.dead)
      write_to(c);
  }

  void reply(conn& c, reply_code code, std::string_view text, bool more = false)
  {
    line(c, proto::to_string(code) + (more ? "-" : " ") + std::string(text));
  }

  /// A registered client still in the room.
  static bool in_room(const conn& c) { return !c.echo && !c.nick.empty() && !c.dead && !c.closing; }

  /// Sends `event` to every other client in the room, and a MSG to its
  /// sender too once the sender sent IDS.
  void broadcast(const conn& from, const std::string& event)
  {
    const bool msg = event.rfind("MSG ", 0) == 0;
    if (f_.ids_gap && !msg)
      ++newest_id_; // the fault numbers every event, not only MSG
    for (conn& c : conns_)
      if (in_room(c) && (&c != &from || (msg && (f_.msg_to_sender || c.ids))))
        line(c, event);
      else if (f_.delayed_echo && &c == &from && msg)
        c.delayed.emplace_back(clock::now() + delayed_echo_after, event);
  }

  void handle(conn& c, const proto::parse_event& ev)
  {
    using kind = proto::parse_event::kind;
    if (ev.what == kind::telnet)
    {
      std::array<char, 3> buf{};
      c.out.append(c.telnet.answer(ev.telnet, ev.option, buf));
      return;
    }
    if (ev.what == kind::error)
    {
      const bool msg_verb = lower(ev.token) == "msg";
      if (ev.error == proto::parse_error::missing_argument && msg_verb && c.nick.empty())
        return reply(c, reply_code::not_registered, "register first with NICK");
      switch (ev.error)
      {
      case proto::parse_error::line_too_long:
        return reply(c, f_.overlong_415 ? reply_code::invalid_text : reply_code::line_too_long,
                     "line too long");
      case proto::parse_error::invalid_text:
        return reply(c, reply_code::invalid_text, "invalid text");
      case proto::parse_error::unknown_command:
        return reply(c, reply_code::unknown_command, std::string(ev.token) + " unknown command");
      case proto::parse_error::missing_argument:
        return reply(c, reply_code::bad_argument,
                     std::string(msg_verb ? "MSG" : "NICK") + " missing or bad argument");
      case proto::parse_error::invalid_nick:
        return reply(c, reply_code::invalid_nick, "invalid nick");
      }
      return;
    }
    if (ev.what != kind::command)
      return;
    const std::string arg(ev.cmd.arg);
    switch (ev.cmd.type)
    {
    case proto::command_type::nick: return nick(c, arg);
    case proto::command_type::msg:
      if (c.nick.empty())
        return reply(c, reply_code::not_registered, "register first with NICK");
      if (arg.find_first_not_of(' ') == std::string::npos)
        return reply(c, reply_code::bad_argument, "MSG missing or bad argument");
      return message(c, arg);
    case proto::command_type::echo: return line(c, arg.empty() ? "ECHO" : "ECHO " + arg);
    case proto::command_type::ping: return line(c, arg.empty() ? "PONG" : "PONG " + arg);
    case proto::command_type::who: return who(c);
    case proto::command_type::help: return help(c);
    case proto::command_type::tell:
    case proto::command_type::history:
    case proto::command_type::ids:
      // The fault advertises them, and answers them as a server from
      // before these additions does.
      if (f_.additions_421)
        return reply(c, reply_code::unknown_command,
                     std::string(proto::verb_name(ev.cmd.type)) + " unknown command");
      if (ev.cmd.type == proto::command_type::tell)
        return tell(c, ev.cmd);
      if (ev.cmd.type == proto::command_type::history)
        return history(c, ev.cmd);
      return ids(c);
    case proto::command_type::quit:
      reply(c, reply_code::closing, "goodbye");
      if (!c.nick.empty())
        broadcast(c, arg.empty() ? "QUIT " + c.nick : "QUIT " + c.nick + " " + arg);
      if (!f_.quit_stays_open)
      {
        c.closing = true;
        ::shutdown(c.fd, SHUT_RD);
      }
      c.nick.clear();
      return;
    }
  }

  void nick(conn& c, const std::string& want)
  {
    if (want == c.nick)
      return reply(c, reply_code::nick_accepted, want + " nick accepted");
    // natter-faulty serves one connection after another, so the fault
    // plays a server whose threads check a nick, do a little work, and only
    // then claim it: a nick given less than nick_race_window ago does not
    // count yet, and a second NICK for it in that time passes the check.
    const clock::time_point now = clock::now();
    for (const conn& o : conns_)
      if (&o != &c && !o.nick.empty() && lower(o.nick) == lower(want) && !f_.duplicate_nick &&
          !(f_.nick_race && now - o.nick_since < nick_race_window))
        return reply(c, reply_code::nick_in_use, want + " nick already in use");
    c.nick_since = now;
    const std::string old = c.nick;
    c.nick = want;
    reply(c, reply_code::nick_accepted, want + " nick accepted");
    if (old.empty())
    {
      c.joined = newest_id_; // every later message reaches it live [N-HIST-5]
      if (!f_.no_join)
        broadcast(c, "JOIN " + want);
    }
    else
      broadcast(c, "NICK " + old + " " + want);
  }

  void help(conn& c)
  {
    if (f_.help_header)
      reply(c, reply_code::help, "natter commands:", true);
    for (const char* h :
         {"NICK <nick>", "MSG <text>", "ECHO [<text>]", "PING [<token>]", "WHO", "HELP",
          "QUIT [<reason>]", "TELL <nick> <text>", "HISTORY [<count> | AFTER <id>]", "IDS"})
      reply(c, reply_code::help, f_.help_repeats ? "NICK <nick>" : h, true);
    reply(c, reply_code::help, "end of help");
  }

  void who(conn& c)
  {
    if (c.nick.empty())
      return reply(c, reply_code::not_registered, "register first with NICK");
    std::vector<std::string> nicks;
    for (const conn& o : conns_)
      if (!o.nick.empty() && !o.dead && !o.closing)
        nicks.push_back(o.nick);
    std::sort(nicks.begin(), nicks.end(),
              [](const std::string& a, const std::string& b) { return lower(a) < lower(b); });
    if (f_.who_unsorted)
      std::reverse(nicks.begin(), nicks.end());
    for (const std::string& n : nicks)
      reply(c, reply_code::who, n, true);
    reply(c, reply_code::who, std::to_string(nicks.size()) + " users in the room");
  }

  /// A MSG: numbered, kept and delivered [N-MSG-3, N-MSG-5].
  void message(conn& from, const std::string& text)
  {
    keep(from, text);
    broadcast(from, "MSG " + from.nick + " " + text);
  }

  /// Numbers a message from `from` and keeps its HISTORY line, fixed now
  /// [N-MSG-7]: the last limits::history of them, at natterd's default.
  void keep(const conn& from, std::string text)
  {
    const std::uint64_t id = ++newest_id_;
    if (f_.history_trims)
      text.erase(text.find_last_not_of(' ') + 1);
    std::string time;
    proto::append_msg_time(time, std::chrono::system_clock::now());
    if (f_.history_no_millis)
      time.erase(time.find('.'), 4); // "...:SS.mmmZ" becomes "...:SSZ"
    kept_.push_back({id, std::to_string(id) + " " + time + " " + from.nick + " " + text});
    if (kept_.size() > natter::core::limits::history && !f_.no_history_limit)
      kept_.pop_front();
  }

  /// TELL (spec 7.10): 401, 400, 434, or the event to its recipient alone.
  void tell(conn& c, const proto::command& cmd)
  {
    // The faults take any first word for a nick, or tell an empty text.
    const bool any_word = f_.tell_any_word && !cmd.text.empty();
    const bool blank = f_.tell_blank_text && !cmd.arg.empty() && cmd.text.empty();
    const bool bad = !cmd.valid && !any_word && !blank;
    if (bad && f_.tell_400_first)
      return reply(c, reply_code::bad_argument, "TELL missing or bad argument");
    if (c.nick.empty())
      return reply(c, reply_code::not_registered, "register first with NICK");
    if (bad)
      return reply(c, reply_code::bad_argument, "TELL missing or bad argument");
    const std::string to = lower(cmd.arg);
    conn* found = nullptr;
    for (conn& o : conns_)
      if (in_room(o) && lower(o.nick) == to && !(f_.tell_self_refused && &o == &c))
        found = &o;
    if (found == nullptr)
    {
      if (!f_.tell_no_434)
        reply(c, reply_code::no_such_nick, std::string(cmd.arg) + " no such nick");
      return;
    }
    const std::string event = "TELL " + c.nick + " " + std::string(cmd.text);
    if (f_.tell_stored)
      keep(c, std::string(cmd.text));
    else if (f_.ids_gap)
      ++newest_id_;
    if (!f_.tell_broadcast)
      return line(*found, event);
    for (conn& o : conns_)
      if (in_room(o))
        line(o, event);
  }

  /// HISTORY (spec 7.11): the kept messages from before `c` registered,
  /// all, the last <count> or those after <id>, oldest first.
  void history(conn& c, const proto::command& cmd)
  {
    if (c.nick.empty() && !f_.history_unregistered)
      return reply(c, reply_code::not_registered, "register first with NICK");
    if (!cmd.valid && !f_.history_lenient)
      return reply(c, reply_code::bad_argument, "HISTORY missing or bad argument");
    const bool all = cmd.arg.empty() || !cmd.valid;
    // Saturates: an id above every one given selects nothing, as it should.
    std::uint64_t n = 0;
    for (const char d : cmd.arg)
      n = n > (UINT64_MAX - 9) / 10 ? UINT64_MAX : n * 10 + static_cast<std::uint64_t>(d - '0');
    // The fault draws the line after the first message it sent live.
    const std::uint64_t upto = f_.seam_duplicate && newest_id_ > c.joined ? c.joined + 1 : c.joined;
    std::vector<const kept_message*> picked;
    for (const kept_message& m : kept_)
      if (m.id <= upto &&
          (all || !cmd.after || (f_.history_after_wraps ? m.id >= n + 1 : m.id > n)))
        picked.push_back(&m);
    if (!all && !cmd.after)
    {
      const std::uint64_t count = f_.history_off_by_one ? n - 1 : n;
      if (picked.size() > count)
        picked.erase(picked.begin(), picked.end() - static_cast<std::ptrdiff_t>(count));
    }
    for (const kept_message* m : picked)
      reply(c, reply_code::history, m->line, true);
    reply(c, reply_code::history, "end of history");
  }

  /// IDS (spec 7.12): the epoch, the join point and the newest id; from
  /// now on `c` gets its own messages.
  void ids(conn& c)
  {
    if (c.nick.empty() && !f_.ids_unregistered)
      return reply(c, reply_code::not_registered, "register first with NICK");
    c.ids = f_.ids_toggles ? !c.ids : !f_.ids_no_echo;
    const std::uint64_t newest = f_.ids_next_id ? newest_id_ + 1 : newest_id_;
    reply(c, reply_code::ids,
          epoch_ + " " + std::to_string(c.joined) + " " + std::to_string(newest) + " ids on");
  }

  /// 16 lower-case hex digits: a new epoch for every run [N-MSG-6].
  static std::string random_epoch()
  {
    std::random_device rd;
    const std::uint64_t v = (std::uint64_t{rd()} << 32) ^ rd();
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(v));
    return text;
  }

  /// A message as HISTORY gives it.
  struct kept_message
  {
    std::uint64_t id;
    std::string line; ///< "<id> <time> <nick> <text>", the 212- line's text
  };

  faults f_;
  settings settings_;
  double rate_; ///< the flood-control rate applied
  std::chrono::milliseconds idle_timeout_;
  std::string greeting_;
  int chat_fd_ = -1;
  int echo_fd_ = -1;
  std::list<conn> conns_;
  const std::string epoch_;
  std::uint64_t newest_id_ = 0;   ///< the id of the newest message; 0 before the first
  std::deque<kept_message> kept_; ///< the messages kept for HISTORY, oldest first
};

/// A number of seconds (a fraction allowed) from 0 to 3600, as milliseconds.
bool parse_seconds(const char* text, std::chrono::milliseconds& out)
{
  char* end = nullptr;
  const double s = std::strtod(text, &end);
  if (*text == '\0' || *end != '\0' || !(s >= 0 && s <= 3600))
    return false;
  out = std::chrono::milliseconds(std::llround(s * 1000));
  return true;
}

/// The fault named `name`; false for a name that is none.
bool set_fault(const std::string& name, faults& f)
{
  for (const auto& [n, member] : fault_names)
    if (name == n)
    {
      f.*member = true;
      return true;
    }
  return name == "none";
}

} // namespace

int main(int argc, char** argv)
{
  std::signal(SIGPIPE, SIG_IGN);
  faults f;
  settings s;
  const char* usage = "usage: natter-faulty --fault NAME [--idle-timeout S] "
                      "[--registration-timeout S] [--rate R] [--max-per-ip N] "
                      "[--no-loopback-exempt]\n";
  bool fault_given = false;
  for (int k = 1; k < argc; ++k)
  {
    const std::string flag = argv[k];
    const char* value = k + 1 < argc ? argv[k + 1] : nullptr;
    char* end = nullptr;
    bool ok = value != nullptr;
    if (flag == "--no-loopback-exempt")
    {
      s.loopback_exempt = false;
      continue;
    }
    if (flag == "--fault" && ok)
      ok = fault_given = set_fault(value, f);
    else if (flag == "--idle-timeout" && ok)
      ok = parse_seconds(value, s.idle_timeout);
    else if (flag == "--registration-timeout" && ok)
      ok = parse_seconds(value, s.registration_timeout);
    else if (flag == "--rate" && ok)
      ok = (s.rate = std::strtod(value, &end)) >= 0 && *end == '\0';
    else if (flag == "--max-per-ip" && ok)
      ok = (s.max_per_ip = std::strtoul(value, &end, 10)) <= 1000 && *end == '\0';
    else
      ok = false;
    if (!ok)
    {
      std::fprintf(stderr, "natter-faulty: bad %s\n%s", flag.c_str(), usage);
      return 2;
    }
    ++k;
  }
  if (!fault_given)
  {
    std::fputs(usage, stderr);
    return 2;
  }
  return server(f, s).run();
}
