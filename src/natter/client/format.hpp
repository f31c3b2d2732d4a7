// How the client presents chat on a terminal or in a pipe: pure functions of
// their arguments, so they are tested without a terminal.
#ifndef NATTER_CLIENT_FORMAT_HPP
#define NATTER_CLIENT_FORMAT_HPP

#include <ctime>
#include <string>
#include <string_view>

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

/// "[HH:MM] * text" (joins, renames, quits and other notices); dimmed with
/// `colour`. `text` is made printable and its bidi formatting closed here.
std::string format_notice(std::string_view clock, std::string_view text, bool colour);

/// "[HH:MM] ! text" (server errors and local errors); red with `colour`.
/// `text` is made printable and its bidi formatting closed here.
std::string format_error(std::string_view clock, std::string_view text, bool colour);

/// Number of terminal columns `text` takes, counting one per code point
/// (no wide-character tables: close enough for CJK-free chat).
std::size_t display_width(std::string_view text) noexcept;

} // namespace natter::client

#endif // NATTER_CLIENT_FORMAT_HPP
