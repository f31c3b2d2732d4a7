// Non-interactive standard input (a pipe or a file), read as lines through
// the same io_context as the socket.
#ifndef NATTER_CLIENT_PIPE_INPUT_HPP
#define NATTER_CLIENT_PIPE_INPUT_HPP

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>

#include <array>
#include <functional>
#include <string>
#include <string_view>

namespace natter::client
{

/// Reads lines from a file descriptor until end of input.
class pipe_input
{
public:
  /// Called for each line, without LF or a CR before it.
  using line_handler = std::function<void(std::string_view)>;
  /// Called once at end of input (or on a read error).
  using end_handler = std::function<void()>;

  /// Reads from a duplicate of `fd`, so closing this leaves `fd` open.
  pipe_input(asio::io_context& io, int fd, line_handler on_line, end_handler on_end);

  /// Starts reading.
  void start() { do_read(); }

  /// Stops reading; no handler runs afterwards.
  void stop();

  /// Stops asking for input after the read in progress (whose lines are
  /// still delivered) until resume().
  void pause() noexcept { paused_ = true; }

  /// Reads again after pause().
  void resume();

  /// Octets of one line kept at most; the rest of a longer line is dropped.
  static constexpr std::size_t max_held = 65536;

private:
  void do_read();
  void hold(std::string_view part);

  asio::posix::stream_descriptor input_;
  line_handler on_line_;
  end_handler on_end_;
  std::array<char, 4096> buffer_{};
  std::string partial_;
  bool stopped_ = false;
  bool paused_ = false;
  bool idle_ = false; // paused with no read in progress
};

} // namespace natter::client

#endif // NATTER_CLIENT_PIPE_INPUT_HPP
