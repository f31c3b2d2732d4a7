// --peer (conformance/runner/spread.hpp): which of a case's clients go to
// the peer, and the HOST:PORT it takes.
#include "spread.hpp"

#include "case_file.hpp"
#include "matcher.hpp"

#include <gtest/gtest.h>

namespace
{

using natter::conform::case_error;
using natter::conform::client_names;
using natter::conform::parse_address;
using natter::conform::parse_case_file;
using natter::conform::peer_clients;
using strings = std::vector<std::string>;

natter::conform::test_case one_case(const std::string& session)
{
  const auto cases = parse_case_file("# 1 T\n\n### t\n<!-- meta={\"id\": \"1/1\"} -->\n"
                                     "> [N-A-1]\n\n```session\n" +
                                         session + "```\n",
                                     "x.md");
  EXPECT_EQ(cases.size(), 1U);
  return cases.at(0);
}

TEST(ConformSpread, AlternatesInTheOrderTheCaseFirstNamesItsClients)
{
  // c is named first inside a repeat, a again later: order of first naming.
  const auto tc = one_case("b: register $b\n"
                           "a: register $a\n"
                           "repeat 2\n"
                           "  c> PING ${i}\n"
                           "  c< PONG ${i}\n"
                           "end\n"
                           "a> PING x\n"
                           "a< PONG x\n"
                           "d: register $d\n"
                           "e: connect\n");
  EXPECT_EQ(client_names(tc), (strings{"b", "a", "c", "d", "e"}));
  EXPECT_EQ(peer_clients(tc), (strings{"a", "d"}));
}

TEST(ConformSpread, TwoClientsOnePerAddress)
{
  const auto tc = one_case("x: register $x\ny: register $y\n");
  EXPECT_EQ(peer_clients(tc), (strings{"y"}));
}

TEST(ConformSpread, ASingleClientCaseStaysOnTheMainAddress)
{
  const auto tc = one_case("c> PING 1\nc< PONG 1\nc: close\nc: connect\nc> PING 2\nc< PONG 2\n");
  EXPECT_EQ(client_names(tc), (strings{"c"}));
  EXPECT_TRUE(peer_clients(tc).empty());
}

TEST(ConformSpread, ParsesHostAndPort)
{
  const auto a = parse_address("127.0.0.1:7001");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 7001);
  const auto b = parse_address("node2.example:65535");
  EXPECT_EQ(b.host, "node2.example");
  EXPECT_EQ(b.port, 65535);
  const auto c = parse_address("[::1]:7777");
  EXPECT_EQ(c.host, "::1");
  EXPECT_EQ(c.port, 7777);
}

TEST(ConformSpread, RefusesWhatIsNotHostAndPort)
{
  for (const char* bad : {"", "localhost", ":7777", "host:", "host:0", "host:65536", "host:7x",
                          "::1:7777", "host:-1"})
    EXPECT_THROW(parse_address(bad), case_error) << bad;
}

} // namespace
