// natter-faulty: a small, single-threaded natter server with switchable
// faults, so the conformance tests can show that natter-conform catches each
// one (issue 5, "It must be able to fail"). It serves the core of the spec
// (framing, text, telnet and commands via natter::proto, the room, the echo
// service) and nothing else: no flood control, limits or timeouts, so the
// fault tests run it only on the cases that cover what it does.
//
//   natter-faulty --fault NAME
// prints "natterd: chat listening on 127.0.0.1:<port>" and the echo line as
// natterd does, then serves until killed.
#include "natter/proto/command_parser.hpp"
#include "natter/proto/parse_error.hpp"
#include "natter/proto/reply.hpp"
#include "natter/proto/telnet.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <list>
#include <string>
#include <vector>

namespace
{

namespace proto = natter::proto;

/// The faults; each breaks one requirement of the spec.
struct faults
{
  bool msg_to_sender = false;   ///< MSG also goes back to its sender [N-MSG-4]
  bool no_join = false;         ///< no JOIN event [N-NICK-8]
  bool overlong_415 = false;    ///< an overlong line gets 415, not 413 [N-FRAME-8]
  bool duplicate_nick = false;  ///< a nick in use is given out again [N-NICK-4]
  bool lf_only = false;         ///< lines end with LF, not CRLF [N-FRAME-5]
  bool who_unsorted = false;    ///< WHO in reverse order [N-WHO-3]
  bool echo_drop_ff = false;    ///< the echo service drops 0xFF octets [N-ECHOSVC-1]
  bool quit_stays_open = false; ///< 221 without closing [N-QUIT-1]
};

struct conn
{
  int fd = -1;
  bool echo = false;
  std::string out;
  proto::command_parser parser;
  proto::telnet_answerer telnet;
  std::string nick;
  bool closing = false; ///< close once `out` is written
  bool dead = false;
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

class server
{
public:
  explicit server(faults f) : f_(f) {}

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
      for (const conn& c : conns_)
        fds.push_back({c.fd,
                       static_cast<short>((c.closing ? 0 : POLLIN) | (c.out.empty() ? 0 : POLLOUT)),
                       0});
      if (::poll(fds.data(), fds.size(), -1) < 0)
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
    const int fd = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
      return;
    conns_.emplace_back();
    conn& c = conns_.back();
    c.fd = fd;
    c.echo = echo;
    if (!echo)
      reply(c, 220, "natter/1 ready");
  }

  void read_from(conn& c)
  {
    char buf[65536];
    const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n <= 0)
    {
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
      if (!c.echo && !c.nick.empty() && !c.closing)
        broadcast(c, "QUIT " + c.nick + " connection closed");
      c.dead = true;
      return;
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
    c.parser.feed(data,
                  [&](const proto::parse_event& ev)
                  {
                    if (!c.closing)
                      handle(c, ev);
                  });
  }

  void write_to(conn& c)
  {
    const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n > 0)
      c.out.erase(0, static_cast<std::size_t>(n));
    else if (n < 0 && errno != EAGAIN && errno != EINTR)
      c.dead = true;
  }

  void line(conn& c, std::string_view text)
  {
    c.out.append(text);
    c.out.append(f_.lf_only ? "\n" : "\r\n");
  }

  void reply(conn& c, int code, std::string_view text, bool more = false)
  {
    line(c, std::to_string(code) + (more ? "-" : " ") + std::string(text));
  }

  void broadcast(const conn& from, const std::string& event)
  {
    for (conn& c : conns_)
      if (!c.echo && !c.nick.empty() && !c.dead && !c.closing &&
          (&c != &from || (f_.msg_to_sender && event.rfind("MSG ", 0) == 0)))
        line(c, event);
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
        return reply(c, 401, "register first with NICK");
      switch (ev.error)
      {
      case proto::parse_error::line_too_long:
        return reply(c, f_.overlong_415 ? 415 : 413, "line too long");
      case proto::parse_error::invalid_text: return reply(c, 415, "invalid text");
      case proto::parse_error::unknown_command:
        return reply(c, 421, std::string(ev.token) + " unknown command");
      case proto::parse_error::missing_argument:
        return reply(c, 400, std::string(msg_verb ? "MSG" : "NICK") + " missing or bad argument");
      case proto::parse_error::invalid_nick: return reply(c, 432, "invalid nick");
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
        return reply(c, 401, "register first with NICK");
      return broadcast(c, "MSG " + c.nick + " " + arg);
    case proto::command_type::echo: return line(c, arg.empty() ? "ECHO" : "ECHO " + arg);
    case proto::command_type::ping: return line(c, arg.empty() ? "PONG" : "PONG " + arg);
    case proto::command_type::who: return who(c);
    case proto::command_type::help:
      for (const char* h : {"NICK <nick>", "MSG <text>", "ECHO [<text>]", "PING [<token>]", "WHO",
                            "HELP", "QUIT [<reason>]"})
        reply(c, 214, h, true);
      return reply(c, 214, "end of help");
    case proto::command_type::quit:
      reply(c, 221, "goodbye");
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
      return reply(c, 200, want + " nick accepted");
    for (const conn& o : conns_)
      if (&o != &c && !o.nick.empty() && lower(o.nick) == lower(want) && !f_.duplicate_nick)
        return reply(c, 433, want + " nick already in use");
    const std::string old = c.nick;
    c.nick = want;
    reply(c, 200, want + " nick accepted");
    if (old.empty())
    {
      if (!f_.no_join)
        broadcast(c, "JOIN " + want);
    }
    else
      broadcast(c, "NICK " + old + " " + want);
  }

  void who(conn& c)
  {
    if (c.nick.empty())
      return reply(c, 401, "register first with NICK");
    std::vector<std::string> nicks;
    for (const conn& o : conns_)
      if (!o.nick.empty() && !o.dead && !o.closing)
        nicks.push_back(o.nick);
    std::sort(nicks.begin(), nicks.end(),
              [](const std::string& a, const std::string& b) { return lower(a) < lower(b); });
    if (f_.who_unsorted)
      std::reverse(nicks.begin(), nicks.end());
    for (const std::string& n : nicks)
      reply(c, 211, n, true);
    reply(c, 211, std::to_string(nicks.size()) + " users in the room");
  }

  faults f_;
  int chat_fd_ = -1;
  int echo_fd_ = -1;
  std::list<conn> conns_;
};

} // namespace

int main(int argc, char** argv)
{
  std::signal(SIGPIPE, SIG_IGN);
  faults f;
  const std::string usage =
      "usage: natter-faulty --fault none|msg-to-sender|no-join|overlong-415|duplicate-nick|lf-only|"
      "who-unsorted|echo-drop-ff|quit-stays-open\n";
  if (argc != 3 || std::strcmp(argv[1], "--fault") != 0)
  {
    std::fputs(usage.c_str(), stderr);
    return 2;
  }
  const std::string name = argv[2];
  if (name == "msg-to-sender")
    f.msg_to_sender = true;
  else if (name == "no-join")
    f.no_join = true;
  else if (name == "overlong-415")
    f.overlong_415 = true;
  else if (name == "duplicate-nick")
    f.duplicate_nick = true;
  else if (name == "lf-only")
    f.lf_only = true;
  else if (name == "who-unsorted")
    f.who_unsorted = true;
  else if (name == "echo-drop-ff")
    f.echo_drop_ff = true;
  else if (name == "quit-stays-open")
    f.quit_stays_open = true;
  else if (name != "none")
  {
    std::fputs(usage.c_str(), stderr);
    return 2;
  }
  return server(f).run();
}
