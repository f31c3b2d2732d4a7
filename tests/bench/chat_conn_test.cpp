#include "natter/bench/chat_conn.hpp"

#include "support/loopback_listener.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
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

  EXPECT_EQ(start_connections(conns, started, in_setup, 2, ep, false, poll).count, 0u);
  EXPECT_EQ(started, 2u);
  EXPECT_EQ(in_setup, 2u);
  EXPECT_EQ(conns[1].st, chat_conn::state::connecting);
  EXPECT_EQ(conns[2].st, chat_conn::state::idle);

  // Two in setup: nothing more starts until one of them is done.
  start_connections(conns, started, in_setup, 2, ep, false, poll);
  EXPECT_EQ(started, 2u);
  --in_setup;
  start_connections(conns, started, in_setup, 2, ep, false, poll);
  EXPECT_EQ(started, 3u);
  EXPECT_EQ(in_setup, 2u);

  // The last ones, in index order; then there is nothing left to start.
  in_setup = 0;
  start_connections(conns, started, in_setup, 10, ep, false, poll);
  EXPECT_EQ(started, 5u);
  EXPECT_EQ(in_setup, 2u);
  for (const chat_conn& c : conns)
    EXPECT_EQ(c.st, chat_conn::state::connecting);
  start_connections(conns, started, in_setup, 10, ep, false, poll);
  EXPECT_EQ(started, 5u);

  for (chat_conn& c : conns)
    close_conn(c, poll);
}

} // namespace
} // namespace natter::bench
