// Reply codes and the formatting of server->client lines (spec/natter.md
// section 8). The codes and default texts are the rows of
// spec/replies.tsv; a unit test keeps the two in step.
#ifndef NATTER_PROTO_REPLY_HPP
#define NATTER_PROTO_REPLY_HPP

#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>

namespace natter::proto
{

/// Every reply code of protocol version 1. Values are the wire codes.
enum class reply_code : int
{
  nick_accepted = 200,
  who = 211,
  history = 212,
  ids = 213,
  help = 214,
  greeting = 220,
  closing = 221,
  bad_argument = 400,
  not_registered = 401,
  line_too_long = 413,
  invalid_text = 415,
  unknown_command = 421,
  invalid_nick = 432,
  nick_in_use = 433,
  no_such_nick = 434,
  try_again = 450,
  wrong_protocol = 500,
  server_full = 503,
  too_many_from_address = 504,
  shutting_down = 521,
  registration_timeout = 522,
  idle_timeout = 523,
  sendq_exceeded = 524,
  nick_lost = 525,
};

/// One row of spec/replies.tsv.
struct reply_info
{
  reply_code code;
  std::string_view name;
  std::string_view text;
};

/// All rows, in code order.
std::span<const reply_info> reply_table() noexcept;

/// The default text of a code ("nick accepted").
std::string_view reply_text(reply_code code) noexcept;

/// True for 5xx: the server closes the connection after sending it. Also
/// for a code this version does not know: a code read off the wire becomes
/// a reply_code by static_cast, its value kept, and is handled by its first
/// digit [N-REPLY-9].
constexpr bool closes_connection(reply_code code) noexcept
{
  return static_cast<int>(code) >= 500;
}

/// The three digits of `code` as they appear on the wire ("211").
std::string to_string(reply_code code);

/// Appends "CODE SP text CRLF" (or "CODE-text CRLF" when `more`) to `out`.
/// `text` must already be valid protocol text (no CR, LF or controls).
void append_reply(std::string& out, reply_code code, std::string_view text, bool more = false);

/// "CODE SP subject SP default-text CRLF" (433 <nick> ..., 450 <VERB> ...).
std::string reply_with_subject(reply_code code, std::string_view subject);

/// Appends an event line "VERB[ SP a[ SP b]] CRLF"; empty parts are omitted
/// from the end. Parts must be valid protocol text.
void append_event(std::string& out, std::string_view verb, std::string_view a = {},
                  std::string_view b = {}, std::string_view c = {});

/// Writes the times of messages (spec 7.11, msg-time): RFC 3339, UTC, with
/// milliseconds, "2026-12-01T18:30:00.123Z". It remembers the second it
/// wrote last, so that the messages of one second cost only their
/// milliseconds. The time is truncated to the millisecond; times outside the
/// years 0000-9999 are clamped to them.
class msg_time_writer
{
public:
  /// Octets of a time.
  static constexpr std::size_t size = 24;

  /// Writes the `size` octets of `t` at `out`.
  void write(char* out, std::chrono::system_clock::time_point t) noexcept;

private:
  std::int64_t second_ = std::numeric_limits<std::int64_t>::min();
  std::array<char, 20> prefix_{}; // "YYYY-MM-DDTHH:MM:SS."
};

/// Appends `t` as msg_time_writer writes it.
void append_msg_time(std::string& out, std::chrono::system_clock::time_point t);

/// Decimal digits of `n` (1 for 0).
constexpr std::size_t decimal_digits(std::uint64_t n) noexcept
{
  std::size_t d = 1;
  for (; n >= 10; n /= 10)
    ++d;
  return d;
}

/// Octets of the HISTORY line of message `id` with this nick and text.
constexpr std::size_t history_item_size(std::uint64_t id, std::string_view nick,
                                        std::string_view text) noexcept
{
  // "212-", the id, SP, the time, SP, nick, SP, text, CRLF.
  return 4 + decimal_digits(id) + 1 + msg_time_writer::size + 1 + nick.size() + 1 + text.size() + 2;
}

/// Writes the HISTORY line "212-<id> <time> <nick> <text> CRLF" (spec
/// N-HIST-3, N-HIST-4) at `out`, which has room for its history_item_size()
/// octets, with `times` writing the time; returns the octets written.
/// `nick` and `text` must be valid protocol text.
std::size_t write_history_item(char* out, std::uint64_t id, msg_time_writer& times,
                               std::chrono::system_clock::time_point t, std::string_view nick,
                               std::string_view text) noexcept;

/// Appends the line write_history_item() writes.
void append_history_item(std::string& out, std::uint64_t id,
                         std::chrono::system_clock::time_point t, std::string_view nick,
                         std::string_view text);

} // namespace natter::proto

#endif // NATTER_PROTO_REPLY_HPP
