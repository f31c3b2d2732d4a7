// The checks natter-conform holds every line a chat client receives to,
// whatever the case expects (conformance/README.md, "What the runner checks
// on every line"): framing, length, text, the grammar of replies and
// events, multi-line replies, WHO lists, nothing after a 5xx, no second
// greeting, no event before registration, no telnet negotiation the client
// did not ask for. No I/O: what arrived goes in, a violation may come out.
#ifndef NATTER_CONFORMANCE_CHECKS_HPP
#define NATTER_CONFORMANCE_CHECKS_HPP

#include <cstddef>
#include <string>
#include <string_view>

namespace natter::conform
{

/// A line that no conforming server may send, whatever the case expects.
struct violation
{
  std::string id;   ///< the requirement broken: "N-REPLY-6"
  std::string what; ///< what arrived, naming the client
};

/// The checks of one chat connection, and what they remember of it. Each
/// check throws `violation` when what arrived breaks the spec.
class line_checks
{
public:
  /// `client` names the client in messages; `max_line` is the server's
  /// line limit L.
  line_checks(std::string client, long max_line);

  /// The client sent `bytes`: an IAC among them permits telnet answers.
  void sent(std::string_view bytes);

  /// A line arrived, without its terminator; `crlf` is false when it ended
  /// in a bare LF.
  void line(std::string_view text, bool crlf);

  /// A telnet answer (IAC and two octets) arrived between lines.
  void telnet(std::string_view answer) const;

  /// `pending` octets have arrived after the last line end.
  void unterminated(std::size_t pending) const;

  /// The server ended the connection with `rest` after the last line end.
  void ended(std::string_view rest) const;

  /// A reply that closes the connection (5xx) arrived: nothing may follow.
  bool got_closing_reply() const noexcept { return got_closing_reply_; }

private:
  void who_line(bool more, std::string_view text);

  std::string client_;
  long max_line_;
  bool sent_iac_ = false;
  bool got_line_ = false;
  bool got_nick_accepted_ = false;
  bool got_closing_reply_ = false;
  int more_code_ = 0; ///< the code of the multi-line reply under way, else 0
  /// The WHO list under way: its lines so far and the last nick, all that
  /// its order and count need, so an endless list takes no memory.
  std::size_t who_count_ = 0;
  std::string who_last_;
};

} // namespace natter::conform

#endif // NATTER_CONFORMANCE_CHECKS_HPP
