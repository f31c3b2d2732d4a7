// natterd nodes of one cluster (spec/natter.md section 17), as processes,
// with a redis-server of the test's own: one room whichever node a client
// is on, one order for everyone, and what a dead node or a stopped Redis
// leaves behind.
#include "server/natterd_process.hpp"
#include "support/redis_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <map>
#include <memory>
#include <set>
#include <thread>

namespace natter::test
{
namespace
{

using namespace std::chrono_literals;

// A node of the cluster at `srv`, named `name`.
std::unique_ptr<natterd_process> node(const redis_server& srv, const std::string& name,
                                      std::vector<std::string> more = {})
{
  std::vector<std::string> flags{"--redis",        srv.url(), "--node-id", name,
                                 "--redis-prefix", "t:",      "--rate",    "0"};
  flags.insert(flags.end(), more.begin(), more.end());
  return std::make_unique<natterd_process>(flags, 0, true);
}

TEST(ClusterNodes, TwoNodesAreOneRoom)
{
  redis_server srv;
  auto n1 = node(srv, "n1");
  auto n2 = node(srv, "n2");
  client a = registered(n1->chat_port(), "alice");
  client b("127.0.0.1", n2->chat_port());
  EXPECT_EQ(b.line().substr(0, 3), "220");
  b.send("NICK ALICE\r\nNICK bob\r\n");
  EXPECT_EQ(b.line(), "433 ALICE nick already in use"); // N-CLU-6
  EXPECT_EQ(b.line(), "200 bob nick accepted");
  EXPECT_EQ(a.line(), "JOIN bob");
  b.send("WHO\r\n"); // N-CLU-7
  EXPECT_EQ(b.sync(),
            (std::vector<std::string>{"211-alice", "211-bob", "211 2 users in the room"}));
  // The barrier across nodes (N-CLU-9): after a's PONG and then b's, b has
  // a's message.
  a.send("MSG hi bob\r\n");
  EXPECT_TRUE(a.sync("a1").empty());
  EXPECT_EQ(b.sync("b1"), std::vector<std::string>{"MSG alice hi bob"});
  b.send("TELL alice psst\r\nTELL zed x\r\n"); // N-CLU-8
  EXPECT_EQ(b.sync(), std::vector<std::string>{"434 zed no such nick"});
  EXPECT_EQ(a.line(), "TELL bob psst");
  b.send("NICK bobby\r\n");
  EXPECT_EQ(b.line(), "200 bobby nick accepted");
  EXPECT_EQ(a.line(), "NICK bob bobby");
  a.send("QUIT bye\r\n");
  EXPECT_EQ(a.line(), "221 goodbye");
  EXPECT_EQ(b.line(), "QUIT alice bye");
  client c = registered(n2->chat_port(), "alice"); // the nick is free again
  // HISTORY from the log, with the message's id (N-CLU-4), on the node the
  // sender was not on.
  c.send("HISTORY\r\n");
  const auto history = c.sync();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_TRUE(history[0].starts_with("212-1 ")) << history[0];
  EXPECT_TRUE(history[0].ends_with(" alice hi bob")) << history[0];
}

// natterd --metrics on a node (spec 13.2): it counts what its own clients
// cause, what its own threads that read and write Redis queue included, so
// the nodes' counts add up to the cluster's.
TEST(ClusterNodes, EachNodeCountsItsOwnClientsInItsMetrics)
{
  redis_server srv;
  auto n1 = node(srv, "n1", {"--metrics", "0"});
  auto n2 = node(srv, "n2", {"--metrics", "0"});
  client a = registered(n1->chat_port(), "alice");
  client b = registered(n2->chat_port(), "bob");
  EXPECT_EQ(a.sync(), std::vector<std::string>{"JOIN bob"});
  // Both refused by the cluster's answer, not by the session.
  b.send("NICK ALICE\r\nTELL zed x\r\n");
  EXPECT_EQ(b.sync(),
            (std::vector<std::string>{"433 ALICE nick already in use", "434 zed no such nick"}));
  const double sent_before = metric(metrics_body(n2->metrics_port()), "natter_lines_sent_total");
  a.send("MSG hi\r\n");
  EXPECT_TRUE(a.sync("a1").empty());
  EXPECT_EQ(b.sync("b1"), std::vector<std::string>{"MSG alice hi"});
  const std::string m1 = metrics_body(n1->metrics_port());
  const std::string m2 = metrics_body(n2->metrics_port());
  EXPECT_EQ(metric(m1, "natter_room_messages_total"), 1) << m1;
  EXPECT_EQ(metric(m2, "natter_room_messages_total"), 0) << m2;
  EXPECT_EQ(metric(m2, "natter_error_replies_total{code=\"433\"}"), 1) << m2;
  EXPECT_EQ(metric(m2, "natter_error_replies_total{code=\"434\"}"), 1) << m2;
  EXPECT_EQ(metric(m1, "natter_error_replies_total{code=\"433\"}"), 0) << m1;
  // The MSG n2's reader delivered to bob, and bob's PONG.
  EXPECT_EQ(metric(m2, "natter_lines_sent_total") - sent_before, 2) << m2;
  EXPECT_EQ(metric(m1, "natter_clients_registered"), 1) << m1;
  EXPECT_EQ(metric(m2, "natter_clients_registered"), 1) << m2;
  // The cluster's own (N-METRICS-7), through Prometheus's parser: both
  // nodes read JOIN alice, JOIN bob and the MSG before the PONGs above.
  for (const std::string& body : {m1, m2})
  {
    const auto s = parsed_metrics(body);
    EXPECT_EQ(s.at("natter_cluster_connected"), 1) << body;
    EXPECT_EQ(s.at("natter_cluster_log_entries_total"), 3) << body;
    EXPECT_EQ(s.at("natter_cluster_redis_reconnects_total"), 0) << body;
    EXPECT_EQ(s.at("natter_cluster_gaps_total"), 0) << body;
    EXPECT_EQ(s.at("natter_cluster_backlog_messages"), 0) << body;
    EXPECT_EQ(s.at("natter_cluster_backlog_refusals_total"), 0) << body;
    EXPECT_GE(s.at("natter_cluster_stream_lag_seconds"), 0) << body;
  }
}

// A TELL to a nick whose QUIT its sender has just seen is 434, answered by
// the cluster: the log's order holds across nodes, so the recipient's node
// cannot still be holding the nick [N-CLU-1, N-CLU-8].
TEST(ClusterNodes, ATellToANickThatJustLeftIsRefused)
{
  redis_server srv;
  auto n1 = node(srv, "n1");
  auto n2 = node(srv, "n2");
  client a = registered(n1->chat_port(), "alice");
  client b = registered(n2->chat_port(), "bob");
  EXPECT_EQ(a.sync(), std::vector<std::string>{"JOIN bob"});
  b.send("QUIT\r\n");
  EXPECT_EQ(b.line(), "221 goodbye");
  EXPECT_EQ(a.line(), "QUIT bob");
  a.send("TELL bob are you there\r\n");
  EXPECT_EQ(a.sync(), std::vector<std::string>{"434 bob no such nick"});
  // And a client who takes the nick on the other node gets what is sent
  // to it from then on.
  client b2 = registered(n2->chat_port(), "bob");
  EXPECT_EQ(a.line(), "JOIN bob");
  a.send("TELL bob welcome back\r\n");
  EXPECT_TRUE(a.sync().empty());
  EXPECT_EQ(b2.line(), "TELL alice welcome back");
}

// Redis restarted with its data (an append-only file): the nodes resume
// from their cursors, with no gap and the same ids [N-CLU-18, N-CLU-21].
TEST(ClusterNodes, RedisRestartedWithItsDataResumesWithoutAGap)
{
  redis_server srv(true);
  auto n1 = node(srv, "n1", {"--metrics", "0"});
  auto n2 = node(srv, "n2");
  client a = registered(n1->chat_port(), "alice");
  client b = registered(n2->chat_port(), "bob");
  a.send("MSG one\r\n");
  EXPECT_EQ(a.sync(), std::vector<std::string>{"JOIN bob"});
  EXPECT_EQ(b.sync(), std::vector<std::string>{"MSG alice one"});
  srv.restart(false);
  // Sent while the nodes may still be finding Redis back: held, not lost.
  a.send("MSG two\r\n");
  EXPECT_EQ(b.line(15s), "MSG alice two"); // no GAP, no JOIN again before it
  EXPECT_TRUE(a.sync().empty());
  // Both messages, under the ids they had (HISTORY serves what came before
  // the client registered, N-HIST-5).
  client c = registered(n2->chat_port(), "carol");
  c.send("HISTORY\r\n");
  const auto h = c.sync();
  ASSERT_EQ(h.size(), 3u) << ::testing::PrintToString(h);
  EXPECT_TRUE(h[0].starts_with("212-1 ") && h[0].ends_with(" alice one")) << h[0];
  EXPECT_TRUE(h[1].starts_with("212-2 ") && h[1].ends_with(" alice two")) << h[1];
  const std::string m = metrics_body(n1->metrics_port());
  EXPECT_EQ(metric(m, "natter_cluster_gaps_total"), 0) << m;
  EXPECT_EQ(metric(m, "natter_cluster_connected"), 1) << m;
}

// A node started while the room is busy joins cleanly: a client on it gets
// a HISTORY and then live messages that together are one run of the
// room's messages, nothing missing and nothing twice, with the ids every
// node uses [N-CLU-1, N-CLU-4, N-HIST-5].
TEST(ClusterNodes, ANodeStartedWhileTheRoomIsBusyJoinsCleanly)
{
  redis_server srv;
  auto n1 = node(srv, "n1");
  client a = registered(n1->chat_port(), "alice");
  std::atomic<bool> joined{false};
  std::atomic<int> sent{0};
  std::thread talker(
      [&]
      {
        // Until the new node's client has registered, and 50 more.
        for (int after = 0; after < 50; after += joined ? 1 : 0)
        {
          a.send("MSG m" + std::to_string(sent) + "\r\n");
          ++sent;
          std::this_thread::sleep_for(2ms);
        }
      });
  auto n2 = node(srv, "n2");
  client c = registered(n2->chat_port(), "carol");
  c.send("HISTORY\r\n");
  joined = true;
  talker.join();
  const int total = sent;
  ASSERT_GT(total, 50);
  std::vector<int> history;
  std::vector<int> live;
  const auto number = [](const std::string& l) { return std::stoi(l.substr(l.rfind(" m") + 2)); };
  for (int i = 0; i < total + 200 && (live.empty() || live.back() != total - 1); ++i)
  {
    const std::string l = c.line(15s);
    if (l.starts_with("212-"))
    {
      history.push_back(number(l));
      // Its id is the one live delivery gave it everywhere: m<k> is k + 1.
      EXPECT_TRUE(l.starts_with("212-" + std::to_string(history.back() + 1) + " ")) << l;
    }
    else if (l.starts_with("MSG alice m"))
      live.push_back(number(l));
    else
      ASSERT_TRUE(l == "212 end of history") << l;
  }
  std::vector<int> all = history;
  all.insert(all.end(), live.begin(), live.end());
  ASSERT_FALSE(all.empty());
  for (std::size_t i = 1; i < all.size(); ++i)
    ASSERT_EQ(all[i], all[i - 1] + 1) << "history " << ::testing::PrintToString(history) << " live "
                                      << ::testing::PrintToString(live);
  EXPECT_EQ(all.back(), total - 1);
  EXPECT_LE(history.size(), 100u); // --history
  // alice's own node gave her the same order.
  EXPECT_EQ(a.sync(), std::vector<std::string>{"JOIN carol"});
}

// A node paused past --node-timeout finds its place lost: the others said
// its clients were lost, it registers them again when it runs, and a client
// whose nick was taken meanwhile is closed with 525 [N-CLU-13, N-CLU-14,
// N-CLU-15].
TEST(ClusterNodes, ANodeBackFromAPauseLosesOnlyTheNicksTakenMeanwhile)
{
  redis_server srv;
  auto n1 = node(srv, "n1", {"--node-timeout", "1"});
  auto n2 = node(srv, "n2", {"--node-timeout", "1"});
  client a = registered(n1->chat_port(), "alice");
  client k = registered(n1->chat_port(), "kate");
  client b = registered(n2->chat_port(), "bob");
  EXPECT_EQ(a.sync(), (std::vector<std::string>{"JOIN kate", "JOIN bob"}));
  n1->signal(SIGSTOP);
  std::set<std::string> lost{b.line(10s), b.line(10s)};
  EXPECT_EQ(lost, (std::set<std::string>{"QUIT alice node lost", "QUIT kate node lost"}));
  client a2 = registered(n2->chat_port(), "alice"); // the nick is free
  EXPECT_EQ(b.line(), "JOIN alice");
  n1->signal(SIGCONT);
  // The first alice first reads what the log says happened meanwhile.
  std::string l;
  for (int i = 0; i < 10 && l != "525 nick lost to another client" && l != "<closed>"; ++i)
    l = a.line(15s);
  EXPECT_EQ(l, "525 nick lost to another client");
  EXPECT_TRUE(a.closed_within(5s));
  // kate is registered again: everyone sees her JOIN, and she chats on.
  EXPECT_EQ(b.line(15s), "JOIN kate");
  EXPECT_EQ(a2.line(15s), "JOIN kate");
  k.send("MSG back\r\n");
  EXPECT_EQ(b.line(15s), "MSG kate back");
  EXPECT_EQ(a2.line(15s), "MSG kate back");
  b.send("WHO\r\n");
  EXPECT_EQ(b.sync(), (std::vector<std::string>{"211-alice", "211-bob", "211-kate",
                                                "211 3 users in the room"}));
}

// A Redis that failed over to a replica which had not received alice's
// lease forgets it (here the lease, her place in the room's list and her
// node's record of her are removed by hand, as such a replica lacks them):
// another node's client can take the nick. Its JOIN in the log closes the
// first alice with 525 and no QUIT, on the node that read it, and one alice
// stays for everyone (N-CLU-16).
TEST(ClusterNodes, ANickRedisForgotEndsWithItsLaterHolder)
{
  redis_server srv;
  auto n1 = node(srv, "n1");
  auto n2 = node(srv, "n2");
  client a = registered(n1->chat_port(), "alice");
  client k = registered(n1->chat_port(), "kate");
  client b = registered(n2->chat_port(), "bob");
  EXPECT_EQ(a.sync(), (std::vector<std::string>{"JOIN kate", "JOIN bob"}));
  EXPECT_EQ(k.sync(), (std::vector<std::string>{"JOIN bob"}));
  EXPECT_EQ(srv.command("DEL t:nick:alice"), "1\n");
  EXPECT_EQ(srv.command("HDEL t:room alice"), "1\n");
  EXPECT_EQ(srv.command("SREM t:members:n1 alice"), "1\n");
  client c = registered(n2->chat_port(), "Alice");
  EXPECT_EQ(a.line(), "525 nick lost to another client");
  EXPECT_TRUE(a.closed_within(5s));
  EXPECT_EQ(k.line(), "JOIN Alice"); // no QUIT of the first
  EXPECT_EQ(b.line(), "JOIN Alice");
  for (client* x : {&k, &b, &c})
  {
    x->send("WHO\r\n");
    EXPECT_EQ(x->sync(), (std::vector<std::string>{"211-Alice", "211-bob", "211-kate",
                                                   "211 3 users in the room"}));
  }
  // The nick stays Alice's: her node renews her lease, the first alice's
  // departure removed nothing of hers.
  client d("127.0.0.1", n1->chat_port());
  d.line();
  d.send("NICK alice\r\n");
  EXPECT_EQ(d.line(), "433 alice nick already in use");
}

TEST(ClusterNodes, ANickRaceAcrossNodesHasOneWinner)
{
  redis_server srv;
  auto n1 = node(srv, "n1");
  auto n2 = node(srv, "n2");
  for (int round = 0; round < 20; ++round)
  {
    const std::string nick = "racer" + std::to_string(round);
    client a("127.0.0.1", n1->chat_port());
    client b("127.0.0.1", n2->chat_port());
    a.line();
    b.line();
    a.send("NICK " + nick + "\r\n");
    b.send("NICK " + nick + "\r\n");
    const std::string ra = a.line();
    const std::string rb = b.line();
    const int wins = (ra.starts_with("200 ") ? 1 : 0) + (rb.starts_with("200 ") ? 1 : 0);
    EXPECT_EQ(wins, 1) << ra << " / " << rb;
  }
}

TEST(ClusterNodes, EveryClientOfThreeNodesSeesOneOrder)
{
  redis_server srv;
  std::vector<std::unique_ptr<natterd_process>> nodes;
  for (const char* name : {"n1", "n2", "n3"})
    nodes.push_back(node(srv, name));
  constexpr int clients = 300;
  constexpr int each = 3;
  std::vector<client> cs;
  for (int i = 0; i < clients; ++i)
  {
    cs.push_back(registered(nodes[i % 3]->chat_port(), "c" + std::to_string(i)));
    cs.back().send("IDS\r\n"); // its own messages too: every sequence is the whole log
  }
  // Everyone is in the room on every node before anyone talks.
  for (auto& c : cs)
    c.sync("in");
  for (int k = 0; k < each; ++k)
    for (int i = 0; i < clients; ++i)
      cs[i].send("MSG " + std::to_string(i) + "-" + std::to_string(k) + "\r\n");
  std::vector<std::string> first;
  for (int i = 0; i < clients; ++i)
  {
    std::vector<std::string> got;
    const auto end = std::chrono::steady_clock::now() + 60s;
    while (got.size() < std::size_t{clients * each} && std::chrono::steady_clock::now() < end)
    {
      const std::string l = cs[i].line(10s);
      if (l == "<timeout>" || l == "<closed>")
        break;
      if (l.starts_with("MSG "))
        got.push_back(l);
    }
    ASSERT_EQ(got.size(), std::size_t{clients * each}) << "client " << i;
    // Nothing twice, nothing missing, and the same order as client 0's.
    EXPECT_EQ(std::set<std::string>(got.begin(), got.end()).size(), got.size()) << i;
    if (i == 0)
      first = got;
    else
      EXPECT_EQ(got, first) << "client " << i << " saw another order";
  }
}

TEST(ClusterNodes, AKilledNodesClientsLeaveOnceAndTheirNicksAreFree)
{
  redis_server srv;
  auto n1 = node(srv, "n1", {"--node-timeout", "1"});
  auto n2 = node(srv, "n2", {"--node-timeout", "1"});
  auto doomed = node(srv, "doomed", {"--node-timeout", "1"});
  client a = registered(n1->chat_port(), "alice");
  client b = registered(n2->chat_port(), "bob");
  std::vector<client> lost;
  for (int i = 0; i < 3; ++i)
    lost.push_back(registered(doomed->chat_port(), "d" + std::to_string(i)));
  a.sync();
  b.sync();
  doomed->signal(SIGKILL);
  ASSERT_NE(doomed->wait_exit(5s), -1);
  // Within the node timeout and a beat: three QUITs, each once (N-CLU-13).
  for (client* c : {&a, &b})
  {
    std::multiset<std::string> quits;
    const auto end = std::chrono::steady_clock::now() + 10s;
    while (quits.size() < 3 && std::chrono::steady_clock::now() < end)
    {
      const std::string l = c->line(10s);
      if (l.starts_with("QUIT "))
        quits.insert(l);
      else if (l == "<timeout>")
        break;
    }
    EXPECT_EQ(quits, (std::multiset<std::string>{"QUIT d0 node lost", "QUIT d1 node lost",
                                                 "QUIT d2 node lost"}));
    EXPECT_TRUE(c->sync().empty()); // and no fourth
  }
  client again = registered(n2->chat_port(), "d1");
}

TEST(ClusterNodes, APausedRedisLosesNoMessageAndRefusesOnlyPastTheBacklog)
{
  redis_server srv;
  auto n1 = node(srv, "n1", {"--redis-backlog", "5", "--metrics", "0"});
  auto n2 = node(srv, "n2", {"--redis-backlog", "5"});
  client a = registered(n1->chat_port(), "alice");
  client b = registered(n2->chat_port(), "bob");
  a.sync();
  srv.pause(); // SIGSTOP
  const auto paused = std::chrono::steady_clock::now();
  // The node finds Redis gone within its timeouts (N-CLU-20) and says so;
  // a command sent before that would wait for Redis (N-CLU-10), so the
  // test waits for the log line, boundedly.
  for (int i = 0; i < 200 && n1->log().find("cluster: reading the log") == std::string::npos; ++i)
    std::this_thread::sleep_for(50ms);
  ASSERT_NE(n1->log().find("cluster: reading the log"), std::string::npos) << n1->log();
  a.send("NICK probe\r\n");
  EXPECT_EQ(a.line(), "450 NICK try again later"); // N-CLU-19
  for (int i = 0; i < 6; ++i)
    a.send("MSG m" + std::to_string(i) + "\r\n");
  EXPECT_EQ(a.sync(), std::vector<std::string>{"450 MSG try again later"}); // the sixth
  a.send("ECHO still here\r\nTELL bob x\r\n");
  EXPECT_EQ(a.sync(), (std::vector<std::string>{"ECHO still here", "450 TELL try again later"}));
  // A scrape does not wait on Redis, and shows the node cut off with its
  // backlog full (N-METRICS-7).
  const std::string cut = metrics_body(n1->metrics_port());
  EXPECT_EQ(metric(cut, "natter_cluster_connected"), 0) << cut;
  EXPECT_EQ(metric(cut, "natter_cluster_backlog_messages"), 5) << cut;
  EXPECT_EQ(metric(cut, "natter_cluster_backlog_refusals_total"), 1) << cut;
  std::this_thread::sleep_until(paused + 5s); // an outage of 5 s in all
  srv.resume();
  // Every held message arrives, in order, once (N-CLU-18, N-CLU-21).
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(b.line(15s), "MSG alice m" + std::to_string(i));
  EXPECT_TRUE(b.sync().empty());
  // One outage, counted once however many of the node's threads saw it.
  EXPECT_TRUE(a.sync().empty());
  const std::string back = metrics_body(n1->metrics_port());
  EXPECT_EQ(metric(back, "natter_cluster_connected"), 1) << back;
  EXPECT_EQ(metric(back, "natter_cluster_redis_reconnects_total"), 1) << back;
  EXPECT_EQ(metric(back, "natter_cluster_backlog_messages"), 0) << back;
}

TEST(ClusterNodes, RedisRestartedEmptyIsAGapAndServiceGoesOn)
{
  redis_server srv;
  auto n1 = node(srv, "n1", {"--metrics", "0"});
  auto n2 = node(srv, "n2");
  client a = registered(n1->chat_port(), "alice");
  client b = registered(n2->chat_port(), "bob");
  a.send("IDS\r\nMSG one\r\n");
  a.sync();
  b.sync();
  srv.restart(true);
  // Each node reports the gap once (N-CLU-23), in the new epoch at 0.
  for (client* c : {&a, &b})
  {
    std::string l;
    for (int i = 0; i < 20 && !l.starts_with("GAP "); ++i)
      l = c->line(15s);
    ASSERT_TRUE(l.starts_with("GAP ")) << l;
    EXPECT_TRUE(l.ends_with(" 0")) << l;
  }
  // The nodes registered their clients again: the room goes on.
  std::string got;
  for (int i = 0; i < 50 && got != "MSG bob after"; ++i)
  {
    b.send("MSG after\r\n");
    b.sync();
    got = a.line(2s);
    while (got.starts_with("JOIN ") || got.starts_with("MSG alice"))
      got = a.line(2s);
  }
  EXPECT_EQ(got, "MSG bob after");
  // Counted (N-METRICS-7): one gap, and the connections made again.
  const std::string m = metrics_body(n1->metrics_port());
  EXPECT_EQ(metric(m, "natter_cluster_gaps_total"), 1) << m;
  EXPECT_GE(metric(m, "natter_cluster_redis_reconnects_total"), 1) << m;
  EXPECT_EQ(metric(m, "natter_cluster_connected"), 1) << m;
}

} // namespace
} // namespace natter::test
