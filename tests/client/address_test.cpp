#include "natter/client/address.hpp"

#include <gtest/gtest.h>

namespace natter::client
{
namespace
{

// Issue 4: "natter [...] [HOST[:PORT]] -- defaults: localhost:7777 [...]
// [::1]:7777 style IPv6 addresses work."

TEST(HostPort, HostAlone)
{
  const host_port hp = parse_host_port("example.org", 7777);
  ASSERT_TRUE(hp) << hp.error;
  EXPECT_EQ(hp.host, "example.org");
  EXPECT_EQ(hp.port, 7777);
}

TEST(HostPort, HostAndPort)
{
  const host_port hp = parse_host_port("127.0.0.1:6000", 7777);
  ASSERT_TRUE(hp) << hp.error;
  EXPECT_EQ(hp.host, "127.0.0.1");
  EXPECT_EQ(hp.port, 6000);
}

TEST(HostPort, BracketedIpv6WithPort)
{
  const host_port hp = parse_host_port("[::1]:7000", 7777);
  ASSERT_TRUE(hp) << hp.error;
  EXPECT_EQ(hp.host, "::1");
  EXPECT_EQ(hp.port, 7000);
}

TEST(HostPort, BracketedIpv6WithoutPort)
{
  const host_port hp = parse_host_port("[fe80::1]", 7777);
  ASSERT_TRUE(hp) << hp.error;
  EXPECT_EQ(hp.host, "fe80::1");
  EXPECT_EQ(hp.port, 7777);
}

TEST(HostPort, BareIpv6TakesTheDefaultPort)
{
  const host_port hp = parse_host_port("::1", 7777);
  ASSERT_TRUE(hp) << hp.error;
  EXPECT_EQ(hp.host, "::1");
  EXPECT_EQ(hp.port, 7777);
}

TEST(HostPort, PortBounds)
{
  EXPECT_TRUE(parse_host_port("h:1", 7));
  EXPECT_TRUE(parse_host_port("h:65535", 7));
  EXPECT_FALSE(parse_host_port("h:0", 7));
  EXPECT_FALSE(parse_host_port("h:65536", 7));
  EXPECT_FALSE(parse_host_port("h:123456", 7));
}

TEST(HostPort, RejectsMalformed)
{
  for (const char* bad : {"", ":7777", "h:", "h:x", "h:7a", "[::1", "[]:7", "[::1]7", "[::1]:"})
    EXPECT_FALSE(parse_host_port(bad, 7777)) << bad;
}

TEST(HostPort, ErrorNamesTheProblem)
{
  EXPECT_NE(parse_host_port("h:99999", 7777).error.find("99999"), std::string::npos);
}

TEST(HostPort, FormatsBackWithBracketsForIpv6)
{
  EXPECT_EQ(to_string(parse_host_port("[::1]:7000", 1)), "[::1]:7000");
  EXPECT_EQ(to_string(parse_host_port("localhost", 7777)), "localhost:7777");
}

} // namespace
} // namespace natter::client
