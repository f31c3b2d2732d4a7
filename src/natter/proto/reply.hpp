// Reply codes and the formatting of server->client lines (spec/natter.md
// section 8). The codes and default texts are the rows of
// spec/replies.tsv; a unit test keeps the two in step.
#ifndef NATTER_PROTO_REPLY_HPP
#define NATTER_PROTO_REPLY_HPP

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
  wrong_protocol = 500,
  server_full = 503,
  too_many_from_address = 504,
  shutting_down = 521,
  registration_timeout = 522,
  idle_timeout = 523,
  sendq_exceeded = 524,
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

/// Appends an event line "VERB[ SP a[ SP b]] CRLF"; empty parts are omitted
/// from the end. Parts must be valid protocol text.
void append_event(std::string& out, std::string_view verb, std::string_view a = {},
                  std::string_view b = {}, std::string_view c = {});

} // namespace natter::proto

#endif // NATTER_PROTO_REPLY_HPP
