// The room: every registered client, keyed by nick, and the delivery of
// events to them (spec/natter.md, "Commands" and "Events"). Thread-safe: one
// mutex guards membership and nicks, so a command's events are queued to
// every recipient before its sender's next command runs (the barrier
// property), and two clients can never take one nick.
#ifndef NATTER_CORE_ROOM_HPP
#define NATTER_CORE_ROOM_HPP

#include "natter/core/config.hpp"
#include "natter/core/outbox.hpp"
#include "natter/core/room_log.hpp"

#include <atomic>
#include <cstddef>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace natter::core
{

class session;

/// Shared state of the chat service.
class room
{
public:
  explicit room(const config& cfg) : config_(cfg), log_(cfg.log_chunk) {}
  room(const room&) = delete;
  room& operator=(const room&) = delete;

  /// The limits every session of this room obeys.
  const config& settings() const noexcept { return config_; }

  /// Sum of the queued output of every connection.
  std::atomic<std::size_t>& total_sendq() noexcept { return total_sendq_; }

  /// The log of events every member reads from (its outbox keeps a place).
  room_log& log() noexcept { return log_; }

  /// Outcome of set_nick().
  enum class nick_result
  {
    accepted,  ///< registered or renamed: 200
    unchanged, ///< exactly the current nick: 200, no event
    in_use,    ///< another client has it (ignoring case): 433
    gone,      ///< the session was dropped meanwhile: nothing to send
  };

  /// Registers `s` as `nick` (JOIN to the others) or renames it (NICK old
  /// new). On success `accepted` (the 200 line) is queued to `s` under the
  /// lock, before any event can reach it as a member.
  nick_result set_nick(session& s, std::string_view nick, shared_text accepted);

  /// Sends "MSG <nick> <text>" to every registered client but `from`.
  void message(session& from, std::string_view text);

  /// Closes `s`'s outbox with `last` (a final line, may be null) as its
  /// final output (dropping what is queued first when `discard`), then, if
  /// it is registered, removes it and sends "QUIT <nick> <reason>" to the
  /// others. `reason` is a string with static storage.
  void drop(session& s, const char* reason, shared_text last, bool discard);

  /// As drop(), but the others' QUIT event carries `event_reason` (the
  /// client's own words), while `reason` is kept for the log.
  void quit(session& s, const char* reason, shared_text last, bool discard,
            std::string_view event_reason);

  /// Every session of this room, registered or not, is known to it from
  /// construction to destruction (session's constructor and destructor).
  void attach(session& s);
  void detach(session& s);

  /// Server shutdown (spec section 13): queues 521 to every session,
  /// registered or not, and closes its outbox once that is written. Every
  /// member's outbox is closed under this lock, since closing ends its share
  /// of the log (outbox.hpp).
  void shut_down_all();

  /// Drops the largest send queues while the queues exceed max_total_sendq
  /// (spec section 12). Cheap when they do not.
  void enforce_total();

  /// The WHO reply: "211-<nick>" per registered client sorted by lowercased
  /// nick, then "211 <count> users in the room".
  std::string who() const;

  /// Number of registered clients.
  std::size_t size() const;

private:
  /// Orders members by nick, ignoring ASCII case (nicks are unique that
  /// way); looks them up by nick too. The set holds only pointers: with
  /// thousands of idle clients, a separate key string per member shows.
  struct nick_order
  {
    using is_transparent = void;
    static bool less(std::string_view a, std::string_view b) noexcept;
    bool operator()(const session* a, const session* b) const noexcept;
    bool operator()(const session* a, std::string_view b) const noexcept;
    bool operator()(std::string_view a, const session* b) const noexcept;
  };

  void deliver(std::string_view line, session* except, std::vector<session*>& over);
  void drop_overflowed(std::vector<session*>& over);
  void pick_total_victims(std::vector<session*>& over);
  void remove_locked(session& s, std::string_view reason, std::vector<session*>& over);
  void unlist(session& s);

  const config config_;
  mutable std::mutex mutex_;
  room_log log_; // appended under mutex_
  std::set<session*, nick_order> members_; // a member's nick changes only outside it
  std::vector<session*> readers_;          // exactly the sessions whose outbox stream is
                                           // open: an event's recipients, and their count
                                           // its share of the total (session::reader_slot_)
  session* sessions_ = nullptr;            // every session, members or not: a list
                                           // through session::room_prev_/room_next_
  std::atomic<std::size_t> total_sendq_{0};
};

} // namespace natter::core

#endif // NATTER_CORE_ROOM_HPP
