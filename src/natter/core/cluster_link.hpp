// What the room asks of a cluster (spec/natter.md section 17), without
// sockets or Redis: natterd's cluster node implements it (natter_cluster),
// tests implement it in memory. With a link, the room decides nothing that
// changes it on its own: it hands each change to the link and applies it
// when the link delivers it back from the cluster's log, in the log's order
// (room::apply_*), so every node's clients see one order (N-CLU-2).
//
// Threads: the room calls the link under its lock, so a link never blocks
// and never calls back into the room from inside these calls; it answers
// later, from its own threads.
#ifndef NATTER_CORE_CLUSTER_LINK_HPP
#define NATTER_CORE_CLUSTER_LINK_HPP

#include <cstdint>
#include <string_view>

namespace natter::core
{

/// A client of this node, as the cluster names it.
using client_id = std::uint64_t;

class cluster_link
{
public:
  virtual ~cluster_link() = default;

  /// False while the node cannot reach the cluster (N-CLU-17).
  virtual bool connected() const noexcept = 0;

  /// Registration and rename: answered by room::apply_join/apply_nick for
  /// this client's own entry, or by room::answer (in use, gone).
  virtual void join(client_id c, std::string_view nick) = 0;
  virtual void rename(client_id c, std::string_view old_nick, std::string_view nick) = 0;

  /// What message() did with a message.
  enum class taken
  {
    yes,     ///< on its way; comes back as room::apply_message
    wait,    ///< on its way, and the backlog is full: the sender waits for
             ///< room::answer before its next line (N-CLU-18)
    refused, ///< the node is cut off and the backlog is full: 450
  };

  /// A message of client `c`.
  virtual taken message(client_id c, std::string_view nick, std::string_view text) = 0;

  /// A departure: never refused (N-CLU-11). Comes back as room::apply_quit.
  /// `nick` is the client's nick, `or_nick` the one a rename still on its
  /// way asked for (the cluster removes whichever the client holds).
  virtual void quit(client_id c, std::string_view nick, std::string_view or_nick,
                    std::string_view reason) = 0;

  /// A TELL: answered by room::answer (told, or no such nick).
  virtual void tell(client_id c, std::string_view from, std::string_view to,
                    std::string_view text) = 0;

  /// A PING's barrier (N-CLU-9): answered by room::answer once every
  /// earlier call of this node is in the cluster and the node has delivered
  /// what the cluster held then.
  virtual void barrier(client_id c) = 0;
};

/// The cluster's answer to a call of a client (room::answer).
enum class cluster_answer
{
  done,         ///< TELL passed on; barrier reached
  in_use,       ///< NICK: 433
  no_such_nick, ///< TELL: 434
  gone,         ///< the client is not in the room: nothing to say
  try_again,    ///< the cluster could not take it: 450
};

} // namespace natter::core

#endif // NATTER_CORE_CLUSTER_LINK_HPP
