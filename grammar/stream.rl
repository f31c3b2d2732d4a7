// natter client->server stream stage: telnet removal, framing, text
// validation and the line limit (spec/natter.md sections 4, 5 and 6).
// Complete valid lines go to parse_valid_line() (grammar/command.rl).
//
// Shape (measured with bench/parser_bench, figures in bench/RESULTS.md):
// this streaming machine frames AND validates the text (UTF-8, controls) in
// one pass, with telnet sequences allowed between any two octets, even inside
// a UTF-8 character; the line machine (grammar/command.rl) then reads only
// the verb and separator of a complete valid line. The first shape tried,
// framing here and validation plus verb in the line machine, read every
// octet twice and ran at 0.57 GB/s on the realistic mix; this one runs at
// 1.9 GB/s (with the printable-ASCII fast-forward below). One machine doing
// the command grammar too would have to let an IAC sequence interrupt every
// state of it, for little gain: the verb is a few octets.
//
// No input stops the machine: a line that breaks the text rules is framed to
// its end by `skip`, then `main` takes over again.
//
// Section 6.4: inside an incomplete UTF-8 character IAC IP, AO, SUSP, BRK and
// ABORT stand for the continuation octet netkit telnet replaced. `main` knows
// from its state whether a character is incomplete (its character rules
// below); `skip` validates nothing and so counts the continuation octets due
// in `due_`, which is 0 whenever `main` runs.
#include "natter/proto/command_parser.hpp"

#include <bit>
#include <cstdint>
#include <cstring>

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
  # IP discards the line received so far; what follows starts a new line.
  action tel_ip { discard_line(); fnext main; }

  # Section 6.4: the command after IAC stands for a continuation octet of the
  # line (after iac_end). In `main` the character rules decide whether it
  # fits; one that does not makes the line invalid with `due_` octets of the
  # character still due, and `skip` goes on counting them.
  action as_data {
    if (hold_octet(stood_for(fc)))
    {
      ev.what = parse_event::kind::error;
      ev.error = parse_error::line_too_long;
      fbreak;
    }
  }
  action due1 { due_ = 1; }
  action due2 { due_ = 2; }
  action bad_tail {
    set_invalid();
    fgoto skip;
  }
  action bad_data {
    set_invalid();
    const bool over = hold_octet(stood_for(fc));
    fnext skip;
    if (over)
    {
      ev.what = parse_event::kind::error;
      ev.error = parse_error::line_too_long;
      fbreak;
    }
  }

  # A CR that turns out not to be part of a terminator is line content; one
  # that was held back at the end of a read is added to the line here.
  action cr_seen {
    bool over = hold_pending_cr();
    cr_pending_ = true;
    cr_ = reinterpret_cast<const char*>(p);
    over = cr_overflows() || over;
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

  # Printable ASCII loops on main's start state with no action, so the run
  # after it can be stepped over eight octets at a time (see skip_printable).
  action ascii_run { p = skip_printable(p + 1, pe) - 1; }

  # A line that broke the text rules goes on being framed by `skip`; at its
  # end the machine returns to `main`.
  action invalid {
    set_invalid();
    fhold;
    fgoto skip;
  }
  # What `skip` counts: a lead octet starts a character, a continuation octet
  # is one of it, any other data octet ends it (section 6.4).
  action due_lead { due_ = fc < 0xE0 ? 1 : fc < 0xF0 ? 2 : 3; }
  action due_tail {
    if (due_ != 0)
      --due_;
  }
  action due_none { due_ = 0; }
  action in_char { due_ != 0 }
  action eol_lf_skip {
    const bool done = end_line(reinterpret_cast<const char*>(p), 1, ev);
    span_ = reinterpret_cast<const char*>(p) + 1;
    fnext main;
    if (done)
      fbreak;
  }
  action eol_cr_skip {
    const bool done = end_line(
        cr_ != nullptr ? cr_ : reinterpret_cast<const char*>(p), 2, ev);
    span_ = reinterpret_cast<const char*>(p) + 1;
    fnext main;
    if (done)
      fbreak;
  }

  # RFC 854/855 commands after IAC. SB's payload is skipped; inside it IAC IAC
  # is an escaped octet, IAC SB continues, IAC SE ends it and any other octet
  # after IAC ends it and is read as the command after an IAC (section 6).
  negotiation  = 0xFB..0xFE @tel_verb any @tel_option;
  sb_payload   = 0xFA ((any - 0xFF) | 0xFF (0xFF | 0xFA))* 0xFF;
  command_rest = negotiation
               | 0xF4 @tel_ip @iac_end
               | (0x00..0xEF | 0xF1..0xF3 | 0xF5..0xF9) @iac_end;
  # Section 6.4: IP (0x83), AO (0x8F), SUSP (0x9A), BRK and ABORT (0x9C)
  # stand for a continuation octet inside a character. The other one-octet
  # commands have no effect anywhere.
  stands_for   = 0xF4 | 0xF5 | 0xED | 0xF3 | 0xEE;
  no_effect    = (0x00..0xEF | 0xF1..0xF3 | 0xF5..0xF9) - stands_for;
  iac_seq      = 0xFF >iac_begin
                 ((0xFF | 0xF0) @iac_end | sb_payload (0xF0 @iac_end | command_rest)
                 | command_rest);
  I            = iac_seq*;

  # Between the octets of a character the other sequences are removed (M),
  # and an IAC (or the subnegotiation it opens) followed by one of those
  # five is the character's next octet (C).
  rest_in_char = negotiation | no_effect @iac_end;
  iac_in_char  = 0xFF >iac_begin
                 ((0xFF | 0xF0) @iac_end | sb_payload (0xF0 @iac_end | rest_in_char)
                 | rest_in_char);
  M            = iac_in_char*;
  C            = 0xFF >iac_begin sb_payload?;

  # Section 5 text, validated while framing. A telnet sequence may sit between
  # the octets of one UTF-8 character; it is removed before the text is read.
  # Each c_* is one continuation octet of a character: any, or one of a
  # range after the leads that restrict their second octet. An octet outside
  # that range still belongs to the character: the line is invalid, and
  # `skip` takes over with the octets still due (due1, due2; 0 after 0xC2).
  tail         = 0x80..0xBF;
  c_any        = M (tail | C stands_for @iac_end @as_data);
  c_c2         = M (0xA0..0xBF | 0x80..0x9F @bad_tail
                   | C stands_for @iac_end @bad_data);
  c_e0         = M (0xA0..0xBF | 0x80..0x9F @due1 @bad_tail
                   | C stands_for @iac_end @due1 @bad_data);
  c_ed         = M (0x80..0x9F | 0xA0..0xBF @due1 @bad_tail
                   | C stands_for @iac_end @as_data);
  c_f0         = M (0x90..0xBF | 0x80..0x8F @due2 @bad_tail
                   | C (0xED | 0xF3 | 0xEE) @iac_end @as_data
                   | C (0xF4 | 0xF5) @iac_end @due2 @bad_data);
  c_f4         = M (0x80..0x8F | 0x90..0xBF @due2 @bad_tail
                   | C (0xF4 | 0xF5) @iac_end @as_data
                   | C (0xED | 0xF3 | 0xEE) @iac_end @due2 @bad_data);
  t_ascii      = 0x20..0x7E @ascii_run | 0x09;
  t_2          = 0xC2 c_c2 | 0xC3..0xDF c_any;
  t_3          = 0xE0 c_e0 c_any
               | (0xE1..0xEC | 0xEE..0xEF) c_any c_any
               | 0xED c_ed c_any;
  t_4          = 0xF0 c_f0 c_any c_any
               | 0xF1..0xF3 c_any c_any c_any
               | 0xF4 c_f4 c_any c_any;
  text         = t_ascii | t_2 | t_3 | t_4;

  # Framing: LF, CR LF or CR NUL ends a line; in a valid line a CR can only
  # be the start of a terminator.
  valid_cr     = '\r' @cr_seen I ('\n' | 0) @eol_cr;
  main := ( text | '\n' @eol_lf | valid_cr | iac_seq )* $!invalid;

  # Framing only, for the rest of an invalid line: a CR that is not part of a
  # terminator is line content. Its characters are still counted: inside
  # one, the five commands of section 6.4 are data.
  rest_skip    = negotiation
               | (0xF4 when !in_char) @tel_ip @iac_end
               | no_effect @iac_end
               | ((0xF5 | 0xED | 0xF3 | 0xEE) when !in_char) @iac_end
               | (stands_for when in_char) @iac_end @due_tail @as_data;
  iac_skip     = 0xFF >iac_begin
                 ((0xFF | 0xF0) @iac_end | sb_payload (0xF0 @iac_end | rest_skip)
                 | rest_skip);
  content      = any - (0x0D | 0x0A | 0xFF);
  data         = 0xC2..0xF4 @due_lead | tail @due_tail
               | (content - (tail | 0xC2..0xF4)) @due_none;
  cr_tail      = ('\n' | 0) @eol_cr_skip | (data - 0) @cr_other;
  cr_run       = ('\r' @due_none @cr_seen I)+ cr_tail;
  skip := ( data | '\n' @eol_lf_skip | cr_run | iac_skip )*;
}%%

%% write data nofinal;

namespace
{

// The continuation octet that netkit telnet sends the telnet command `cmd`
// (IP, AO, SUSP, BRK or ABORT) in place of (spec section 6.4).
char stood_for(unsigned char cmd) noexcept
{
  switch (cmd)
  {
  case 0xF4: return '\x83'; // IP, for ^C
  case 0xF5: return '\x8F'; // AO, for ^O
  case 0xED: return '\x9A'; // SUSP, for ^Z
  default: return '\x9C';   // BRK and ABORT, for ^\ (quit)
  }
}

// Returns the first octet at or after `p` that is not printable ASCII
// (0x20..0x7E), or `pe`. This is not a second parser: it only fast-forwards
// over octets on which the machine's current state loops to itself with no
// action (main's start state, see ascii_run); every other octet, and every
// decision, stays with the machine. Eight octets are tested at a time with
// the SWAR "has less than" / "has more than" byte tests.
const unsigned char* skip_printable(const unsigned char* p,
                                    const unsigned char* pe) noexcept
{
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  constexpr std::uint64_t highs = 0x8080808080808080ULL;
  while (pe - p >= 8)
  {
    std::uint64_t x;
    std::memcpy(&x, p, sizeof x);
    const std::uint64_t below = (x - ones * 0x20) & ~x & highs;  // octet < 0x20
    const std::uint64_t above = ((x + ones * (0x7F - 0x7E)) | x) & highs; // > 0x7E
    const std::uint64_t stop = below | above;
    if (stop != 0)
    {
      // Borrows and carries only spread upwards from an octet that really
      // stops the run, so the lowest flag is exact.
      if constexpr (std::endian::native == std::endian::little)
        return p + std::countr_zero(stop) / 8;
      break;
    }
    p += 8;
  }
  while (p != pe && *p >= 0x20 && *p <= 0x7E)
    ++p;
  return p;
}

} // namespace

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
  invalid_ = false;
  tel_verb_ = 0;
  due_ = 0;
  %% write init;
}

void command_parser::discard_line() noexcept
{
  held_ = 0;
  overflow_ = false;
  invalid_ = false;
  cr_pending_ = false;
  cr_ = nullptr;
  due_ = 0;
}

// The current line broke the text rules. From here on its octets are only
// counted (413 takes precedence over 415), and a pending CR is content.
void command_parser::set_invalid() noexcept
{
  invalid_ = true;
  if (cr_pending_ && cr_ == nullptr && !overflow_)
    ++held_;
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
  if (!invalid_)
  {
    if (held_ == 0)
      line_.clear();
    line_.append(from, n);
  }
  held_ += n;
  return false;
}

// Adds one octet that is not in the input as it stands to the line: a CR
// held back, or the octet a telnet command stands for (section 6.4).
// Returns true when the line has just become too long, as commit() does.
bool command_parser::hold_octet(char octet)
{
  if (overflow_)
    return false;
  if (held_ + 1 >= max_line_)
  {
    overflow_ = true;
    held_ = 0;
    return true;
  }
  if (!invalid_)
  {
    if (held_ == 0)
      line_.clear();
    line_.push_back(octet);
  }
  ++held_;
  return false;
}

// Adds a CR that was held back at the end of an earlier read (or before a
// telnet sequence) to the line, now that it is known not to be part of a
// terminator. Returns true when that makes the line too long.
bool command_parser::hold_pending_cr()
{
  if (!cr_pending_ || cr_ != nullptr)
    return false;
  return hold_octet('\r');
}

// A CR has just arrived at cr_. Content so far plus that CR is already as
// long as the limit: any terminator makes the line longer, so it is overlong
// now (spec section 4.2: 413 as soon as L octets arrived without a
// terminator). Returns true when that is newly so.
bool command_parser::cr_overflows() noexcept
{
  if (overflow_ || held_ + static_cast<std::size_t>(cr_ - span_) + 1 < max_line_)
    return false;
  overflow_ = true;
  held_ = 0;
  span_ = cr_;
  return true;
}

// A terminator of `terminator` octets ends the line whose content ends at
// `content_end`. Fills `ev` and returns true when the line yields an event.
bool command_parser::end_line(const char* content_end, std::size_t terminator,
                              parse_event& ev)
{
  ++lines_framed_;
  const std::size_t tail = static_cast<std::size_t>(content_end - span_);
  const bool was_overflow = overflow_;
  const std::size_t length = held_ + tail;
  const bool was_invalid = invalid_;
  std::string_view line;
  if (!was_overflow && !was_invalid && length + terminator <= max_line_)
  {
    if (held_ == 0)
      line = std::string_view(span_, tail);
    else
    {
      line_.append(span_, tail);
      line = line_;
    }
  }
  discard_line();
  if (was_overflow)
    return false;
  if (length + terminator > max_line_ || was_invalid)
  {
    ev = parse_event{};
    ev.what = parse_event::kind::error;
    ev.error = was_invalid && length + terminator <= max_line_
                   ? parse_error::invalid_text
                   : parse_error::line_too_long;
    return true;
  }
  ev = parse_valid_line(line);
  return ev.what != parse_event::kind::none;
}

parse_event command_parser::next(std::string_view input, std::size_t& consumed)
{
  parse_event ev;
  const auto* p = reinterpret_cast<const unsigned char*>(input.data());
  const auto* const start = p;
  const auto* const pe = p + input.size();
  const unsigned char* const eof = nullptr;  // a stream has no end of input
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
