// Streaming parser for client->server bytes (spec/natter.md sections 4-7).
//
// Two Ragel machines do the work (grammar/stream.rl, grammar/command.rl):
//  - a streaming stage strips telnet IAC sequences, finds line terminators
//    (LF, CR LF, CR NUL), validates the text (UTF-8, control characters) and
//    enforces the line limit; it never re-scans an octet and copies a line
//    only when the line is split across reads or interrupted by an IAC
//    sequence, so memory is bounded by the limit;
//  - a line stage reads the verb and the separator of a complete valid line
//    (and a NICK argument); other arguments are not scanned again.
#ifndef NATTER_PROTO_COMMAND_PARSER_HPP
#define NATTER_PROTO_COMMAND_PARSER_HPP

#include "natter/proto/command.hpp"
#include "natter/proto/limits.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace natter::proto
{

/// Parses one complete line (terminator removed, telnet already stripped).
/// Returns a command, an error, or kind::none for a line that is empty or
/// only spaces (which the protocol ignores) [N-CMD-1].
parse_event parse_line(std::string_view line) noexcept;

/// As parse_line() for a line already known to be valid text: scans only the
/// verb, the separator and a NICK argument.
parse_event parse_valid_line(std::string_view line) noexcept;

/// Streaming parser for the client->server direction. One per connection.
class command_parser
{
public:
  /// `max_line` is the limit in octets including the terminator.
  explicit command_parser(std::size_t max_line = default_max_line) noexcept;

  /// Scans `input` until one event is complete or the input is used up.
  /// Sets `consumed` to the number of octets of `input` that were used; the
  /// caller passes the rest (input.substr(consumed)) on the next call.
  /// Returns kind::none when all of `input` was consumed without completing
  /// an event; the parser keeps what it needs and the caller may discard
  /// the input. Views in the result stay valid until the next call and
  /// until `input`'s storage changes.
  parse_event next(std::string_view input, std::size_t& consumed);

  /// Feeds a whole chunk, calling `on_event(const parse_event&)` for every
  /// event in order. The result never depends on how a stream is chunked.
  template <class Handler>
  void feed(std::string_view input, Handler&& on_event)
  {
    while (!input.empty())
    {
      std::size_t used = 0;
      parse_event ev = next(input, used);
      input.remove_prefix(used);
      if (ev.what == parse_event::kind::none)
        break;
      on_event(static_cast<const parse_event&>(ev));
    }
  }

  /// Forgets any partial line and telnet state.
  void reset() noexcept;

  /// The configured line limit.
  std::size_t max_line() const noexcept { return max_line_; }

  /// Lines framed so far, whatever became of them: commands, refused lines,
  /// ignored empty lines and the ends of overlong lines (flood control
  /// charges each, spec section 11).
  std::uint64_t lines_framed() const noexcept { return lines_framed_; }

  /// The content of the unfinished line received so far, telnet sequences
  /// removed, as far as it is held: all of it after an input that ended
  /// mid-line, unless the line is overlong or broke the text rules (then
  /// empty). The view is valid until the next call.
  std::string_view partial() const noexcept
  {
    return held_ == 0 || invalid_ || overflow_ ? std::string_view()
                                               : std::string_view(line_.data(), held_);
  }

  /// True once the unfinished line is overlong or broke the text rules.
  bool line_refused() const noexcept { return invalid_ || overflow_; }

  /// Octets held for a line split across reads (0 between lines).
  std::size_t buffered() const noexcept { return held_; }

private:
  bool commit(const char* to);
  bool hold_octet(char octet);
  bool hold_pending_cr();
  bool cr_overflows() noexcept;
  bool end_line(const char* content_end, std::size_t terminator, parse_event& ev);
  void discard_line() noexcept;
  void set_invalid() noexcept;

  std::size_t max_line_;
  std::string line_;               // the held part of a line split across reads
  std::size_t held_ = 0;           // content octets of the current line held so far
  const char* span_ = nullptr;     // start of the unheld content in the input
  const char* cr_ = nullptr;       // a pending CR inside the current span
  bool cr_pending_ = false;        // a CR awaits LF/NUL (it may be outside the span)
  bool in_iac_ = false;            // inside a telnet sequence
  bool overflow_ = false;          // 413 sent; discarding to the terminator
  bool invalid_ = false;           // the line broke the text rules (415)
  std::uint8_t tel_verb_ = 0;      // WILL/WONT/DO/DONT awaiting its option
  std::uint8_t due_ = 0;           // continuation octets due in an invalid line (6.4)
  int cs_ = 0;                     // Ragel state
  std::uint64_t lines_framed_ = 0; // terminators seen
};

} // namespace natter::proto

#endif // NATTER_PROTO_COMMAND_PARSER_HPP
