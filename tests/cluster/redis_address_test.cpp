#include "natter/cluster/redis.hpp"

#include <gtest/gtest.h>

namespace
{

using natter::cluster::redis_address;

TEST(RedisAddress, TcpWithPortAndDatabase)
{
  const auto a = redis_address::parse("redis://10.0.0.7:6380/3");
  EXPECT_EQ(a.host, "10.0.0.7");
  EXPECT_EQ(a.port, 6380);
  EXPECT_EQ(a.db, 3u);
  EXPECT_TRUE(a.password.empty());
  EXPECT_EQ(a.shown(), "redis://10.0.0.7:6380/3");
}

TEST(RedisAddress, PasswordIsDecodedAndNeverShown)
{
  const auto a = redis_address::parse("redis://:s%40cret:x@redis.example:6379");
  EXPECT_EQ(a.password, "s@cret:x");
  EXPECT_EQ(a.host, "redis.example");
  EXPECT_EQ(a.shown(), "redis://:***@redis.example:6379");
}

TEST(RedisAddress, DefaultPortIPv6AndUnixSockets)
{
  EXPECT_EQ(redis_address::parse("redis://localhost").port, 6379);
  const auto six = redis_address::parse("redis://[::1]:7000");
  EXPECT_EQ(six.host, "::1");
  EXPECT_EQ(six.port, 7000);
  EXPECT_EQ(six.shown(), "redis://[::1]:7000");
  const auto u = redis_address::parse("unix:///run/redis/redis.sock");
  EXPECT_EQ(u.socket_path, "/run/redis/redis.sock");
  EXPECT_EQ(u.shown(), "unix:///run/redis/redis.sock");
}

TEST(RedisAddress, BadUrlsAreRefusedWithTheReason)
{
  for (const char* bad :
       {"http://h:1", "redis://", "redis://h:0", "redis://h:65536", "redis://h:x", "redis://h:1/db",
        "redis://user@h:1", "unix://relative", "redis://[::1:7000"})
    EXPECT_THROW(redis_address::parse(bad), std::invalid_argument) << bad;
}

} // namespace
