// How the client presents chat on a terminal or in a pipe: pure functions of
// their arguments, so they are tested without a terminal.
#ifndef NATTER_CLIENT_FORMAT_HPP
#define NATTER_CLIENT_FORMAT_HPP

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace natter::client
{

/// "HH:MM" of a broken-down local time.
std::string format_clock(const std::tm& local);

/// Text that is safe to print: every control character (C0 but TAB, DEL, C1)
/// and every invalid UTF-8 octet is replaced by U+FFFD, so nothing received
/// can move the cursor, change colours or retitle the terminal; so are
/// U+2028 and U+2029, so nothing received can start a row [N-ENC-11].
std::string printable(std::string_view text);

/// SGR colour number (31-36, 91-96) of a nick. Stable across runs and
/// machines, and the same for nicks that differ only in ASCII case (which
/// the server treats as the same nick).
int nick_colour(std::string_view nick);

/// "[HH:MM] <nick> text"; with `colour` the nick is drawn in its colour.
/// `nick` and `text` are made printable here, and bidirectional formatting
/// that `text` leaves open is closed at its end (spec 5.1).
std::string format_message(std::string_view clock, std::string_view nick, std::string_view text,
                           bool colour);

/// "[HH:MM] *from* text": a private message (TELL) to you. With `colour`
/// the line is bold and the nick in its colour; made printable as above.
std::string format_private(std::string_view clock, std::string_view from, std::string_view text,
                           bool colour);

/// "[HH:MM] -> *to* text": a private message you sent, styled as
/// format_private.
std::string format_private_sent(std::string_view clock, std::string_view to, std::string_view text,
                                bool colour);

/// "[HH:MM] <nick> text" for a message from the room's history: dimmed with
/// `colour`, so that it does not pass for one said now. Made printable as
/// format_message.
std::string format_earlier(std::string_view clock, std::string_view nick, std::string_view text,
                           bool colour);

/// The time of a message as HISTORY gives it, "2026-12-01T18:30:00.123Z"
/// (RFC 3339 in UTC, spec 7.11 N-HIST-4; the fraction may be absent), as a
/// time_t; nothing for any other text.
std::optional<std::time_t> parse_message_time(std::string_view text) noexcept;

/// "[HH:MM] * text" (joins, renames, quits and other notices); dimmed with
/// `colour`. `text` is made printable and its bidi formatting closed here.
std::string format_notice(std::string_view clock, std::string_view text, bool colour);

/// "[HH:MM] ! text" (server errors and local errors); red with `colour`.
/// `text` is made printable and its bidi formatting closed here.
std::string format_error(std::string_view clock, std::string_view text, bool colour);

/// Number of terminal columns `text` takes: two for a wide character, none
/// for a combining one (utf8proc's tables), none for an escape sequence,
/// and the wider count wherever terminals disagree (see wrap_rows).
std::size_t display_width(std::string_view text) noexcept;

/// The rows that show `line`, a line made by format_message, format_notice
/// or format_error, on a terminal `columns` wide: none wider than that, and
/// every row after the first starts with spaces up to the column where the
/// text began (a hanging indent, at most half the width), so no row of a
/// message can pass for the first row of another (issue 19). The text
/// begins after the line's second space, the one after the nick or the
/// mark. Rows break after a space where the row has one in its text, else
/// between characters; a wide character is never split and a combining
/// one stays with its base. TAB is shown as a space. A code point that
/// terminals draw at different widths (unassigned, private use, or
/// followed by U+FE0F) counts at its widest, so a row never comes out wider
/// than counted. Below 8 columns the line is one row, unbroken.
std::vector<std::string> wrap_rows(std::string_view line, std::size_t columns);

} // namespace natter::client

#endif // NATTER_CLIENT_FORMAT_HPP
