// A room that is one node's part of a cluster (spec/natter.md section 17),
// driven through core::connection with an in-memory link: the room decides
// nothing itself, and everything reaches its clients from the "log" the
// test delivers, in that order.
#include "natter/core/cluster_link.hpp"
#include "natter/core/connection.hpp"
#include "natter/core/room.hpp"
#include "support/core_client.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace
{

using namespace natter::core;
using natter::test::lines;
using natter::test::t0;
using client = natter::test::core_client;

// Records the room's calls as words, so a test can answer them.
struct fake_link : cluster_link
{
  bool up = true;
  std::size_t room_for = 1000; // MSGs the backlog takes
  std::vector<std::string> calls;

  bool connected() const noexcept override { return up; }
  void join(client_id c, std::string_view nick) override
  {
    calls.push_back("join " + std::to_string(c) + " " + std::string(nick));
  }
  void rename(client_id c, std::string_view old_nick, std::string_view nick) override
  {
    calls.push_back("rename " + std::to_string(c) + " " + std::string(old_nick) + " " +
                    std::string(nick));
  }
  taken message(client_id c, std::string_view nick, std::string_view text) override
  {
    if (room_for == 0 && !up)
      return taken::refused;
    calls.push_back("msg " + std::to_string(c) + " " + std::string(nick) + " " + std::string(text));
    if (room_for == 0)
      return taken::wait;
    --room_for;
    return taken::yes;
  }
  void quit(client_id c, std::string_view nick, std::string_view or_nick,
            std::string_view reason) override
  {
    calls.push_back("quit " + std::to_string(c) + " " + std::string(nick) + " " +
                    std::string(or_nick) + " " + std::string(reason));
  }
  void tell(client_id c, std::string_view from, std::string_view to, std::string_view text) override
  {
    calls.push_back("tell " + std::to_string(c) + " " + std::string(from) + " " + std::string(to) +
                    " " + std::string(text));
  }
  void barrier(client_id c) override { calls.push_back("barrier " + std::to_string(c)); }

  std::string take()
  {
    if (calls.empty())
      return "";
    std::string front = calls.front();
    calls.erase(calls.begin());
    return front;
  }
};

struct node
{
  node() : r(cfg()) { r.set_cluster(link); }
  static config cfg()
  {
    config c = natter::test::fast();
    c.epoch = "e1";
    return c;
  }
  fake_link link;
  room r;
};

// What a client reads after its connection stepped (as natterd's
// transport does after every write and wake).
lines step_read(client& c)
{
  (void)c.c.step(t0);
  return c.read();
}

// Client `c` (the room's client `id`) registers as `nick`: its NICK goes to
// the link, its JOIN comes back from the log. The link's record is cleared.
void registered(node& n, client& c, client_id id, const std::string& nick)
{
  c.read();
  c.send("NICK " + nick + "\r\n");
  n.r.apply_join(true, id, nick);
  step_read(c);
  n.link.calls.clear();
}

TEST(ClusterRoom, NickIsAnsweredByItsOwnEntryAndLaterLinesWaitForIt)
{
  node n;
  client a(n.r);
  a.read();
  a.send("NICK alice\r\nECHO after\r\n");
  EXPECT_EQ(a.read(), lines{}); // nothing until the log says so (N-CLU-5)
  EXPECT_EQ(a.c.step(t0).read, false);
  EXPECT_EQ(n.link.take(), "join 1 alice");
  EXPECT_TRUE(n.link.calls.empty()); // ECHO waits behind the NICK
  n.r.apply_join(true, 1, "alice");
  EXPECT_TRUE(a.c.step_due());
  EXPECT_EQ(step_read(a), (lines{"200 alice nick accepted", "ECHO after"}));
}

TEST(ClusterRoom, NickInUseElsewhereIs433)
{
  node n;
  client a(n.r);
  a.read();
  a.send("NICK bob\r\n");
  EXPECT_EQ(n.link.take(), "join 1 bob");
  n.r.answer(1, cluster_answer::in_use);
  EXPECT_EQ(step_read(a), (lines{"433 bob nick already in use"}));
  a.send("MSG hi\r\n");
  EXPECT_EQ(a.read(), (lines{"401 register first with NICK"}));
}

TEST(ClusterRoom, PingWaitsForTheBarrier)
{
  node n;
  client a(n.r);
  registered(n, a, 1, "alice");
  a.send("MSG one\r\nPING x\r\nECHO y\r\n");
  EXPECT_EQ(n.link.take(), "msg 1 alice one");
  EXPECT_EQ(n.link.take(), "barrier 1");
  EXPECT_EQ(step_read(a), lines{});
  n.r.answer(1, cluster_answer::done);
  EXPECT_EQ(step_read(a), (lines{"PONG x", "ECHO y"}));
}

TEST(ClusterRoom, TheEndOfInputWaitsForTheLastPingsBarrier)
{
  // A half-close right after a PING: its PONG is a pending reply, sent
  // once the barrier is answered, before the connection closes (N-CONN-8).
  node n;
  client a(n.r);
  registered(n, a, 1, "alice");
  a.send("PING one\r\n");
  EXPECT_EQ(n.link.take(), "barrier 1");
  a.c.end_of_input(t0);
  EXPECT_EQ(step_read(a), lines{});
  EXPECT_TRUE(n.link.calls.empty()); // not left yet
  n.r.answer(1, cluster_answer::done);
  EXPECT_EQ(step_read(a), (lines{"PONG one"}));
  EXPECT_EQ(n.link.take().rfind("quit 1 alice", 0), 0U); // then it leaves
}

TEST(ClusterRoom, EventsComeOnlyFromTheLogInItsOrder)
{
  node n;
  client a(n.r);
  client b(n.r);
  a.read();
  b.read();
  a.send("NICK alice\r\n");
  b.send("NICK bob\r\n");
  n.r.apply_join(true, 1, "alice");
  n.r.apply_join(false, 0, "carol"); // another node's client
  n.r.apply_join(true, 2, "bob");
  EXPECT_EQ(step_read(a), (lines{"200 alice nick accepted", "JOIN carol", "JOIN bob"}));
  EXPECT_EQ(step_read(b), (lines{"200 bob nick accepted"}));
  n.link.calls.clear();
  a.send("MSG hi\r\n");
  EXPECT_EQ(b.read(), lines{}); // not delivered ahead of the log (N-CLU-2)
  n.r.apply_message(true, 1, "alice", "hi", 1, wall_time{});
  n.r.apply_message(false, 0, "carol", "yo", 2, wall_time{});
  EXPECT_EQ(b.read(), (lines{"MSG alice hi", "MSG carol yo"}));
  EXPECT_EQ(a.read(), (lines{"MSG carol yo"})); // not its own, without IDS
  b.send("WHO\r\n");
  EXPECT_EQ(b.read(),
            (lines{"211-alice", "211-bob", "211-carol", "211 3 users in the room"})); // N-CLU-7
  n.r.apply_quit("carol", "node lost");
  EXPECT_EQ(a.read(), (lines{"QUIT carol node lost"}));
  EXPECT_EQ(b.read(), (lines{"QUIT carol node lost"}));
  b.send("HISTORY\r\n");
  EXPECT_EQ(b.read(), (lines{"212 end of history"})); // both came after b's JOIN
}

TEST(ClusterRoom, DeparturesGoToTheLogNotToTheRoom)
{
  node n;
  client a(n.r);
  client b(n.r);
  registered(n, a, 1, "alice");
  registered(n, b, 2, "bob");
  a.read(); // b's JOIN
  a.send("QUIT bye\r\n");
  EXPECT_EQ(n.link.take(), "quit 1 alice alice bye");
  EXPECT_EQ(b.read(), lines{}); // the QUIT comes from the log (N-CLU-11)
  n.r.apply_quit("alice", "bye");
  EXPECT_EQ(b.read(), (lines{"QUIT alice bye"}));
}

TEST(ClusterRoom, CutOffFromTheClusterSomeCommandsAre450)
{
  node n;
  client a(n.r);
  registered(n, a, 1, "alice");
  n.link.up = false;
  n.link.room_for = 1;
  a.send("MSG one\r\nMSG two\r\nNICK al\r\nTELL bob x\r\nPING p\r\nECHO e\r\nWHO\r\n");
  EXPECT_EQ(a.read(), (lines{"450 MSG try again later", "450 NICK try again later",
                             "450 TELL try again later", "PONG p", "ECHO e", "211-alice",
                             "211 1 users in the room"}));
  EXPECT_EQ(n.link.take(), "msg 1 alice one"); // held in the backlog (N-CLU-18)
  EXPECT_TRUE(n.link.calls.empty());
}

TEST(ClusterRoom, AFullBacklogSlowsASenderWhileTheClusterIsReachable)
{
  node n;
  client a(n.r);
  registered(n, a, 1, "alice");
  n.link.room_for = 1;
  a.send("MSG one\r\nMSG two\r\nECHO e\r\n");
  EXPECT_EQ(n.link.take(), "msg 1 alice one");
  EXPECT_EQ(n.link.take(), "msg 1 alice two"); // taken, and the sender waits
  EXPECT_EQ(step_read(a), lines{});
  n.r.answer(1, cluster_answer::done); // the backlog has room again
  EXPECT_EQ(step_read(a), lines{"ECHO e"});
}

TEST(ClusterRoom, TellIsAnsweredByTheCluster)
{
  node n;
  client a(n.r);
  registered(n, a, 1, "alice");
  a.send("TELL zed hi\r\nTELL bob psst\r\n");
  EXPECT_EQ(n.link.take(), "tell 1 alice zed hi");
  n.r.answer(1, cluster_answer::no_such_nick);
  EXPECT_EQ(step_read(a), (lines{"434 zed no such nick"}));
  EXPECT_EQ(n.link.take(), "tell 1 alice bob psst");
  n.r.answer(1, cluster_answer::done);
  EXPECT_EQ(step_read(a), lines{});
  n.r.apply_tell(1, "bob", "back at you");
  EXPECT_EQ(a.read(), (lines{"TELL bob back at you"}));
}

TEST(ClusterRoom, AGapIsOneEventAndIdsGoOnAfterIt)
{
  node n;
  client a(n.r);
  a.read();
  a.send("NICK alice\r\nIDS\r\n");
  n.r.apply_join(true, 1, "alice");
  EXPECT_EQ(step_read(a), (lines{"200 alice nick accepted", "213 e1 0 0 ids on"}));
  n.r.apply_gap("e2", 41);
  n.r.apply_message(false, 0, "bob", "back", 42, wall_time{});
  EXPECT_EQ(a.read(), (lines{"GAP e2 41", "MSG bob back"}));
}

} // namespace

// A node applies each read of the log under held_wakeups: the members'
// writers are woken once, after the read's last entry, and find all of it.
TEST(ClusterRoom, OneReadOfTheLogWakesEachWriterOnce)
{
  node n;
  client a(n.r);
  client b(n.r);
  registered(n, a, 1, "alice");
  registered(n, b, 2, "bob");
  a.read();
  b.read();
  a.wakes = 0;
  b.wakes = 0;
  {
    room::held_wakeups held(n.r);
    n.r.apply_message(false, 0, "carol", "one", 1, wall_time{});
    n.r.apply_message(false, 0, "carol", "two", 2, wall_time{});
    n.r.apply_join(false, 0, "dave");
    EXPECT_EQ(a.wakes, 0);
    EXPECT_EQ(b.wakes, 0);
  }
  EXPECT_EQ(a.wakes, 1);
  EXPECT_EQ(b.wakes, 1);
  const lines all{"MSG carol one", "MSG carol two", "JOIN dave"};
  EXPECT_EQ(step_read(a), all);
  EXPECT_EQ(step_read(b), all);
  // Without one, the first entry wakes an idle writer at once.
  n.r.apply_message(false, 0, "carol", "three", 3, wall_time{});
  EXPECT_EQ(b.wakes, 2);
}

// After a Redis failover forgot alice's lease, another node's client took
// the nick: its JOIN (or NICK) in the log closes this node's alice with 525,
// without a QUIT, and the later holder is the one left (N-CLU-16).
TEST(ClusterRoom, ALaterEntryGivingAMembersNickElsewhereClosesTheMember)
{
  node n;
  client a(n.r);
  client b(n.r);
  client k(n.r);
  registered(n, a, 1, "alice");
  registered(n, b, 2, "bob");
  registered(n, k, 3, "kate");
  a.read();
  b.read();
  k.read();
  n.r.apply_join(false, 0, "ALICE"); // folded as alice's
  EXPECT_EQ(step_read(a), (lines{"525 nick lost to another client"}));
  EXPECT_EQ(step_read(b), (lines{"JOIN ALICE"}));
  EXPECT_EQ(step_read(k), (lines{"JOIN ALICE"}));
  n.r.apply_nick(false, 0, "carol", "Kate");
  EXPECT_EQ(step_read(k), (lines{"525 nick lost to another client"}));
  EXPECT_EQ(step_read(b), (lines{"NICK carol Kate"}));
  b.send("WHO\r\n");
  EXPECT_EQ(b.read(), (lines{"211-ALICE", "211-bob", "211-Kate", "211 3 users in the room"}));
  // A member's own rename to another case of its nick loses nothing.
  b.send("NICK BOB\r\n");
  n.r.apply_nick(true, 2, "bob", "BOB");
  EXPECT_EQ(step_read(b), (lines{"200 BOB nick accepted"}));
  n.r.apply_message(false, 0, "ALICE", "hi", 1, wall_time{});
  EXPECT_EQ(step_read(b), (lines{"MSG ALICE hi"}));
  EXPECT_EQ(step_read(a), lines{}); // the lost ones read nothing more
  EXPECT_EQ(step_read(k), lines{});
}
