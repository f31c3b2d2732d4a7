// What a line typed by the user means: a chat message or a slash command.
#ifndef NATTER_CLIENT_INPUT_HPP
#define NATTER_CLIENT_INPUT_HPP

#include <string>
#include <string_view>

namespace natter::client
{

/// The meaning of one typed line.
struct user_input
{
  enum class kind
  {
    nothing, ///< empty or only spaces: ignored
    message, ///< plain text (or "//text", which sends "/text")
    nick,    ///< /nick NAME
    who,     ///< /who
    echo,    ///< /echo [TEXT]
    tell,    ///< /tell NICK TEXT (or /msg): `target` is the nick
    history, ///< /history [N]: `text` is N, or empty for all that is kept
    ping,    ///< /ping
    raw,     ///< /raw LINE
    help,    ///< /help
    quit,    ///< /quit [REASON]
    error,   ///< unknown command or bad arguments: `text` says why
  };

  kind what = kind::nothing;
  std::string text;   ///< message, argument, or the error message
  std::string target; ///< tell: the nick the text is for
};

/// Interprets one line typed by the user. Commands are case-insensitive;
/// a line starting with "//" is a message that starts with "/". Never
/// sends anything: an unknown command is an `error` for local display.
user_input parse_user_input(std::string_view line);

/// The text /help prints, one line per command, without trailing newline.
std::string_view user_help();

} // namespace natter::client

#endif // NATTER_CLIENT_INPUT_HPP
