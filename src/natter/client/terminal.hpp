// The interactive terminal: GNU readline's callback interface fed from stdin
// as an asio::posix::stream_descriptor, so typing and incoming chat share the
// one io_context (the shape of Asio's posix_chat_client, with line editing).
#ifndef NATTER_CLIENT_TERMINAL_HPP
#define NATTER_CLIENT_TERMINAL_HPP

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>

#include <array>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace natter::client
{

/// Columns of the terminal on `fd`, or 0 when `fd` is not a terminal.
std::size_t terminal_columns(int fd) noexcept;
/// Rows of the terminal on `fd`, or 0 when `fd` is not a terminal.
std::size_t terminal_rows(int fd) noexcept;

/// Writes `line` and a newline to `out`. When `columns` is not 0 (a
/// terminal) the line goes out as the rows of wrap_rows(), with the
/// terminal's automatic wrapping off meanwhile: a row that a terminal draws
/// wider than natter counted loses its end instead of spilling onto a row
/// of its own, where it could pass for another message.
void write_rows(FILE* out, std::string_view line, std::size_t columns);

/// Line editing on stdin/stdout. Only one may be started at a time: readline
/// is a process-wide library.
///
/// Nothing written to the terminal is ever dropped. Reading stdin through
/// Asio makes its open file description non-blocking, and on a terminal
/// stdout is usually that same description, so a plain write to stdout can
/// fail with EAGAIN when the terminal is slower than the chat. All output,
/// readline's included, therefore goes through a stream that waits until
/// the terminal takes it. While it waits nothing else runs, the socket is
/// not read, and TCP holds the server back.
class terminal
{
public:
  /// Called with each line the user enters, or nullopt on Ctrl-D.
  using line_handler = std::function<void(std::optional<std::string>)>;

  /// `history_path` empty means no persistent history. With `erase_echo`
  /// an entered line is removed from the screen, because the caller shows it
  /// again formatted.
  terminal(asio::io_context& io, line_handler on_line, std::string history_path, bool erase_echo);
  terminal(const terminal&) = delete;
  terminal& operator=(const terminal&) = delete;
  ~terminal();

  /// Loads history, shows `prompt` and starts reading keys.
  void start(const std::string& prompt);

  /// Changes the prompt (shown at once, or with the next line).
  void set_prompt(const std::string& prompt);

  /// Prints one line above the prompt, leaving the user's half-typed input
  /// and cursor as they were.
  void print(std::string_view text);

  /// The terminal was resized (SIGWINCH).
  void resized();

  /// Restores the terminal, saves history and stops reading. Idempotent.
  /// Safe to call from inside the line handler.
  void stop();

  /// True between start() and stop().
  bool active() const noexcept { return installed_; }

private:
  static void on_readline_line(char* line);
  static int getc_hook(FILE* stream);
  static int input_available_hook();
  void do_read();
  void erase_entered(std::string_view line);

  asio::posix::stream_descriptor input_;
  line_handler on_line_;
  std::string history_path_;
  std::string prompt_;
  bool erase_echo_;
  FILE* out_; // stdout, waiting out EAGAIN
  std::array<char, 256> buffer_{};
  std::size_t pos_ = 0;
  std::size_t len_ = 0;
  int saved_flags_ = -1;
  bool installed_ = false;
  bool in_handler_ = false;

  static terminal* active_;
};

} // namespace natter::client

#endif // NATTER_CLIENT_TERMINAL_HPP
