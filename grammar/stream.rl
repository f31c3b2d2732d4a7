// natter client->server stream stage: telnet removal, framing and the line
// limit (spec/natter.md sections 4 and 6). Complete lines go to parse_line()
// (grammar/command.rl).
//
// Shape: this streaming machine feeds a line-level machine. The alternative,
// one machine doing all of it in a single pass, has to let an IAC sequence
// interrupt the command grammar at every octet, which multiplies the command
// machine's states by the telnet states and still needs the line copied for
// the caller. The two-stage shape keeps each machine small, lets the line
// stage see one complete bounded line (Seastar, Puma), and hands out lines
// that sit whole in the caller's buffer without copying them; the second pass
// runs over bytes that are already in L1. See bench/RESULTS.md for figures.
//
// Every state of this machine is accepting: it never fails, whatever arrives.
#include "natter/proto/command_parser.hpp"

namespace natter::proto
{

%%{
  machine natter_stream;
  alphtype unsigned char;
  variable cs cs_;

  action iac_begin {
    // Hold the content before the IAC (without a pending CR) and stop the
    // span: the sequence itself is not part of the line.
    in_iac_ = true;
    if (commit(cr_ != nullptr ? cr_ : reinterpret_cast<const char*>(p)))
    {
      ev.what = parse_event::kind::error;
      ev.error = parse_error::line_too_long;
      cr_ = nullptr;
      fbreak;
    }
    cr_ = nullptr;
  }
  action iac_end {
    in_iac_ = false;
    span_ = reinterpret_cast<const char*>(p) + 1;
  }
  action tel_verb { tel_verb_ = fc; }
  action tel_option {
    in_iac_ = false;
    span_ = reinterpret_cast<const char*>(p) + 1;
    ev.what = parse_event::kind::telnet;
    ev.telnet = static_cast<telnet_verb>(tel_verb_);
    ev.option = fc;
    fbreak;
  }
  action tel_ip { discard_line(); }

  # A CR that turns out not to be part of a terminator is line content; one
  # that was held back at the end of a read is added to the line here.
  action cr_seen {
    const bool over = hold_pending_cr();
    cr_pending_ = true;
    cr_ = reinterpret_cast<const char*>(p);
    if (over)
    {
      ev.what = parse_event::kind::error;
      ev.error = parse_error::line_too_long;
      fbreak;
    }
  }
  action cr_other {
    const bool over = hold_pending_cr();
    cr_pending_ = false;
    cr_ = nullptr;
    if (over)
    {
      ev.what = parse_event::kind::error;
      ev.error = parse_error::line_too_long;
      fbreak;
    }
  }
  action eol_lf {
    const bool done = end_line(reinterpret_cast<const char*>(p), 1, ev);
    span_ = reinterpret_cast<const char*>(p) + 1;
    if (done)
      fbreak;
  }
  action eol_cr {
    const bool done = end_line(
        cr_ != nullptr ? cr_ : reinterpret_cast<const char*>(p), 2, ev);
    span_ = reinterpret_cast<const char*>(p) + 1;
    if (done)
      fbreak;
  }

  # RFC 854/855 commands after IAC. SB's payload is skipped; inside it IAC IAC
  # is an escaped octet, IAC SB continues, IAC SE ends it and any other octet
  # after IAC ends it and is read as the command after an IAC (section 6).
  command_rest = 0xFB..0xFE @tel_verb any @tel_option
               | 0xF4 @tel_ip @iac_end
               | (0x00..0xEF | 0xF1..0xF3 | 0xF5..0xF9) @iac_end;
  subneg       = 0xFA ((any - 0xFF) | 0xFF (0xFF | 0xFA))*
                 0xFF (0xF0 @iac_end | command_rest);
  iac_seq      = 0xFF >iac_begin ((0xFF | 0xF0) @iac_end | subneg | command_rest);

  content      = any - (0x0D | 0x0A | 0xFF);
  cr_tail      = '\n' @eol_cr | 0 @eol_cr | (content - 0) @cr_other;
  cr_run       = ('\r' @cr_seen iac_seq*)+ cr_tail;

  main := ( content | '\n' @eol_lf | cr_run | iac_seq )*;
}%%

%% write data noerror nofinal;

command_parser::command_parser(std::size_t max_line) noexcept
  : max_line_(max_line < min_max_line ? min_max_line : max_line)
{
  reset();
}

void command_parser::reset() noexcept
{
  line_.clear();
  held_ = 0;
  span_ = nullptr;
  cr_ = nullptr;
  cr_pending_ = false;
  in_iac_ = false;
  overflow_ = false;
  tel_verb_ = 0;
  %% write init;
}

void command_parser::discard_line() noexcept
{
  held_ = 0;
  overflow_ = false;
  cr_pending_ = false;
  cr_ = nullptr;
}

// Holds the content octets [span_, to) of the current line and moves span_
// to `to`. Returns true when the line has just become too long to fit even
// with the shortest terminator: the caller reports 413 once, and from then on
// nothing of the line is held.
bool command_parser::commit(const char* to)
{
  const std::size_t n = static_cast<std::size_t>(to - span_);
  const char* from = span_;
  span_ = to;
  if (overflow_ || n == 0)
    return false;
  if (held_ + n >= max_line_)
  {
    overflow_ = true;
    held_ = 0;
    return true;
  }
  if (held_ == 0)
    line_.clear();
  line_.append(from, n);
  held_ += n;
  return false;
}

// Adds a CR that was held back at the end of an earlier read (or before a
// telnet sequence) to the line, now that it is known not to be part of a
// terminator. Returns true when that makes the line too long.
bool command_parser::hold_pending_cr()
{
  if (!cr_pending_ || cr_ != nullptr || overflow_)
    return false;
  if (held_ + 1 >= max_line_)
  {
    overflow_ = true;
    held_ = 0;
    return true;
  }
  if (held_ == 0)
    line_.clear();
  line_.push_back('\r');
  ++held_;
  return false;
}

// A terminator of `terminator` octets ends the line whose content ends at
// `content_end`. Fills `ev` and returns true when the line yields an event.
bool command_parser::end_line(const char* content_end, std::size_t terminator,
                              parse_event& ev)
{
  const std::size_t tail = static_cast<std::size_t>(content_end - span_);
  const bool was_overflow = overflow_;
  const std::size_t length = held_ + tail;
  std::string_view line;
  if (!was_overflow && length + terminator <= max_line_)
  {
    if (held_ == 0)
      line = std::string_view(span_, tail);
    else
    {
      line_.append(span_, tail);
      line = line_;
    }
  }
  held_ = 0;
  overflow_ = false;
  cr_pending_ = false;
  cr_ = nullptr;
  if (was_overflow)
    return false;
  if (length + terminator > max_line_)
  {
    ev = parse_event{};
    ev.what = parse_event::kind::error;
    ev.error = parse_error::line_too_long;
    return true;
  }
  ev = parse_line(line);
  return ev.what != parse_event::kind::none;
}

parse_event command_parser::next(std::string_view input, std::size_t& consumed)
{
  parse_event ev;
  const auto* p = reinterpret_cast<const unsigned char*>(input.data());
  const auto* const start = p;
  const auto* const pe = p + input.size();
  span_ = input.data();
  cr_ = nullptr;

  %% write exec;

  // After an event, p already points past the octet that completed it.
  consumed = static_cast<std::size_t>(p - start);
  if (ev.what != parse_event::kind::none)
    return ev;

  // The input ran out: hold the unfinished line's content (not a pending CR,
  // which may still turn into a terminator).
  if (!in_iac_ && commit(cr_ != nullptr ? cr_ : reinterpret_cast<const char*>(pe)))
  {
    ev.what = parse_event::kind::error;
    ev.error = parse_error::line_too_long;
  }
  return ev;
}

} // namespace natter::proto
