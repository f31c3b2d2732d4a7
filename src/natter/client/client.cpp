#include "natter/client/client.hpp"

#include "natter/client/backoff.hpp"
#include "natter/client/connection.hpp"
#include "natter/client/conversation.hpp"
#include "natter/client/format.hpp"
#include "natter/client/pipe_input.hpp"
#include "natter/client/terminal.hpp"

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <memory>
#include <random>

#include <unistd.h>

namespace natter::client
{
namespace
{

/// Octets of piped input allowed to wait for the socket before reading stops.
constexpr std::size_t max_queued_input = 64 * 1024;

/// How long to wait for the server to close after QUIT.
constexpr std::chrono::seconds quit_grace{3};

/// In a pipe, a PING after every this many messages: its PONG confirms
/// them, so input is read only as fast as the server confirms it (at most
/// two batches unconfirmed) and a server that stops answering is noticed.
/// natterd takes a burst of 100 lines at once (spec 11).
constexpr std::size_t confirm_every = 50;

std::string clock_now()
{
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  return format_clock(local);
}

/// On a terminal, the history shown on connecting fills the screen but
/// for the rows of the lines around it and the prompt.
constexpr std::size_t rows_around_history = 3;
/// The screenful assumed when the terminal does not say its size.
constexpr std::size_t default_screenful = 20;

// On a terminal natter shows a screenful of what was said before and,
// after a reconnection, what was missed; in a pipe neither (README).
conversation::options conversation_options(const settings& s)
{
  conversation::options o{s.nick, s.colour, s.interactive, s.interactive ? 0 : confirm_every};
  if (s.interactive)
  {
    const std::size_t rows = terminal_rows(STDOUT_FILENO);
    o.history_rows = rows > rows_around_history ? rows - rows_around_history
                     : rows == 0                ? default_screenful
                                                : 1;
    o.catch_up = true;
  }
  return o;
}

class app
{
public:
  app(asio::io_context& io, const settings& s)
      : io_(io), s_(s), conv_(conversation_options(s)),
        conn_(
            io, [this](std::string_view line) { on_line(line); },
            [this](std::error_code ec) { on_close(ec); }, s.tls.get()),
        signals_(io, SIGINT, SIGTERM), reconnect_timer_(io), quit_timer_(io), wait_timer_(io),
        backoff_(backoff::options{s.backoff_first, s.backoff_max}, std::random_device{}())
  {
    if (s_.interactive)
      signals_.add(SIGWINCH);
    conn_.on_written([this] { pace_input(); });
  }

  int run()
  {
    do_await_signal();
    connect();
    io_.run();
    return exit_code_;
  }

private:
  void do_await_signal()
  {
    signals_.async_wait(
        [this](std::error_code ec, int signo)
        {
          if (ec || done_)
            return;
          if (signo == SIGWINCH)
          {
            if (term_)
              term_->resized();
          }
          else if (conv_.quitting())
            finish(0); // a second Ctrl-C does not wait for the server
          else
          {
            conv_.quit({});
            apply();
          }
          if (!done_)
            do_await_signal();
        });
  }

  void connect()
  {
    connecting_ = true;
    conn_.connect(s_.server.host, s_.server.port, [this](std::error_code ec) { on_connect(ec); });
    watch();
  }

  void on_connect(std::error_code ec)
  {
    if (done_)
      return;
    connecting_ = false;
    if (ec == tls_failure::handshake)
    {
      // A certificate does not fix itself in a few seconds: no retry
      // (spec N-TLS-13).
      refuse_tls();
      return;
    }
    if (ec)
    {
      if (!ever_connected_)
      {
        std::fprintf(stderr, "natter: cannot connect to %s: %s\n", to_string(s_.server).c_str(),
                     ec.message().c_str());
        finish(1);
        return;
      }
      lost("cannot reconnect to " + to_string(s_.server) + ": " + ec.message());
      return;
    }
    const bool first = !ever_connected_;
    ever_connected_ = true;
    backoff_.connected(backoff::clock::now());
    say_connected(first);
    conv_.connected();
    apply();
    start_input();
  }

  void on_line(std::string_view line)
  {
    if (done_)
      return;
    conv_.server_line(line);
    apply();
  }

  void on_close(std::error_code ec)
  {
    if (done_)
      return;
    const bool wanted = conv_.quitting();
    conv_.disconnected();
    apply();
    if (done_ || wanted)
      return;
    if (ec == asio::error::eof)
      lost("connection lost: closed by the server");
    else if (ec == tls_failure::record)
      lost("connection lost: TLS: " + conn_.tls_reason());
    else
      lost("connection lost: " + ec.message());
  }

  // "connected to HOST:PORT", over TLS with the version, and whether the
  // session was resumed. Without verification a warning follows: on the
  // terminal each time, in a pipe once on stderr.
  void say_connected(bool first)
  {
    std::string text = "connected to " + to_string(s_.server);
    if (s_.tls)
      text += " over " + conn_.tls_version() + (conn_.tls_resumed() ? ", resumed" : "");
    say_status(text);
    if (!s_.tls_insecure)
      return;
    const std::string warning =
        "warning: the server's certificate is not verified (--tls-insecure)";
    if (s_.interactive)
      say_status(warning);
    else if (first)
      std::fprintf(stderr, "natter: %s\n", warning.c_str());
  }

  // The TLS handshake failed: exit 1 at once with its reason in one line
  // (on the terminal once it runs, otherwise on stderr).
  void refuse_tls()
  {
    const std::string why =
        with_held("TLS: " + conn_.tls_reason() + " (" + to_string(s_.server) + ")");
    if (term_ && term_->active())
      say_error(why);
    else
      std::fprintf(stderr, "natter: %s\n", why.c_str());
    finish(1);
  }

  // `why`, and how many lines were never sent when there are any.
  std::string with_held(std::string why) const
  {
    if (const std::size_t held = conv_.held_lines(); held > 0)
      why += "; " + std::to_string(held) + (held == 1 ? " line" : " lines") + " not sent";
    return why;
  }

  // The connection is gone (or a reconnection failed) for the reason `why`:
  // try again, or give up after too many tries. In a pipe the tries are not
  // told on stderr: only giving up is, in one line.
  void lost(const std::string& why)
  {
    if (!s_.reconnect)
    {
      give_up(why);
      return;
    }
    const std::chrono::milliseconds delay = backoff_.next(backoff::clock::now());
    if (backoff_.attempts() > s_.max_reconnects)
    {
      give_up(why + " (after " + std::to_string(backoff_.attempts() - 1) + " reconnections)");
      return;
    }
    if (s_.interactive)
      say_error(why);
    reconnect_after(delay);
  }

  // Exits 1, saying why in one line (on stderr in a pipe), with the lines
  // that were never sent.
  void give_up(std::string why)
  {
    why = with_held(std::move(why));
    if (s_.interactive)
      say_error(why);
    else
      std::fprintf(stderr, "natter: giving up on %s: %s\n", to_string(s_.server).c_str(),
                   why.c_str());
    finish(1);
  }

  // In a pipe nobody is there to notice a server that stops answering:
  // while natter waits for one (to connect, to register, to confirm what
  // was sent) it waits at most --timeout for each answer.
  // The deadline is not pushed back by lines that answer nothing.
  void watch()
  {
    if (s_.interactive || s_.timeout.count() == 0 || done_)
      return;
    // After QUIT the wait is quit_grace's.
    if (conv_.quitting() || (!connecting_ && !conv_.waiting()))
    {
      if (watching_)
        wait_timer_.cancel();
      watching_ = false;
      return;
    }
    if (watching_ && conv_.answers() == answers_seen_)
      return;
    watching_ = true;
    answers_seen_ = conv_.answers();
    wait_timer_.expires_after(s_.timeout);
    wait_timer_.async_wait(
        [this](std::error_code ec)
        {
          if (!ec && !done_)
            give_up("no answer for " + std::to_string(s_.timeout.count()) + " s");
        });
  }

  void reconnect_after(std::chrono::milliseconds delay)
  {
    char buf[64];
    std::snprintf(buf, sizeof buf, "reconnecting in %.1f s",
                  static_cast<double>(delay.count()) / 1000.0);
    say_status(buf);
    reconnect_timer_.expires_after(delay);
    reconnect_timer_.async_wait(
        [this](std::error_code ec)
        {
          if (!ec && !done_)
            connect();
        });
  }

  void start_input()
  {
    if (input_started_)
      return;
    input_started_ = true;
    if (s_.interactive)
    {
      term_ = std::make_unique<terminal>(
          io_, [this](std::optional<std::string> line) { on_user_line(std::move(line)); },
          s_.history_path, ::isatty(STDOUT_FILENO) != 0);
      term_->start(prompt());
    }
    else
    {
      pipe_ = std::make_unique<pipe_input>(
          io_, STDIN_FILENO,
          [this](std::string_view line)
          {
            conv_.message(line);
            apply();
          },
          [this]
          {
            conv_.input_ended();
            apply();
          });
      pipe_->start();
    }
  }

  void on_user_line(std::optional<std::string> line)
  {
    if (done_)
      return;
    if (!line)
      conv_.quit({}); // Ctrl-D
    else
    {
      // A bracketed paste of several lines arrives as one line with LFs in
      // it: each is a line of its own, as if typed one by one.
      std::string_view rest = *line;
      for (;;)
      {
        const std::size_t lf = rest.find('\n');
        std::string_view one = rest.substr(0, lf);
        if (!one.empty() && one.back() == '\r')
          one.remove_suffix(1);
        conv_.user_line(one);
        if (lf == std::string_view::npos)
          break;
        rest.remove_prefix(lf + 1);
      }
    }
    apply();
    // Once leaving, stop line editing at once: the terminal is restored and
    // no prompt comes back while the server says goodbye.
    if (conv_.quitting() && term_)
      term_->stop();
  }

  // In a pipe, input is read only as fast as the server takes it: not while
  // unregistered (it would pile up in the conversation) and not while much
  // is waiting to be written (the server's flood control paces us), so a
  // large file needs bounded memory.
  void pace_input()
  {
    if (!pipe_)
      return;
    if (conv_.registered() && conn_.queued_bytes() < max_queued_input && conv_.pings_awaited() < 2)
      pipe_->resume();
    else
      pipe_->pause();
  }

  // Carries out what the conversation decided.
  void apply()
  {
    effects e = conv_.take();
    for (const std::string& line : e.send)
      conn_.send(line);
    for (const display_line& d : e.show)
      display(d);
    if (e.nick_changed && term_)
      term_->set_prompt(prompt());
    if (e.quit_sent)
    {
      quit_timer_.expires_after(quit_grace);
      quit_timer_.async_wait(
          [this](std::error_code ec)
          {
            if (!ec)
              finish(0);
          });
    }
    if (e.exit_code)
      finish(*e.exit_code);
    else
    {
      pace_input();
      watch();
    }
  }

  void display(const display_line& d)
  {
    if (term_ && term_->active())
    {
      term_->print(d.text);
      return;
    }
    // Before the terminal starts (or after it stopped), errors go to
    // stderr. In a pipe what was said in the room goes to stdout for the
    // script, errors to stderr, and the client's own status is left out.
    const bool error = d.what == display_line::kind::error;
    if (!s_.interactive && d.what == display_line::kind::status)
      return;
    FILE* to = error ? stderr : stdout;
    write_rows(to, d.text, terminal_columns(::fileno(to)));
    std::fflush(to);
  }

  void say_status(const std::string& text)
  {
    display(display_line{display_line::kind::status, format_notice(clock_now(), text, s_.colour)});
  }

  void say_error(const std::string& text)
  {
    display(display_line{display_line::kind::error, format_error(clock_now(), text, s_.colour)});
  }

  std::string prompt() const { return "[" + conv_.nick() + "] "; }

  void finish(int code)
  {
    if (done_)
      return;
    done_ = true;
    exit_code_ = code;
    if (term_)
      term_->stop();
    if (pipe_)
      pipe_->stop();
    conn_.close();
    std::error_code ignored;
    signals_.cancel(ignored);
    reconnect_timer_.cancel();
    quit_timer_.cancel();
    wait_timer_.cancel();
    std::fflush(stdout);
    io_.stop();
  }

  asio::io_context& io_;
  const settings& s_;
  conversation conv_;
  connection conn_;
  std::unique_ptr<terminal> term_;
  std::unique_ptr<pipe_input> pipe_;
  asio::signal_set signals_;
  asio::steady_timer reconnect_timer_;
  asio::steady_timer quit_timer_;
  asio::steady_timer wait_timer_;
  backoff backoff_;
  std::uint64_t answers_seen_ = 0; // conv_.answers() when wait_timer_ was set
  bool connecting_ = false;
  bool watching_ = false;
  int exit_code_ = 0;
  bool ever_connected_ = false;
  bool input_started_ = false;
  bool done_ = false;
};

} // namespace

int run_client(const settings& s)
{
  asio::io_context io(1);
  app a(io, s);
  return a.run();
}

} // namespace natter::client
