#include "natter/client/terminal.hpp"

#include "natter/client/format.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

namespace natter::client
{

terminal* terminal::active_ = nullptr;

namespace
{

constexpr int history_size = 1000;

// Writes all of `data` to stdout, waiting for the terminal whenever it has
// no room: stdout may share stdin's non-blocking flag (see terminal.hpp).
ssize_t write_waiting(void*, const char* data, std::size_t size)
{
  std::size_t done = 0;
  while (done < size)
  {
    const ssize_t n = ::write(STDOUT_FILENO, data + done, size - done);
    if (n > 0)
      done += static_cast<std::size_t>(n);
    else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    {
      pollfd p{STDOUT_FILENO, POLLOUT, 0};
      ::poll(&p, 1, -1);
    }
    else if (n < 0 && errno == EINTR)
      continue;
    else
      return done > 0 ? static_cast<ssize_t>(done) : -1; // the terminal is gone
  }
  return static_cast<ssize_t>(done);
}

FILE* open_output()
{
  FILE* out =
      ::fopencookie(nullptr, "w", cookie_io_functions_t{nullptr, &write_waiting, nullptr, nullptr});
  return out != nullptr ? out : stdout;
}

} // namespace

std::size_t terminal_columns(int fd) noexcept
{
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) != 0)
    return 0;
  return ws.ws_col;
}

std::size_t terminal_rows(int fd) noexcept
{
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) != 0)
    return 0;
  return ws.ws_row;
}

void write_rows(FILE* out, std::string_view line, std::size_t columns)
{
  if (columns == 0)
  {
    std::fwrite(line.data(), 1, line.size(), out);
    std::fputc('\n', out);
    return;
  }
  std::fputs("\x1b[?7l", out); // DECAWM off
  for (const std::string& row : wrap_rows(line, columns))
  {
    std::fwrite(row.data(), 1, row.size(), out);
    std::fputc('\n', out);
  }
  std::fputs("\x1b[?7h", out);
}

terminal::terminal(asio::io_context& io, line_handler on_line, std::string history_path,
                   bool erase_echo)
    : input_(io), on_line_(std::move(on_line)), history_path_(std::move(history_path)),
      erase_echo_(erase_echo), out_(open_output())
{
  // Asio makes the descriptor non-blocking, and a dup shares that flag with
  // stdin and so with the shell that started us: remember it to put back.
  saved_flags_ = ::fcntl(STDIN_FILENO, F_GETFL);
  input_.assign(::dup(STDIN_FILENO));
}

terminal::~terminal()
{
  stop();
  if (out_ != stdout)
    std::fclose(out_);
}

void terminal::start(const std::string& prompt)
{
  active_ = this;
  prompt_ = prompt;
  // asio::signal_set owns SIGINT, SIGTERM and SIGWINCH; readline's own
  // handlers would fight it.
  rl_catch_signals = 0;
  rl_catch_sigwinch = 0;
  rl_readline_name = "natter";
  // Readline reads keys from the bytes Asio already read, never from the
  // descriptor itself, so the two never race for input.
  rl_getc_function = &terminal::getc_hook;
  rl_input_available_hook = &terminal::input_available_hook;
  rl_outstream = out_;
  using_history();
  stifle_history(history_size);
  if (!history_path_.empty())
    read_history(history_path_.c_str());
  rl_callback_handler_install(prompt_.c_str(), &terminal::on_readline_line);
  installed_ = true;
  do_read();
}

void terminal::set_prompt(const std::string& prompt)
{
  prompt_ = prompt;
  if (!installed_)
    return;
  // Inside the line handler readline shows the new prompt itself afterwards;
  // otherwise the old prompt is on screen and must go before the redraw,
  // which starts wherever the cursor is.
  if (!in_handler_)
    rl_clear_visible_line();
  rl_set_prompt(prompt_.c_str());
  if (!in_handler_)
    rl_forced_update_display();
  std::fflush(out_);
}

void terminal::print(std::string_view text)
{
  if (!installed_ || in_handler_)
  {
    // No prompt on screen: nothing to protect.
    write_rows(out_, text, terminal_columns(STDOUT_FILENO));
    std::fflush(out_);
    return;
  }
  // Clear the prompt and the typed text from the screen (readline's buffer
  // and cursor position are untouched), print above, then have readline
  // redraw prompt, input and cursor from its buffer. No save/restore of the
  // line is needed because the buffer itself is never modified.
  rl_clear_visible_line();
  write_rows(out_, text, terminal_columns(STDOUT_FILENO));
  rl_forced_update_display();
  std::fflush(out_);
}

void terminal::resized()
{
  if (installed_)
    rl_resize_terminal();
}

void terminal::stop()
{
  if (installed_)
  {
    installed_ = false;
    if (!in_handler_)
      rl_clear_visible_line(); // leave no dangling prompt behind
    rl_callback_handler_remove();
    std::fflush(out_);
    rl_outstream = stdout;
    if (!history_path_.empty())
    {
      write_history(history_path_.c_str());
      history_truncate_file(history_path_.c_str(), history_size);
    }
  }
  if (active_ == this)
    active_ = nullptr;
  std::error_code ignored;
  input_.close(ignored);
  if (saved_flags_ != -1)
  {
    ::fcntl(STDIN_FILENO, F_SETFL, saved_flags_);
    saved_flags_ = -1;
  }
}

void terminal::do_read()
{
  input_.async_read_some(asio::buffer(buffer_),
                         [this](std::error_code ec, std::size_t n)
                         {
                           if (!installed_)
                             return;
                           if (ec)
                           {
                             // The terminal went away (hangup): as good as Ctrl-D.
                             on_line_(std::nullopt);
                             return;
                           }
                           pos_ = 0;
                           len_ = n;
                           // Each call consumes at least one byte; a completed line runs the
                           // handler, which may stop the terminal.
                           while (installed_ && pos_ < len_)
                             rl_callback_read_char();
                           if (installed_)
                             do_read();
                         });
}

void terminal::on_readline_line(char* line)
{
  terminal* self = active_;
  if (self == nullptr)
  {
    std::free(line);
    return;
  }
  self->in_handler_ = true;
  if (line == nullptr)
    self->on_line_(std::nullopt); // Ctrl-D on an empty line
  else
  {
    std::string entered(line);
    std::free(line);
    if (!entered.empty())
      add_history(entered.c_str());
    self->erase_entered(entered);
    self->on_line_(std::move(entered));
  }
  self->in_handler_ = false;
}

// Readline has moved to the line below the entered text; go up over the rows
// the prompt and the text took and clear them, so only the formatted line
// the caller prints remains.
void terminal::erase_entered(std::string_view line)
{
  if (!erase_echo_)
    return;
  int rows = 0;
  int cols = 0;
  rl_get_screen_size(&rows, &cols);
  if (cols <= 0)
    return;
  const std::size_t width = display_width(prompt_) + display_width(line);
  const std::size_t up = width == 0 ? 1 : (width - 1) / static_cast<std::size_t>(cols) + 1;
  std::fprintf(out_, "\x1b[%zuA\r\x1b[J", up);
  std::fflush(out_);
}

int terminal::getc_hook(FILE* stream)
{
  terminal* self = active_;
  if (self != nullptr && self->pos_ < self->len_)
    return static_cast<unsigned char>(self->buffer_[self->pos_++]);
  // Readline wants more of a key sequence than has arrived: wait for it.
  // The descriptor is non-blocking (Asio), so poll before reading.
  const int fd = ::fileno(stream);
  for (;;)
  {
    unsigned char c = 0;
    const ssize_t n = ::read(fd, &c, 1);
    if (n == 1)
      return c;
    if (n == 0)
      return EOF;
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      return EOF;
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, -1);
  }
}

int terminal::input_available_hook()
{
  terminal* self = active_;
  if (self != nullptr && self->pos_ < self->len_)
    return 1;
  pollfd p{STDIN_FILENO, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 ? 1 : 0;
}

} // namespace natter::client
