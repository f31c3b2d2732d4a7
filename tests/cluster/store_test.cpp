// The cluster's state in a real Redis (spec/natter.md section 17): what the
// functions of natter.lua promise nodes, called as natterd's cluster threads
// call them.
#include "natter/cluster/store.hpp"
#include "support/redis_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

namespace
{

using namespace std::chrono_literals;
using natter::cluster::folded;
using natter::cluster::log_entry;
using natter::cluster::node_identity;
using natter::cluster::outcome;
using natter::cluster::redis;
using natter::cluster::redis_address;
using natter::cluster::store;
using natter::test::redis_server;

// One node's view: its store and its own connection, registered.
struct node
{
  node(const redis_server& srv, std::string name, std::chrono::milliseconds lease = 15s,
       std::size_t log_max = 100000)
      : conn(redis_address::parse(srv.url()), 2s),
        st(node_identity{"t:", name, name + "-run", lease, log_max})
  {
    store::load_functions(conn);
    hello = st.hello(conn, "epoch1");
  }

  outcome join(std::string_view client, std::string_view nick)
  {
    return store::call(conn, st.join(++seq, client, nick));
  }
  outcome msg(std::string_view client, std::string_view nick, std::string_view text)
  {
    return store::call(conn, st.message(++seq, client, nick, text));
  }

  std::vector<log_entry> log() { return st.tail(conn, 100000); }

  redis conn;
  store st;
  store::hello_result hello;
  std::uint64_t seq = 0;
};

TEST(ClusterStore, AJoinTakesTheNickAndAppendsOneNumberedEntry)
{
  redis_server srv;
  node a(srv, "a");
  node b(srv, "b");
  EXPECT_EQ(a.hello.status, store::hello_result::kind::fresh);
  EXPECT_EQ(a.hello.epoch, "epoch1");
  EXPECT_EQ(a.join("1", "Alice"), outcome::ok);
  EXPECT_EQ(b.join("7", "aLiCe"), outcome::in_use); // ignoring case (N-CLU-6)
  EXPECT_EQ(b.join("7", "bob"), outcome::ok);
  const auto log = a.log();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].type, 'J');
  EXPECT_EQ(log[0].nick, "Alice");
  EXPECT_EQ(log[0].node, "a");
  EXPECT_EQ(log[0].client, "1");
  EXPECT_EQ(log[0].number, 1u);
  EXPECT_EQ(log[1].nick, "bob");
  EXPECT_EQ(log[1].number, 2u);
  const auto room = a.st.room(a.conn);
  ASSERT_EQ(room.members.size(), 2u);
  EXPECT_EQ(room.events, 2u);
  EXPECT_EQ(room.log_id, log[1].id);
}

TEST(ClusterStore, ARaceForOneNickAcrossNodesHasExactlyOneWinner)
{
  redis_server srv;
  constexpr int nicks = 200;
  std::vector<std::unique_ptr<node>> nodes;
  for (const char* name : {"a", "b", "c"})
    nodes.push_back(std::make_unique<node>(srv, name));
  std::map<int, std::atomic<int>> wins;
  for (int i = 0; i < nicks; ++i)
    wins[i] = 0;
  std::vector<std::thread> threads;
  for (auto& n : nodes)
    threads.emplace_back(
        [&n, &wins]
        {
          for (int i = 0; i < nicks; ++i)
            if (n->join("c" + std::to_string(i), (i % 2 ? "Race" : "race") + std::to_string(i)) ==
                outcome::ok)
              ++wins[i];
        });
  for (auto& t : threads)
    t.join();
  for (int i = 0; i < nicks; ++i)
    EXPECT_EQ(wins[i].load(), 1) << "race" << i;
  EXPECT_EQ(nodes[0]->log().size(), std::size_t{nicks});
}

TEST(ClusterStore, ARenameMovesTheLeaseAndACaseChangeKeepsIt)
{
  redis_server srv;
  node a(srv, "a");
  node b(srv, "b");
  ASSERT_EQ(a.join("1", "alice"), outcome::ok);
  ASSERT_EQ(b.join("2", "bob"), outcome::ok);
  EXPECT_EQ(store::call(a.conn, a.st.rename(++a.seq, "1", "alice", "BOB")), outcome::in_use);
  EXPECT_EQ(store::call(a.conn, a.st.rename(++a.seq, "1", "alice", "Alice")), outcome::ok);
  EXPECT_EQ(store::call(a.conn, a.st.rename(++a.seq, "1", "Alice", "al")), outcome::ok);
  EXPECT_EQ(b.join("3", "alice"), outcome::ok); // free again
  // Only the client holding a nick can rename it.
  EXPECT_EQ(store::call(b.conn, b.st.rename(++b.seq, "2", "al", "zed")), outcome::gone);
  const auto log = a.log();
  ASSERT_EQ(log.size(), 5u);
  EXPECT_EQ(log[2].type, 'N');
  EXPECT_EQ(log[2].old, "alice");
  EXPECT_EQ(log[2].nick, "Alice");
  EXPECT_EQ(log[3].old, "Alice");
  EXPECT_EQ(log[3].nick, "al");
}

TEST(ClusterStore, MessagesAreNumberedOnceAndARetriedCallAppendsNothing)
{
  redis_server srv;
  node a(srv, "a");
  ASSERT_EQ(a.join("1", "alice"), outcome::ok);
  const auto first = a.st.message(++a.seq, "1", "alice", "one  two ");
  EXPECT_EQ(store::call(a.conn, first), outcome::ok);
  // The same call again, as after a connection lost before its answer
  // (N-CLU-10): applied once.
  EXPECT_EQ(store::call(a.conn, first), outcome::ok);
  EXPECT_EQ(a.msg("1", "alice", "three"), outcome::ok);
  // A retried join answers what it answered the first time.
  node b(srv, "b");
  const auto j = b.st.join(++b.seq, "9", "alice");
  EXPECT_EQ(store::call(b.conn, j), outcome::in_use);
  ASSERT_EQ(store::call(a.conn, a.st.quit(++a.seq, "1", "alice", "", "bye")), outcome::ok);
  EXPECT_EQ(store::call(b.conn, j), outcome::in_use);
  const auto log = a.log();
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log[1].type, 'M');
  EXPECT_EQ(log[1].text, "one  two ");
  EXPECT_EQ(log[1].msg_id, 1u);
  EXPECT_EQ(log[2].msg_id, 2u);
  EXPECT_GT(log[1].millis(), 1'700'000'000'000u); // Redis's clock, in ms since 1970
  EXPECT_EQ(log[3].type, 'Q');
  EXPECT_EQ(log[3].text, "bye");
  // Not in the room any more: its messages are not appended.
  EXPECT_EQ(a.msg("1", "alice", "late"), outcome::gone);
  EXPECT_EQ(a.log().size(), 4u);
}

TEST(ClusterStore, ATellGoesToTheRecipientsNodeAndNeverToTheLog)
{
  redis_server srv;
  node a(srv, "a");
  node b(srv, "b");
  ASSERT_EQ(a.join("1", "alice"), outcome::ok);
  ASSERT_EQ(b.join("2", "bob"), outcome::ok);
  EXPECT_EQ(store::call(a.conn, a.st.tell(++a.seq, "alice", "BOB", "psst")), outcome::ok);
  EXPECT_EQ(store::call(a.conn, a.st.tell(++a.seq, "alice", "carol", "hm")), outcome::none);
  const auto got = b.st.read(b.conn, "0-0", "0-0", 100, 0ms);
  ASSERT_EQ(got.inbox.size(), 1u);
  EXPECT_EQ(got.inbox[0].from, "alice");
  EXPECT_EQ(got.inbox[0].text, "psst");
  EXPECT_EQ(got.inbox[0].client, "2");
  EXPECT_EQ(got.log.size(), 2u); // the two JOINs only
  EXPECT_TRUE(a.st.read(a.conn, "0-0", "0-0", 100, 0ms).inbox.empty());
  // The barrier's tip names both streams' newest entries (N-CLU-9).
  const auto [log_tip, inbox_tip] = b.st.tip(b.conn);
  EXPECT_EQ(log_tip, got.log.back().id);
  EXPECT_EQ(inbox_tip, got.inbox.back().id);
}

TEST(ClusterStore, ALostNodesClientsLeaveOnceWithNodeLost)
{
  redis_server srv;
  node a(srv, "a");
  node b(srv, "b");
  node dead(srv, "dead", 300ms);
  ASSERT_EQ(a.join("1", "alice"), outcome::ok);
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(dead.join(std::to_string(i), "d" + std::to_string(i)), outcome::ok);
  // The dead node renews nothing; its lease runs out in Redis. Both
  // survivors beat at once, again and again, until it is gone.
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < until &&
         a.conn.command({"EXISTS", "t:alive:dead"}).integer() == 1)
    std::this_thread::sleep_for(20ms);
  std::thread other([&b] { (void)b.st.beat(b.conn); });
  EXPECT_FALSE(a.st.beat(a.conn).lost);
  other.join();
  (void)b.st.beat(b.conn);
  int quits = 0;
  for (const auto& e : a.log())
    if (e.type == 'Q')
    {
      ++quits;
      EXPECT_EQ(e.text, "node lost");
      EXPECT_EQ(e.nick[0], 'd');
    }
  EXPECT_EQ(quits, 3);
  EXPECT_EQ(a.join("5", "d1"), outcome::ok); // the nick is free
  // The lost node learns it: its beat says so, and its hello too.
  EXPECT_TRUE(dead.st.beat(dead.conn).lost);
  EXPECT_THROW(dead.msg("0", "d0", "hi?"), natter::cluster::redis_error);
  EXPECT_EQ(dead.st.hello(dead.conn, "x").status, store::hello_result::kind::lost);
  EXPECT_EQ(dead.join("0", "d0"), outcome::ok); // registering its client again (N-CLU-14)
}

TEST(ClusterStore, ANodeRestartedUnderItsNameReapsItsPredecessor)
{
  redis_server srv;
  {
    node first(srv, "n");
    ASSERT_EQ(first.join("1", "alice"), outcome::ok);
    // Another process with the same name while it runs is refused.
    redis c(redis_address::parse(srv.url()), 2s);
    store twin(node_identity{"t:", "n", "other-run", 15s, 100000});
    EXPECT_THROW(twin.hello(c, "e"), natter::cluster::redis_error);
  }
  // The next run of "n" (a new run id): its predecessor's lease is still
  // alive, so it must wait for it; with the lease gone it takes over.
  redis c(redis_address::parse(srv.url()), 2s);
  c.command({"DEL", "t:alive:n"});
  store next(node_identity{"t:", "n", "run-2", 15s, 100000});
  EXPECT_EQ(next.hello(c, "e").status, store::hello_result::kind::fresh);
  const auto log = next.tail(c, 10);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[1].type, 'Q');
  EXPECT_EQ(log[1].nick, "alice");
  EXPECT_EQ(log[1].text, "node lost");
}

TEST(ClusterStore, ReadsResumeAfterACursorAndATrimmedLogShowsAsAJump)
{
  redis_server srv;
  node a(srv, "a", 15s, 10);
  ASSERT_EQ(a.join("1", "alice"), outcome::ok);
  const auto first = a.st.read(a.conn, "0-0", "0-0", 10, 0ms);
  ASSERT_EQ(first.log.size(), 1u);
  for (int i = 0; i < 500; ++i)
    ASSERT_EQ(a.msg("1", "alice", std::to_string(i)), outcome::ok);
  // Trimmed to about 10 entries (whole stream nodes): reading on from the
  // cursor, the next entry's number is not 2.
  const auto next = a.st.read(a.conn, first.log[0].id, "0-0", 1000, 0ms);
  ASSERT_FALSE(next.log.empty());
  EXPECT_GT(next.log.front().number, 2u);
  EXPECT_EQ(next.log.back().number, 501u);
  EXPECT_EQ(next.log.back().msg_id, 500u);
  EXPECT_LT(next.log.size(), 500u);
  // A read that finds nothing waits its block time and returns empty.
  const auto none = a.st.read(a.conn, next.log.back().id, "$", 10, 50ms);
  EXPECT_TRUE(none.log.empty());
}

TEST(ClusterStore, RedisRestartedWithItsDataKeepsTheEpochAndEmptyStartsANewOne)
{
  redis_server srv(true);
  {
    node a(srv, "a");
    ASSERT_EQ(a.join("1", "alice"), outcome::ok);
  }
  srv.restart(false);
  {
    node a(srv, "a");
    EXPECT_EQ(a.hello.epoch, "epoch1");
    EXPECT_EQ(a.hello.events, 1u);
  }
  srv.restart(true);
  redis c(redis_address::parse(srv.url()), 2s);
  store::load_functions(c);
  store s(node_identity{"t:", "a", "a-run", 15s, 100000});
  const auto h = s.hello(c, "epoch2");
  EXPECT_EQ(h.epoch, "epoch2");
  EXPECT_EQ(h.events, 0u);
  EXPECT_EQ(h.log_id, "0-0");
}

TEST(ClusterStore, APausedRedisIsALostConnectionWithinTheTimeout)
{
  redis_server srv;
  redis c(redis_address::parse(srv.url()), 300ms);
  ASSERT_EQ(c.command({"PING"}).str(), "PONG");
  srv.pause();
  // Redis stays paused until the call has thrown: the read gave up on its
  // own, it did not wait for Redis to come back.
  EXPECT_THROW(c.command({"PING"}), natter::cluster::redis_io_error);
  srv.resume();
  EXPECT_THROW(c.command({"PING"}), natter::cluster::redis_io_error); // unusable after
}

TEST(ClusterStore, FoldingIsAsciiLowerCase)
{
  EXPECT_EQ(folded("AbC_-9z"), "abc_-9z");
}

} // namespace
