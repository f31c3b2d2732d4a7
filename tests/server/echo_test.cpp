// The RFC 862 echo service (spec section 14).
#include "natterd_process.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace
{

using namespace natter::test;
using namespace std::chrono_literals;

TEST(Echo, AllOctetValuesComeBackUnchanged)
{
  natterd_process d;
  client e("::1", d.echo_port());
  std::string all;
  for (int i = 0; i < 256; ++i)
    all.push_back(static_cast<char>(i));
  e.send(all + all);
  EXPECT_EQ(e.read_bytes(512), all + all); // [N-ECHOSVC-1], [N-ECHOSVC-2]
}

TEST(Echo, HalfCloseFinishesTheEchoThenCloses)
{
  natterd_process d;
  client e("127.0.0.1", d.echo_port());
  const std::string data(100000, 'h');
  e.send(data);
  e.shutdown_send();
  EXPECT_EQ(e.read_bytes(data.size() + 1), data); // then EOF [N-ECHOSVC-3]
}

TEST(Echo, EightMebibytesWhileReadingConcurrently)
{
  natterd_process d;
  client e("127.0.0.1", d.echo_port());
  const std::size_t total = 8u << 20;
  std::string got;
  std::thread reader([&] { got = e.read_bytes(total, 60s); });
  std::string chunk(1 << 16, '\0');
  for (std::size_t i = 0; i < chunk.size(); ++i)
    chunk[i] = static_cast<char>(i * 7);
  for (std::size_t sent = 0; sent < total; sent += chunk.size())
    e.send(chunk);
  reader.join();
  ASSERT_EQ(got.size(), total);
  for (std::size_t i = 0; i < total; i += chunk.size())
    ASSERT_EQ(got.compare(i, chunk.size(), chunk), 0);
}

TEST(Echo, SenderThatNeverReadsKeepsMemoryFlat)
{
  natterd_process d;
  client e("127.0.0.1", d.echo_port(), 4096);
  const long before = d.rss_kib();
  const std::string chunk(1 << 16, 'n');
  std::size_t sent = 0;
  for (int i = 0; i < 512; ++i) // at most 32 MiB
  {
    const std::size_t n = e.try_send(chunk);
    if (n == 0)
    {
      std::this_thread::sleep_for(20ms);
      if (e.try_send(chunk) == 0)
        break;
    }
    sent += n;
  }
  EXPECT_LT(sent, 32u << 20); // natterd stopped reading [N-ECHOSVC-4]
  NATTER_EXPECT_RSS_GROWTH_BELOW(d, before, 8 * 1024);
  // The chat service is unaffected.
  client c = registered(d.chat_port(), "still");
}

TEST(Echo, MaxClientsClosesTheExtraOne)
{
  natterd_process d({"--echo-max-clients", "1"});
  client a("127.0.0.1", d.echo_port());
  a.send("x");
  EXPECT_EQ(a.read_bytes(1), "x");
  client b("127.0.0.1", d.echo_port());
  EXPECT_TRUE(b.closed_within(5s)); // [N-ECHOSVC-5]
}

} // namespace
