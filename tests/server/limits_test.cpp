// Limits, flood control, slow consumers and timeouts (spec sections 9-12).
#include "natterd_process.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace
{

using namespace natter::test;
using namespace std::chrono_literals;
using lines = std::vector<std::string>;
using steady = std::chrono::steady_clock;

TEST(Limits, MaxClientsGets503)
{
  natterd_process d({"--max-clients", "3"});
  std::vector<client> cs;
  for (int i = 0; i < 3; ++i)
  {
    cs.emplace_back("127.0.0.1", d.chat_port());
    EXPECT_EQ(cs.back().line(), d.greeting());
  }
  client extra("127.0.0.1", d.chat_port());
  EXPECT_EQ(extra.line(), "503 server full"); // [N-LIMIT-4]
  EXPECT_TRUE(extra.closed_within(5s));
  cs.pop_back();
  // The freed slot is reusable once natterd has noticed the close.
  std::string greeting;
  for (int i = 0; i < 100 && greeting != d.greeting(); ++i)
  {
    client again("127.0.0.1", d.chat_port());
    greeting = again.line();
    if (greeting != d.greeting())
      std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(greeting, d.greeting());
}

TEST(Limits, PerAddressLimitWithoutLoopbackExemption)
{
  natterd_process d({"--max-per-ip", "2", "--no-loopback-exempt"});
  client a("127.0.0.1", d.chat_port());
  client b("::1", d.chat_port());
  client c("127.0.0.1", d.chat_port());
  EXPECT_EQ(a.line(), d.greeting());
  EXPECT_EQ(b.line(), d.greeting());
  EXPECT_EQ(c.line(), d.greeting());
  client d3("127.0.0.1", d.chat_port());
  EXPECT_EQ(d3.line(), "504 too many connections from your address"); // [N-LIMIT-5]
}

TEST(Limits, LoopbackIsExemptByDefault)
{
  natterd_process d({"--max-per-ip", "1"});
  client a("127.0.0.1", d.chat_port());
  client b("127.0.0.1", d.chat_port());
  EXPECT_EQ(a.line(), d.greeting());
  EXPECT_EQ(b.line(), d.greeting()); // [N-LIMIT-7]
}

TEST(Limits, RegistrationTimeoutIsNotExtendedByTrickledBytes)
{
  natterd_process d({"--registration-timeout", "1"});
  client a("127.0.0.1", d.chat_port());
  EXPECT_EQ(a.line(), d.greeting());
  const auto start = steady::now();
  std::string got;
  for (int i = 0; i < 40 && got.empty(); ++i)
  {
    a.try_send(i % 5 == 4 ? "\r\n" : "x");
    if (i % 10 == 9)
      a.try_send("PING x\r\n");
    const std::string l = a.line(100ms);
    if (l.starts_with("5"))
      got = l;
  }
  EXPECT_EQ(got, "522 registration timeout"); // [N-CONN-4], [N-CONN-5]
  EXPECT_LT(steady::now() - start, 2500ms);
  EXPECT_TRUE(a.closed_within(5s));
}

TEST(Limits, IdleTimeoutTellsTheOthers)
{
  natterd_process d({"--idle-timeout", "1"});
  client a = registered(d.chat_port(), "a");
  client b = registered(d.chat_port(), "b");
  // b keeps talking; a says nothing.
  std::string seen;
  for (int i = 0; i < 30 && seen.empty(); ++i)
  {
    b.send("PING k\r\n");
    for (const auto& l : b.sync("k"))
      if (l.starts_with("QUIT"))
        seen = l;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(seen, "QUIT a idle timeout");
  lines tail;
  for (std::string l = a.line(); l != "<closed>" && l != "<timeout>"; l = a.line())
    tail.push_back(l);
  ASSERT_FALSE(tail.empty());
  EXPECT_EQ(tail.back(), "523 idle timeout"); // [N-CONN-6]
}

TEST(Limits, FloodControlSlowsButDropsNothing)
{
  natterd_process d({"--rate", "200"});
  client a("127.0.0.1", d.chat_port());
  EXPECT_EQ(a.line(), d.greeting());
  std::string many;
  for (int i = 0; i < 300; ++i)
    many += "PING " + std::to_string(i) + "\r\n";
  const auto start = steady::now();
  a.send(many);
  for (int i = 0; i < 300; ++i)
    ASSERT_EQ(a.line(), "PONG " + std::to_string(i)); // [N-FLOOD-4]
  // 100 at once, then 200 more at 200/s: about a second.
  EXPECT_GE(steady::now() - start, 800ms); // [N-FLOOD-3]
}

TEST(Limits, SlowConsumerIsDroppedWhileAFastOneGetsEverything)
{
  natterd_process d({"--rate", "0", "--max-sendq", "200000"});
  client slow("127.0.0.1", d.chat_port(), 4096);
  slow.send("NICK slow\r\n");
  client fast = registered(d.chat_port(), "fast");
  client talker = registered(d.chat_port(), "talker");
  const std::string text(900, 'm');
  std::size_t received = 0;
  std::size_t sent = 0;
  bool quit_seen = false;
  // Until the slow one is dropped (the kernel's buffers absorb a first
  // part), and two rounds beyond; bounded.
  for (int round = 0, after = 0; round < 100 && after < 2; ++round, after += quit_seen)
  {
    sent += 100;
    std::string batch;
    for (int i = 0; i < 100; ++i)
      batch += "MSG " + text + "\r\n";
    talker.send(batch);
    talker.sync();
    for (const auto& l : fast.sync())
    {
      received += l.starts_with("MSG talker ");
      quit_seen = quit_seen || l == "QUIT slow send queue exceeded";
    }
  }
  EXPECT_EQ(received, sent); // [N-SLOW-5]
  EXPECT_TRUE(quit_seen);    // [N-SLOW-2]
  EXPECT_TRUE(slow.closed_within(10s));
}

TEST(Limits, NonReaderSpammingWhoStaysBounded)
{
  natterd_process d({"--rate", "0"});
  std::vector<client> crowd;
  for (int i = 0; i < 50; ++i)
    crowd.push_back(registered(d.chat_port(), "crowd" + std::to_string(i)));
  client spammer = registered(d.chat_port(), "spammer", "127.0.0.1", 4096);
  const long rss_before = d.rss_kib();
  std::string who;
  for (int i = 0; i < 1000; ++i)
    who += "WHO\r\n";
  std::size_t sent = 0;
  for (int i = 0; i < 2000; ++i)
  {
    const std::size_t n = spammer.try_send(who);
    sent += n;
    if (n == 0)
      break;
  }
  // natterd stopped reading: the spammer's socket buffers filled up.
  EXPECT_LT(sent, 2000u * who.size());
  crowd[0].send("WHO\r\n");
  EXPECT_EQ(crowd[0].sync().back(), "211 51 users in the room");
  NATTER_EXPECT_RSS_GROWTH_BELOW(d, rss_before, 16 * 1024); // [N-SLOW-1]
}

} // namespace
