// natter-bench fanout --ports (src/natter/bench/ports.hpp): the list it
// takes and which node each client goes to.
#include "natter/bench/ports.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace
{

using natter::bench::node_of;
using natter::bench::parse_pids;
using natter::bench::parse_ports;
using ports = std::vector<unsigned short>;

TEST(BenchPorts, ParsesAListOfPorts)
{
  EXPECT_EQ(parse_ports("7001"), (ports{7001}));
  EXPECT_EQ(parse_ports("7001,7002"), (ports{7001, 7002}));
  EXPECT_EQ(parse_ports("1,65535,80"), (ports{1, 65535, 80}));
}

TEST(BenchPorts, RefusesWhatIsNotAListOfDistinctPorts)
{
  for (const char* bad : {"", ",", "7001,", ",7001", "7001,,7002", "0", "65536", "70x1", "-1",
                          "7001 ,7002", "7001,7001"})
    EXPECT_THROW(parse_ports(bad), std::invalid_argument) << bad;
}

TEST(BenchPorts, ParsesServerPids)
{
  EXPECT_EQ(parse_pids("0"), (std::vector<int>{}));
  EXPECT_EQ(parse_pids(""), (std::vector<int>{}));
  EXPECT_EQ(parse_pids("4242"), (std::vector<int>{4242}));
  EXPECT_EQ(parse_pids("10,20,30"), (std::vector<int>{10, 20, 30}));
  for (const char* bad : {"0,1", "1,0", "1,,2", "x", "1,1", "-3"})
    EXPECT_THROW(parse_pids(bad), std::invalid_argument) << bad;
}

TEST(BenchPorts, SpreadsRoundRobin)
{
  // Receivers 0..4 and senders 0..2 over two nodes, then three.
  const std::vector<std::size_t> two{0, 1, 0, 1, 0};
  const std::vector<std::size_t> three{0, 1, 2, 0, 1};
  for (std::size_t i = 0; i < 5; ++i)
  {
    EXPECT_EQ(node_of(i, 2), two[i]) << i;
    EXPECT_EQ(node_of(i, 3), three[i]) << i;
    EXPECT_EQ(node_of(i, 1), 0U) << i;
  }
}

} // namespace
