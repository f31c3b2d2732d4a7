// What the client->server parser yields (spec/natter.md section 7).
#ifndef NATTER_PROTO_COMMAND_HPP
#define NATTER_PROTO_COMMAND_HPP

#include "natter/proto/parse_error.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace natter::proto
{

/// The commands of protocol version 1. Values are stable.
enum class command_type : std::uint8_t
{
  nick = 1,
  msg,
  echo,
  ping,
  who,
  help,
  quit,
  tell,
  history,
  ids,
};

/// The verb as it is written on the wire, upper case ("NICK", "MSG", ...).
std::string_view verb_name(command_type type) noexcept;

/// Telnet commands that need an answer or have an effect (RFC 854, 855).
enum class telnet_verb : std::uint8_t
{
  will_ = 251,
  wont_ = 252,
  do_ = 253,
  dont_ = 254,
};

/// One parsed command. `arg` is the argument with the separator removed:
/// for NICK the nick without trailing spaces, for MSG/ECHO/PING/QUIT the rest
/// of the line exactly as sent. It is empty when no argument was given.
/// TELL and HISTORY are commands even when their argument does not match
/// their rule (`valid` false), since they answer 401 before 400 once
/// registration is checked (spec 7.10, 7.11):
/// - TELL: `arg` is the nick as sent (up to the first SP), `text` what
///   follows its run of SP, exactly as sent;
/// - HISTORY: `arg` is the digits of the count, or of the id after AFTER
///   (`after` set), and empty for a HISTORY without argument.
/// The views stay valid until the next call into the parser.
struct command
{
  command_type type{};
  std::string_view arg;
  std::string_view text;
  bool valid = true;
  bool after = false;
};

/// One thing the parser found in the stream.
struct parse_event
{
  enum class kind : std::uint8_t
  {
    none,    ///< the input ran out before anything was complete
    command, ///< a valid command line: see `cmd`
    error,   ///< a line that earns an error reply: see `error`
    telnet,  ///< a telnet option request: see `telnet` and `option`
  };

  kind what = kind::none;
  command cmd;
  parse_error error{};
  telnet_verb telnet{};
  std::uint8_t option = 0;
  /// For errors: the offending token the reply may quote (the verb of an
  /// unknown command, the verb of a command missing its argument).
  std::string_view token;
};

} // namespace natter::proto

#endif // NATTER_PROTO_COMMAND_HPP
