// The room as natterd's cluster keeps it in Redis: typed calls of the
// functions in natter.lua (which say what each key holds), and the log's
// and inbox's entries parsed (spec/natter.md section 17). No threads of its
// own: natterd's cluster threads call it with their connections; tests call
// it directly.
#ifndef NATTER_CLUSTER_STORE_HPP
#define NATTER_CLUSTER_STORE_HPP

#include "natter/cluster/redis.hpp"

#include <chrono>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace natter::cluster
{

/// Who a node is, and the settings every call of it carries.
struct node_identity
{
  std::string prefix = "natter:";         ///< --redis-prefix
  std::string node;                       ///< --node-id
  std::string run;                        ///< this process's run: random, new at every start
  std::chrono::milliseconds lease{15000}; ///< --node-timeout
  std::size_t log_max = 100000;           ///< --redis-log
};

/// A client's nick as Redis keys it: ASCII lower case (N-NICK-4).
std::string folded(std::string_view nick);

/// A stream id, "<ms>-<n>", as the pair of numbers it is.
struct stream_id
{
  std::uint64_t ms = 0; ///< Redis's time when the entry was appended
  std::uint64_t n = 0;  ///< its sequence within that millisecond

  /// The numbers of `id`; a missing part is 0.
  static stream_id parse(std::string_view id) noexcept;

  friend auto operator<=>(const stream_id&, const stream_id&) = default;
};

/// Stream ids compared as the pairs of numbers they are.
inline bool id_less(std::string_view a, std::string_view b) noexcept
{
  return stream_id::parse(a) < stream_id::parse(b);
}

/// One entry of the room's log.
struct log_entry
{
  std::string id;           ///< the stream id, "<ms>-<n>"
  std::uint64_t number = 0; ///< consecutive from 1: a jump is a gap
  char type = 0;            ///< 'J', 'N', 'M' or 'Q'
  std::string nick;         ///< JOIN, MSG, QUIT: the client; NICK: the new nick
  std::string old;          ///< NICK: the old nick
  std::string text;         ///< MSG: the text; QUIT: the reason
  std::uint64_t msg_id = 0; ///< MSG: its id (N-MSG-5)
  std::uint64_t newest = 0; ///< the newest message id when it was appended
  std::string node;         ///< JOIN, NICK: whose client it was
  std::string client;

  /// When Redis appended it, in milliseconds since 1970 (a MSG's time).
  std::uint64_t millis() const noexcept;
};

/// One TELL in a node's inbox.
struct inbox_entry
{
  std::string id;
  std::string from;
  std::string text;
  std::string client; ///< the recipient, one of the node's clients
};

/// What a read of the log and the inbox returned.
struct read_result
{
  std::vector<log_entry> log;
  std::vector<inbox_entry> inbox;
};

/// Answer to a call that changes the room.
enum class outcome
{
  ok,     ///< done
  in_use, ///< NICK: another client holds the nick (433)
  gone,   ///< the client is not in the room (any more)
  none,   ///< TELL: no client of that nick (434)
};

/// The calls.
class store
{
public:
  explicit store(node_identity id) : id_(std::move(id)) {}

  const node_identity& identity() const noexcept { return id_; }

  /// Loads natter.lua (FUNCTION LOAD REPLACE): after every connection,
  /// since a Redis that lost its data lost its functions too.
  static void load_functions(redis& r);

  /// natter_hello's answer.
  struct hello_result
  {
    enum class kind
    {
      fresh, ///< registered; any predecessor's clients left with "node lost"
      same,  ///< this run was still registered
      lost,  ///< this run's place was lost: its clients must register again
    };
    kind status = kind::fresh;
    std::string epoch;
    std::string log_id; ///< the log's newest entry, "0-0" when empty
    std::uint64_t events = 0;
    std::uint64_t msgs = 0;
  };
  /// Registers the node; `epoch_if_new` becomes the epoch if Redis has none.
  /// Throws redis_error if another running node has this name.
  hello_result hello(redis& r, std::string_view epoch_if_new) const;

  /// natter_beat's answer: whether this run's place was lost, and the
  /// folded nicks of clients whose lease another client holds now.
  struct beat_result
  {
    bool lost = false;
    std::vector<std::string> taken;
  };
  beat_result beat(redis& r) const;

  // Calls that change the room, as argv to send (pipelined by the caller),
  // each numbered by the caller with its run's next sequence number.
  std::vector<std::string> join(std::uint64_t seq, std::string_view client,
                                std::string_view nick) const;
  std::vector<std::string> rename(std::uint64_t seq, std::string_view client,
                                  std::string_view old_nick, std::string_view nick) const;
  std::vector<std::string> message(std::uint64_t seq, std::string_view client,
                                   std::string_view nick, std::string_view text) const;
  /// The client holds `nick`, or `or_nick` (a rename on its way; may be empty).
  std::vector<std::string> quit(std::uint64_t seq, std::string_view client, std::string_view nick,
                                std::string_view or_nick, std::string_view reason) const;
  std::vector<std::string> tell(std::uint64_t seq, std::string_view from, std::string_view to,
                                std::string_view text) const;

  /// The answer of one of those calls; throws redis_error for an error
  /// reply (a lost place shows as one starting "NATTERLOST").
  static outcome outcome_of(const reply& r);

  /// Sends `argv` and waits for its outcome (tests, and single calls).
  static outcome call(redis& r, const std::vector<std::string>& argv);

  /// The newest entries of the log and of this node's inbox (N-CLU-9).
  std::pair<std::string, std::string> tip(redis& r) const;

  /// The room's list as Redis has it, and where the log stood.
  struct room_view
  {
    std::string log_id;
    std::uint64_t events = 0;
    std::uint64_t msgs = 0;
    std::string epoch;
    struct member
    {
      std::string nick, node, client;
    };
    std::vector<member> members;
  };
  room_view room(redis& r) const;

  /// Entries after `log_from` and `inbox_from` (stream ids), at most
  /// `count` of each, waiting up to `block` for one (0: not at all).
  read_result read(redis& r, std::string_view log_from, std::string_view inbox_from,
                   std::size_t count, std::chrono::milliseconds block) const;

  /// The last `count` entries of the log, oldest first (to fill HISTORY).
  std::vector<log_entry> tail(redis& r, std::size_t count) const;

  std::string key(std::string_view name) const { return id_.prefix + std::string(name); }

private:
  std::vector<std::string> base(std::string_view function, std::uint64_t seq) const;

  node_identity id_;
};

} // namespace natter::cluster

#endif // NATTER_CLUSTER_STORE_HPP
