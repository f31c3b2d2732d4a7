// The room: every registered client, keyed by nick, and the delivery of
// events to them (spec/natter.md, "Commands" and "Events"). Thread-safe: one
// mutex guards membership and nicks, so a command's events are queued to
// every recipient before its sender's next command runs (the barrier
// property), and two clients can never take one nick.
#ifndef NATTER_CORE_ROOM_HPP
#define NATTER_CORE_ROOM_HPP

#include "natter/core/close_reason.hpp"
#include "natter/core/cluster_link.hpp"
#include "natter/core/config.hpp"
#include "natter/core/greeting.hpp"
#include "natter/core/history.hpp"
#include "natter/core/outbox.hpp"
#include "natter/core/room_log.hpp"
#include "natter/proto/reply.hpp"

#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace natter::core
{

/// 16 lower-case hex digits from the system's random source: a new epoch
/// (N-MSG-6).
std::string random_epoch();

/// Shared state of the chat service.
class room
{
public:
  /// A connection's place in the room: its pending output, and the room's
  /// record of it (its nick, whether it is a member, its slot among the
  /// readers of the log, its place in the list of every connection). Owned
  /// by the connection's session, which calls the room with it; only the
  /// room changes it, under its lock.
  class seat
  {
  public:
    seat(room& r, transport& t) : out_(t, r.log(), &r.total_sendq()) {}
    seat(const seat&) = delete;
    seat& operator=(const seat&) = delete;

    outbox& output() noexcept { return out_; }
    const outbox& output() const noexcept { return out_; }

    /// The nick, empty before registration. Read without the lock by the
    /// connection's own thread: only it changes the nick (set_nick) on a
    /// single server; in a cluster the cluster's thread does, under the
    /// lock, while the session waits for that answer (answered()).
    const std::string& nick() const noexcept { return nick_; }

    /// In a cluster: the answer to the call the session waits for has come
    /// (its reply, if any, is queued). The session's thread takes it once.
    bool answered() const noexcept { return answered_.load(std::memory_order_acquire); }
    bool take_answer() noexcept { return answered_.exchange(false, std::memory_order_acq_rel); }

  private:
    friend class room; // the room's own record

    static constexpr std::uint32_t no_slot = ~std::uint32_t{0};
    outbox out_;
    std::string nick_;
    seat* prev_ = nullptr; // the room's list of every connection
    seat* next_ = nullptr;
    std::uint32_t reader_slot_ = no_slot; // index in readers_
    std::uint64_t joined_ = 0;            // the newest message id when it registered
    bool in_room_ = false;
    bool ids_ = false;                  // IDS: it receives its own messages too
    std::atomic<bool> answered_{false}; // in a cluster only

    // What only a cluster needs, under the room's lock: held apart, so a
    // single server's connection carries one pointer of it.
    struct cluster_part
    {
      client_id id = 0;      // the cluster's name for it (attach)
      shared_text held;      // the line the cluster's answer releases (200, PONG)
      std::string asked;     // NICK, TELL: the nick asked for (433, 434)
      std::string_view verb; // the command waiting (450 <VERB>)
      bool joining = false;  // its JOIN is on its way to the log
    };
    std::unique_ptr<cluster_part> cl_; // set by attach() in a cluster
  };

  explicit room(const config& cfg);
  room(const room&) = delete;
  room& operator=(const room&) = delete;

  /// The limits every session of this room obeys.
  const config& settings() const noexcept { return config_; }

  /// The greeting every connection gets, with the adverts of settings().
  const shared_text& greeting() const noexcept { return greeting_; }

  /// Sum of the queued output of every connection.
  pending_total& total_sendq() noexcept { return total_sendq_; }

  /// The log of events every member reads from (its outbox keeps a place).
  room_log& log() noexcept { return log_; }

  /// Outcome of set_nick().
  enum class nick_result
  {
    accepted,  ///< registered or renamed: 200
    unchanged, ///< exactly the current nick: 200, no event
    in_use,    ///< another client has it (ignoring case): 433
    gone,      ///< the session was dropped meanwhile: nothing to send
    pending,   ///< in a cluster: answered later (seat::answered())
    refused,   ///< in a cluster cut off from it: 450
  };

  /// Registers `s` as `nick` (JOIN to the others) or renames it (NICK old
  /// new). On success `accepted` (the 200 line) is queued to `s` under the
  /// lock, before any event can reach it as a member.
  nick_result set_nick(seat& s, std::string_view nick, shared_text accepted);

  /// Accepts a message of `from` at `now` (spec 7.3): gives it the next id
  /// and the time of day config::wall_clock maps `now` to, keeps its
  /// HISTORY line, and sends "MSG <nick> <text>" to every registered client
  /// but `from` (to `from` too once it sent IDS).
  /// In a cluster it hands the message on instead, and says what the
  /// cluster's backlog did with it (always `yes` on a single server).
  cluster_link::taken message(seat& from, std::string_view text, time_point now);

  /// Outcome of tell().
  enum class tell_result
  {
    told,         ///< queued to the recipient
    no_such_nick, ///< no registered client holds the nick: 434
    pending,      ///< in a cluster: answered later (seat::answered())
    refused,      ///< in a cluster cut off from it: 450
  };

  /// Sends "TELL <from's nick> <text>" to the registered client holding
  /// `nick` (ignoring case), `from` included, and to no one else; it counts
  /// toward that client's send queue like an event (spec 7.10).
  tell_result tell(seat& from, std::string_view nick, std::string_view text);

  /// What a HISTORY asks for (spec N-HIST-6).
  struct history_request
  {
    enum class kind
    {
      all,   ///< every message kept
      last,  ///< the last `n`
      after, ///< those with an id above `n`
    };
    kind what = kind::all;
    std::uint64_t n = 0;
  };

  /// Queues the HISTORY reply to the registered `s`: of the messages kept
  /// that the room accepted before `s` registered (N-HIST-5), those `q`
  /// selects, each as its shared line, then "212 end of history". Returns
  /// the octets pending afterwards (outbox::push).
  std::size_t history(seat& s, history_request q);

  /// IDS (spec 7.12): from now on `s` receives its own messages too, and
  /// "213 <epoch> <joined> <newest> ids on" is queued to it, after exactly
  /// the messages up to <newest>. Returns the octets pending afterwards.
  std::size_t ids_on(seat& s);

  /// A PING's PONG line: in a cluster, held until the barrier is reached
  /// (N-CLU-9), returning true; otherwise false and nothing is done.
  bool ping(seat& s, const shared_text& pong);

  // ---- a cluster (spec section 17) ----

  /// Makes this room one node's part of a cluster, before any seat exists.
  void set_cluster(cluster_link& link) noexcept { link_ = &link; }

  /// The log's entries, in the log's order, as the link delivers them.
  /// `mine`: the entry is of this node's client `c`.
  void apply_join(bool mine, client_id c, std::string_view nick);
  void apply_nick(bool mine, client_id c, std::string_view old_nick, std::string_view nick);
  void apply_message(bool mine, client_id c, std::string_view nick, std::string_view text,
                     std::uint64_t id, wall_time at);
  void apply_quit(std::string_view nick, std::string_view reason);
  /// A TELL from the node's inbox for its client `c`.
  void apply_tell(client_id c, std::string_view from, std::string_view text);
  /// The node could not deliver what it missed (N-CLU-23): "GAP <epoch>
  /// <newest>" to every member; ids go on after `newest` in `epoch`.
  void apply_gap(std::string_view epoch, std::uint64_t newest);
  /// While one lives, the entries applied wake no member's writer; the
  /// last one to end wakes every member once. A node applies each read of
  /// the log under one, so a writer sends the read's lines together
  /// instead of one write per entry as they arrive.
  class held_wakeups
  {
  public:
    explicit held_wakeups(room& r);
    held_wakeups(const held_wakeups&) = delete;
    held_wakeups& operator=(const held_wakeups&) = delete;
    ~held_wakeups();

  private:
    room& room_;
  };
  /// The cluster's answer to the call client `c` waits for.
  void answer(client_id c, cluster_answer a);
  /// This node's registered clients, for registering them again after the
  /// node's place in the cluster was lost (N-CLU-14).
  std::vector<std::pair<client_id, std::string>> local_members() const;
  /// Closes client `c` with 525: the cluster gave its nick to another
  /// client (N-CLU-15, N-CLU-16). It leaves without a QUIT of its own.
  void lose(client_id c);
  /// The room as the cluster lists it, for a node joining or after a gap:
  /// replaces the list of other nodes' clients WHO shows.
  void set_roster(const std::vector<std::string>& nicks);

  /// The epoch of the message ids (N-MSG-6).
  std::string epoch() const;

  /// The id of the newest message accepted; 0 before the first.
  std::uint64_t newest_id() const;

  /// Closes `s`'s outbox because of `why` (close_reason.hpp: its final
  /// line, and whether queued output goes first), then, if it is
  /// registered, removes it and sends "QUIT <nick> <reason>" to the others:
  /// the reason's text, or for QUIT the client's own `words`.
  void leave(seat& s, close_reason why, std::string_view words = {});

  /// Every seat, registered or not, is known to the room from its
  /// session's construction to its destruction.
  void attach(seat& s);
  void detach(seat& s);

  /// Server shutdown (spec section 13): queues 521 to every connection,
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

  /// Number of messages kept for HISTORY.
  std::size_t history_kept() const;

  /// The pending output of every connection, registered or not, in no
  /// order (outbox::bytes, read under the room's lock: one look per
  /// connection, as enforce_total() takes when the total is passed).
  std::vector<std::size_t> pending_per_connection() const;

private:
  /// Orders members by nick, ignoring ASCII case (nicks are unique that
  /// way); looks them up by nick too. The set holds only pointers: with
  /// thousands of idle clients, a separate key string per member shows.
  struct nick_order
  {
    using is_transparent = void;
    static bool less(std::string_view a, std::string_view b) noexcept;
    bool operator()(const seat* a, const seat* b) const noexcept;
    bool operator()(const seat* a, std::string_view b) const noexcept;
    bool operator()(std::string_view a, const seat* b) const noexcept;
  };

  /// A cluster's list of nicks, in the same order, looked up by any view.
  struct roster_order
  {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const noexcept
    {
      return nick_order::less(a, b);
    }
  };

  void deliver(std::string_view line, seat* except, std::vector<seat*>& over);
  void lose_locked(seat& s);
  void list_in_roster(std::string_view nick);
  void lose_to_later_holder(std::string_view nick, const seat* taker);
  void keep_history(std::uint64_t id, wall_time at, std::string_view nick, std::string_view text);
  seat* local(client_id c) const;
  void release(seat& s, const shared_text& line);
  void register_locked(seat& s, std::string_view nick, std::vector<seat*>& over);
  void drop_overflowed(std::vector<seat*>& over);
  void pick_total_victims(std::vector<seat*>& over);
  void remove_locked(seat& s, std::string_view reason, std::vector<seat*>& over);
  void unlist(seat& s);

  wall_time wall_of(time_point now);

  const config config_;
  const shared_text greeting_;
  std::string epoch_;                               // under mutex_ (a cluster's gap can change it)
  std::function<wall_time(time_point)> wall_clock_; // called under mutex_
  mutable std::mutex mutex_;
  room_log log_;                        // appended under mutex_
  message_history history_;             // under mutex_
  proto::msg_time_writer times_;        // under mutex_
  std::set<seat*, nick_order> members_; // a member's nick changes only outside it
  std::vector<seat*> readers_;          // exactly the seats whose outbox stream is open:
                                        // an event's recipients, and their count its share
                                        // of the total (seat::reader_slot_)
  seat* seats_ = nullptr;               // every seat, members or not: a list through
                                        // seat::prev_/next_
  pending_total total_sendq_;
  // A cluster's (link_ null on a single server):
  cluster_link* link_ = nullptr;
  unsigned holding_ = 0; // live held_wakeups, under mutex_
  client_id next_id_ = 0;
  std::unordered_map<client_id, seat*> by_id_; // every seat, under mutex_
  std::set<std::string, roster_order> roster_; // every member of the cluster
};

} // namespace natter::core

#endif // NATTER_CORE_ROOM_HPP
