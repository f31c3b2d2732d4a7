// The client's protocol logic with no I/O: server lines and user input go in,
// lines to send and lines to show come out. The Asio/readline wiring in
// client.cpp only moves bytes; everything decided here is unit-tested.
#ifndef NATTER_CLIENT_CONVERSATION_HPP
#define NATTER_CLIENT_CONVERSATION_HPP

#include "natter/client/input.hpp"
#include "natter/proto/reply.hpp"

#include <chrono>
#include <cstdint>
#include <ctime>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace natter::client
{

/// One line for the user, already formatted.
struct display_line
{
  enum class kind
  {
    chat,   ///< a message (someone else's or your own)
    event,  ///< something the server told: join, rename, quit, WHO, HELP, PONG
    status, ///< the client's own news: registered, retrying a nick, reconnecting
    error,  ///< a server error reply or a local error
  };
  kind what;
  std::string text;
};

/// What the wiring must do after a call into the conversation.
struct effects
{
  std::vector<std::string> send;  ///< protocol lines, without terminator
  std::vector<display_line> show; ///< lines for the user, in order
  bool quit_sent = false;         ///< QUIT was sent: exit 0 once the server closes
  std::optional<int> exit_code;   ///< end the program now with this status
  bool nick_changed = false;      ///< the nick changed (update the prompt)
};

/// The state of one chat session across connections.
class conversation
{
public:
  /// Settings fixed for the life of the program.
  struct options
  {
    std::string nick;     ///< the wanted nick; must be valid
    bool colour = false;  ///< emit colour escapes in formatted lines
    bool show_own = true; ///< show your own messages once sent
    /// When not 0: a PING after every this many messages, whose PONG
    /// confirms them (pipe mode paces its input and its patience by these).
    std::size_t confirm_every = 0;
    /// When not 0 and the server keeps history: on the first connection,
    /// show this many of the messages said before it (a screenful).
    std::size_t history_rows = 0;
    /// When the server keeps history: number the messages (IDS) and, after
    /// a reconnection, show exactly those missed (spec 7.12).
    bool catch_up = false;
  };

  /// Returns the current time as "HH:MM".
  using clock_fn = std::function<std::string()>;
  /// Returns a monotonic time point, for /ping round trips.
  using steady_fn = std::function<std::chrono::steady_clock::time_point()>;
  /// Returns a moment as "HH:MM" (local time), for messages from history.
  using stamp_fn = std::function<std::string(std::time_t)>;

  /// Gives up registering after this many taken nicks in a row.
  static constexpr unsigned max_nick_attempts = 50;
  /// Most user lines held while not registered; more are refused.
  static constexpr std::size_t max_held = 5000;
  /// Most nicks kept from one WHO reply (natterd's default room is full at
  /// 10000); the rest of a longer reply is only counted.
  static constexpr std::size_t max_who_nicks = 10000;
  /// Most messages shown from one HISTORY reply; the rest is only counted.
  static constexpr std::size_t max_history_items = 10000;
  /// Most live messages held back while what was said before is fetched
  /// (they are shown after it); more are counted as lost.
  static constexpr std::size_t max_held_live = 2000;

  explicit conversation(options opts, clock_fn clock = {}, steady_fn steady = {},
                        stamp_fn stamp = {});

  /// A new connection is up: registers (NICK) with the wanted nick.
  void connected();
  /// The connection is gone: forgets per-connection state; held and
  /// unfinished work (the EOF barrier) is kept for the next connection.
  void disconnected();
  /// One line from the server, without its terminator.
  void server_line(std::string_view line);
  /// One line typed by the user (slash commands are interpreted).
  void user_line(std::string_view line);
  /// One line of non-interactive input: always a message.
  void message(std::string_view text);
  /// End of non-interactive input: once the server has processed everything
  /// sent so far (a PING barrier), QUIT.
  void input_ended();
  /// Leave now: QUIT with an optional reason, or exit at once when offline.
  void quit(std::string_view reason);

  /// Takes the effects accumulated since the last call.
  effects take();

  /// The nick we are registered with, or the one we are trying.
  const std::string& nick() const noexcept { return nick_; }
  /// True once the server accepted our nick on this connection.
  bool registered() const noexcept { return registered_; }
  /// True once QUIT was sent (or asked for while offline).
  bool quitting() const noexcept { return quitting_; }
  /// True while the server owes an answer that natter waits for: the
  /// registration, or the answer to any command other than MSG.
  bool waiting() const noexcept;
  /// Answers received so far, over all connections: it grows while the
  /// server answers.
  std::uint64_t answers() const noexcept { return answers_; }
  /// PINGs sent on this connection and not answered yet.
  std::size_t pings_awaited() const noexcept;
  /// Lines the user gave that are held until registration.
  std::size_t held_lines() const noexcept;
  /// The line limit of this connection's server, terminator included: its
  /// `line` advert, else 32 [N-CONN-13].
  std::size_t line_limit() const noexcept { return line_limit_; }
  /// The id of the last message seen under the epoch epoch(), 0 for none
  /// (only known once the server numbered messages: IDS, spec 7.12).
  std::uint64_t last_id() const noexcept { return last_id_; }
  /// The epoch the ids of last_id() count in; empty when unknown.
  const std::string& epoch() const noexcept { return epoch_; }

private:
  struct held
  {
    user_input::kind what;
    std::string text;
    bool barrier = false;
    std::string typed;       // what the user typed, to report it; empty for piped input
    std::string target = {}; // tell: the nick
  };

  /// A command sent on this connection and not answered yet. The server
  /// answers a connection's commands in the order it received them
  /// (N-FRAME-14); a MSG that succeeds is not answered at all (N-MSG-4).
  /// Why a HISTORY was sent.
  enum class recall
  {
    asked,   ///< the user asked (/history, or /raw HISTORY)
    first,   ///< the first connection: the last screenful
    after,   ///< a reconnection: HISTORY AFTER the last id seen
    restart, ///< a reconnection to a new epoch: everything kept
    discard, ///< a HISTORY AFTER whose ids turned out to be of another epoch
  };

  struct sent
  {
    enum class verb
    {
      nick,
      msg,
      who,
      help,
      echo,
      ping,
      quit,
      tell,
      history,
      ids,
      other, ///< a /raw line with a verb natter does not know
    };
    verb what;
    std::string arg;                            ///< NICK: the nick asked for; PING: the token
    std::size_t runs = 1;                       ///< MSG: how many in a row
    std::chrono::steady_clock::time_point at{}; ///< when it was sent
    recall purpose = recall::asked;             ///< HISTORY: what its reply is for
  };

  /// Where a HISTORY reply is being read to, and what it held so far.
  struct recalled
  {
    std::size_t shown = 0;    ///< messages shown
    std::size_t left_out = 0; ///< messages not shown: over the bound, or malformed
    std::uint64_t lost = 0;   ///< ids the reply skipped over: no longer kept
    std::uint64_t last = 0;   ///< the id of the last message read, 0 before
    bool opened = false;      ///< the line that opens the messages is shown
  };

  void submit(held item);
  void perform(const held& item);
  void on_reply(proto::reply_code code, bool more, std::string_view text);
  void on_answer(const sent& cmd, proto::reply_code code, std::string_view text);
  void on_unasked(proto::reply_code code, std::string_view text);
  void on_registration_refused(proto::reply_code code, std::string_view text);
  void on_pong(std::string_view token, bool has_token);
  bool on_gap(std::string_view line);
  void on_msg(std::string_view from, std::string_view text);
  void on_ids(std::string_view text);
  void on_ids_refused();
  void forget_position();
  void on_history_item(const sent& cmd, std::string_view item);
  void on_history_end(const sent& cmd);
  void start_catch_up(bool first_time);
  void finish_catch_up();
  bool catch_up_pending() const noexcept;
  void send_history(std::string arg, recall purpose);
  void earlier(std::string_view text);
  static bool answers(const sent& cmd, proto::reply_code code, std::string_view text) noexcept;
  /// MSG and TELL: the server answers them only when it refuses them.
  static bool unanswered_on_success(const sent& cmd) noexcept
  {
    return cmd.what == sent::verb::msg || cmd.what == sent::verb::tell;
  }
  template <class Fits>
  std::optional<sent> take_answered(Fits fits);
  template <class Fits>
  const sent* awaited(Fits fits) const;
  void drop_held();
  void send(std::string line);
  void show(display_line::kind what, std::string text);
  void notice(display_line::kind what, std::string_view text);
  void error(std::string_view text);
  void on_greeting(std::string_view text);
  bool valid(std::string_view text);
  bool fits(std::string_view verb, std::string_view text);
  bool sendable(std::string_view message);

  options opts_;
  clock_fn clock_;
  steady_fn steady_;
  stamp_fn stamp_;
  effects out_;

  std::string wanted_;   // the nick to register with on the next connection
  std::string nick_;     // the nick we have (or are trying)
  unsigned attempt_ = 0; // taken nicks at this registration
  bool connected_ = false;
  bool registered_ = false;
  bool ever_registered_ = false;
  bool quitting_ = false;
  bool told_held_ = false; // "held until connected" said once per outage
  // What this connection's greeting advertised; until it came, the
  // smallest line limit a server may have.
  std::size_t line_limit_;
  std::string limits_;                   // the adverts in words, for /help; empty when unknown
  std::optional<std::uint64_t> history_; // history=N: HISTORY and IDS offered
  bool tell_ = false;                    // tell=1: TELL offered

  // Message ids (spec 7.12). Across connections: the epoch and the last
  // message seen in it, every message up to it shown or told as lost.
  std::string epoch_;
  std::uint64_t last_id_ = 0;
  // On this connection: IDS not sent, sent and not answered, or on.
  enum class ids_state
  {
    off,
    asked,
    on,
  } ids_ = ids_state::off;
  std::uint64_t msgs_before_ids_ = 0; // MSG events since the 200, before the 213
  std::uint64_t joined_ = 0;          // the 213's <joined>
  std::uint64_t next_live_ = 0;       // the id of the next live MSG, once ids are on
  std::uint64_t live_last_ = 0;       // the id of the last live MSG held back, 0: none
  std::deque<std::string> unechoed_;  // own messages sent while IDS was unanswered
  // While what was said before is fetched, live messages wait, to be shown
  // after it.
  bool catching_up_ = false;
  std::deque<std::string> held_live_;
  std::size_t held_live_dropped_ = 0;
  recalled recall_;

  std::deque<held> held_;
  std::deque<sent> awaiting_; // oldest first; runs of MSG are one entry
  std::vector<std::string> who_;
  std::size_t who_left_out_ = 0; // lines of the WHO reply not kept
  unsigned next_ping_ = 0;
  std::size_t since_ping_ = 0; // messages sent since the last PING
  std::uint64_t answers_ = 0;
  bool input_ended_ = false;
  bool barrier_sent_ = false;
};

/// The barrier token sent at end of input.
inline constexpr std::string_view eof_barrier_token = "natter-eof";
/// How the token of a confirming PING (options::confirm_every) starts.
inline constexpr std::string_view confirm_token = "natter-confirm-";

} // namespace natter::client

#endif // NATTER_CLIENT_CONVERSATION_HPP
