#include "natter/bench/chat_conn.hpp"

#include "support/loopback_listener.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace natter::bench
{
namespace
{

using test::loopback_listener;

TEST(BenchChatConn, StartConnectionsKeepsAtMostConcurrencyInSetup)
{
  loopback_listener l;
  ASSERT_NE(l.port(), 0);
  const endpoint ep = resolve_loopback("127.0.0.1", l.port());
  poller poll;
  std::vector<chat_conn> conns(5);
  std::size_t started = 0, in_setup = 0;

  EXPECT_EQ(start_connections(conns, started, in_setup, 2, {&ep, 1}, false, poll).count, 0u);
  EXPECT_EQ(started, 2u);
  EXPECT_EQ(in_setup, 2u);
  EXPECT_EQ(conns[1].st, chat_conn::state::connecting);
  EXPECT_EQ(conns[2].st, chat_conn::state::idle);

  // Two in setup: nothing more starts until one of them is done.
  start_connections(conns, started, in_setup, 2, {&ep, 1}, false, poll);
  EXPECT_EQ(started, 2u);
  --in_setup;
  start_connections(conns, started, in_setup, 2, {&ep, 1}, false, poll);
  EXPECT_EQ(started, 3u);
  EXPECT_EQ(in_setup, 2u);

  // The last ones, in index order; then there is nothing left to start.
  in_setup = 0;
  start_connections(conns, started, in_setup, 10, {&ep, 1}, false, poll);
  EXPECT_EQ(started, 5u);
  EXPECT_EQ(in_setup, 2u);
  for (const chat_conn& c : conns)
    EXPECT_EQ(c.st, chat_conn::state::connecting);
  start_connections(conns, started, in_setup, 10, {&ep, 1}, false, poll);
  EXPECT_EQ(started, 5u);

  for (chat_conn& c : conns)
    close_conn(c, poll);
}

TEST(BenchChatConn, StartConnectionsConnectsEachToItsNode)
{
  // fanout --ports: connection i goes to to[conns[i].node].
  loopback_listener a, b;
  ASSERT_NE(a.port(), 0);
  ASSERT_NE(b.port(), 0);
  const std::vector<endpoint> to{resolve_loopback("127.0.0.1", a.port()),
                                 resolve_loopback("127.0.0.1", b.port())};
  poller poll;
  std::vector<chat_conn> conns(3);
  conns[1].node = 1;
  std::size_t started = 0, in_setup = 0;
  EXPECT_EQ(start_connections(conns, started, in_setup, 10, to, false, poll).count, 0u);
  // a takes two connections and b one: a third accept on b finds none.
  std::vector<int> fds{a.accept(), a.accept(), b.accept()};
  for (const int fd : fds)
    EXPECT_GE(fd, 0);
  const int none = b.accept(std::chrono::milliseconds(200));
  EXPECT_LT(none, 0);
  for (const int fd : fds)
    if (fd >= 0)
      ::close(fd);
  if (none >= 0)
    ::close(none);
  for (chat_conn& c : conns)
    close_conn(c, poll);
}

// Every line of `chunks`, split as split_lines() finds them.
std::vector<std::string> split_all(chat_conn& c, const std::vector<std::string>& chunks)
{
  std::vector<std::string> lines;
  for (const std::string& chunk : chunks)
    split_lines(c, chunk, [&](std::string_view line) { lines.emplace_back(line); });
  return lines;
}

TEST(BenchChatConn, SplitLinesJoinsALineCutAcrossChunks)
{
  // TLS hands over plaintext record by record: a line may end in a later
  // record, or a later one still.
  chat_conn c;
  const std::vector<std::string> lines =
      split_all(c, {"220 natter/1 re", "ady\r\nJOIN a\r", "\nMSG a ", "x", " y\nPONG"});
  EXPECT_EQ(lines, (std::vector<std::string>{"220 natter/1 ready", "JOIN a", "MSG a x y"}));
  EXPECT_EQ(std::string_view(c.hold.data(), c.held), "PONG");
}

TEST(BenchChatConn, SplitLinesCutsALongLineAtTheHeldLimit)
{
  chat_conn c;
  const std::string longer(max_held_line + 500, 'x');
  const std::vector<std::string> lines =
      split_all(c, {longer.substr(0, 700), longer.substr(700), "\nnext\n"});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], longer.substr(0, max_held_line));
  EXPECT_EQ(lines[1], "next");
  EXPECT_EQ(c.held, 0u);
}

TEST(BenchChatConn, SplitLinesStopsWhenALineKillsTheConnection)
{
  chat_conn c;
  std::vector<std::string> seen;
  split_lines(c, "first\nsecond\nthird\n",
              [&](std::string_view line)
              {
                seen.emplace_back(line);
                c.st = chat_conn::state::dead;
              });
  EXPECT_EQ(seen, std::vector<std::string>{"first"});
}

} // namespace
} // namespace natter::bench
