// Parser for server->client lines (spec/natter.md section 8), used by the
// client, the conformance runner and the fuzzers. Strict: it accepts exactly
// the lines a conforming server may send.
#ifndef NATTER_PROTO_SERVER_LINE_HPP
#define NATTER_PROTO_SERVER_LINE_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace natter::proto
{

/// One server line, parsed. Views point into the parsed line.
struct server_line
{
  enum class kind : std::uint8_t
  {
    invalid, ///< not a well-formed server line
    reply,   ///< CODE ("-" / SP) text: see code, more, text
    join,    ///< JOIN nick
    nick,    ///< NICK old new: nick is the old nick, new_nick the new one
    msg,     ///< MSG nick text
    quit,    ///< QUIT nick [reason]: text is the reason (may be empty)
    echo,    ///< ECHO [text]
    pong,    ///< PONG [token]: text is the token
    tell,    ///< TELL from text: nick is the sender
  };

  kind what = kind::invalid;
  int code = 0;      ///< reply code, 200..599
  bool more = false; ///< reply with "-": more lines of this reply follow
  std::string_view nick;
  std::string_view new_nick;
  std::string_view text;
  bool has_text = false; ///< QUIT/ECHO/PONG: an argument was present
};

/// Parses one line without its terminator. Never throws; returns
/// kind::invalid for anything that is not a well-formed server line.
server_line parse_server_line(std::string_view line) noexcept;

/// Splits a server->client byte stream into lines (CRLF, tolerating LF).
/// Lines longer than `max_line` octets are cut off and reported as too long.
class server_line_reader
{
public:
  explicit server_line_reader(std::size_t max_line = 65536) noexcept : max_line_(max_line) {}

  /// Calls on_line(std::string_view line, bool too_long) for every complete
  /// line in `input`, in order, without its terminator.
  template <class Handler>
  void feed(std::string_view input, Handler&& on_line)
  {
    while (!input.empty())
    {
      const std::size_t lf = input.find('\n');
      if (lf == std::string_view::npos)
      {
        hold(input);
        return;
      }
      std::string_view piece = input.substr(0, lf);
      input.remove_prefix(lf + 1);
      if (!held_.empty() || too_long_ || piece.size() > max_line_)
      {
        hold(piece);
        piece = held_;
      }
      if (!piece.empty() && piece.back() == '\r')
        piece.remove_suffix(1);
      const bool was_long = too_long_;
      on_line(piece, was_long);
      held_.clear();
      too_long_ = false;
    }
  }

  /// Octets held for an unfinished line.
  std::size_t buffered() const noexcept { return held_.size(); }

private:
  void hold(std::string_view part)
  {
    const std::size_t room = max_line_ > held_.size() ? max_line_ - held_.size() : 0;
    if (part.size() > room)
    {
      too_long_ = true;
      part = part.substr(0, room);
    }
    held_.append(part);
  }

  std::size_t max_line_;
  std::string held_;
  bool too_long_ = false;
};

/// Appends `text` with every octet that protocol text may not contain (C0
/// controls but TAB, DEL, C1 controls, invalid UTF-8) replaced by U+FFFD, so
/// that it is safe to print on a terminal.
void append_printable(std::string& out, std::string_view text);

/// True when `text` is valid protocol text (section 5).
bool is_valid_text(std::string_view text) noexcept;

/// True when `nick` is a valid nick (section 7.2).
bool is_valid_nick(std::string_view nick) noexcept;

} // namespace natter::proto

#endif // NATTER_PROTO_SERVER_LINE_HPP
