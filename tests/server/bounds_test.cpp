// What one hostile or broken client can make natterd hold, over real
// loopback sockets: memory that must stay bounded whatever the traffic, a
// dropped client's connection that must really close, the totals over all
// clients, the kernel's own buffers, and timers that must not punish input
// natterd itself held back (spec sections 9.2, 9.4, 10, 12 and 14).
#include "natterd_process.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace
{

using namespace natter::test;

// 100 MSG lines of 1000 octets of text: about 100 KB.
std::string msg_batch()
{
  const std::string text(1000, 'x');
  std::string batch;
  for (int i = 0; i < 100; ++i)
    batch += "MSG " + text + "\r\n";
  return batch;
}

// Rounds of msg_batch(): 400 make about 40 MB of room traffic.
constexpr int rounds = 400;

// Sends `line` from `c` until natterd stops reading it (the kernel's
// buffers on both sides are then full), in bounded tries.
void send_until_blocked(client& c, const std::string& chunk)
{
  for (int i = 0; i < 2000 && c.try_send(chunk) > 0; ++i)
  {
  }
}

TEST(Bounds, DroppedNonReaderIsClosedAndHoldsNoLog)
{
  natterd_process d({"--rate", "0"});
  client zombie = registered(d.chat_port(), "zombie", "127.0.0.1", 4096);
  client reader = registered(d.chat_port(), "reader");
  client talker = registered(d.chat_port(), "talker");
  reader.sync();
  const long rss_before = d.rss_kib();
  const std::string batch = msg_batch();
  std::size_t received = 0;
  bool dropped = false;
  for (int round = 0; round < rounds; ++round)
  {
    talker.send(batch);
    talker.sync(); // every line of the batch is queued to its readers now
    for (const auto& l : reader.sync())
    {
      received += l.starts_with("MSG talker ");
      dropped = dropped || l == "QUIT zombie send queue exceeded";
    }
  }
  EXPECT_EQ(received, std::size_t{rounds} * 100); // [N-SLOW-5]
  EXPECT_TRUE(dropped);                           // [N-SLOW-2]
  // The zombie never reads, so only a reset can reach it: natterd must not
  // keep the connection (and the kernel its buffers) open. [N-SLOW-6]
  EXPECT_TRUE(zombie.reset_within(10s));
  // The dropped client's place in the room's log pins nothing: 40 MB went
  // through the room after it stopped reading.
  NATTER_EXPECT_RSS_GROWTH_BELOW(d, rss_before, 12 * 1024); // [N-SLOW-7]
}

TEST(Bounds, MemberWhoOnlyTalksHoldsNoBacklog)
{
  natterd_process d({"--rate", "0"});
  client listener = registered(d.chat_port(), "listener");
  client talker = registered(d.chat_port(), "talker");
  listener.sync();
  const long rss_before = d.rss_kib();
  const std::string batch = msg_batch();
  std::size_t received = 0;
  // The talker sends and never reads or asks anything: it gets no output at
  // all, so nothing but its own messages moves its place in the log.
  for (int round = 0; round < rounds; ++round)
  {
    talker.send(batch);
    for (int i = 0; i < 100; ++i)
      received += listener.line().starts_with("MSG talker ");
  }
  EXPECT_EQ(received, std::size_t{rounds} * 100);
  NATTER_EXPECT_RSS_GROWTH_BELOW(d, rss_before, 8 * 1024); // [N-SLOW-7]
}

TEST(Bounds, TotalCountsOutputStuckBehindFullSockets)
{
  // 40 clients that never read make natterd queue ECHO replies until each
  // is paused at the soft mark, holding more than 64 KiB that no socket
  // takes. 1,000,000 octets in all leaves room for at most 15 of them.
  natterd_process d({"--rate", "0", "--max-total-sendq", "1000000"});
  client watcher = registered(d.chat_port(), "watcher");
  constexpr int stuck_count = 40;
  std::vector<client> stuck;
  for (int i = 0; i < stuck_count; ++i)
    stuck.push_back(registered(d.chat_port(), "stuck" + std::to_string(i), "127.0.0.1", 4096));
  const std::string echo = "ECHO " + std::string(1000, 'e') + "\r\n";
  std::string chunk;
  for (int i = 0; i < 64; ++i)
    chunk += echo;
  for (auto& c : stuck)
    send_until_blocked(c, chunk);
  // A client's socket fills while natterd may still be working through its
  // last read on another thread, so the drops are waited for, line by line,
  // for at most 5 s.
  const int expected = stuck_count - 1'000'000 / 65'536;
  int quits = 0;
  for (int i = 0; i < 50 && quits < expected; ++i)
    for (std::string l = watcher.line(100ms); l != "<timeout>"; l = watcher.line(100ms))
      quits += l.starts_with("QUIT stuck") && l.ends_with(" send queue exceeded");
  EXPECT_GE(quits, expected); // [N-SLOW-4]
  watcher.send("WHO\r\n");
  EXPECT_EQ(watcher.sync().back(),
            "211 " + std::to_string(stuck_count + 1 - quits) + " users in the room");
}

TEST(Bounds, IdleTimerWaitsWhileFloodControlHoldsInput)
{
  // 161 lines at once against a burst of 100 and 20 lines/s: the last 61
  // are held for about 3 s, longer than the idle timeout of 2 s.
  natterd_process d({"--idle-timeout", "2", "--rate", "20"});
  client c("127.0.0.1", d.chat_port());
  std::string burst = "NICK bot\r\n";
  for (int i = 1; i <= 160; ++i)
    burst += "PING " + std::to_string(i) + "\r\n";
  c.send(burst);
  EXPECT_EQ(c.line(), d.greeting());
  EXPECT_EQ(c.line(), "200 bot nick accepted");
  for (int i = 1; i <= 160; ++i)
    ASSERT_EQ(c.line(), "PONG " + std::to_string(i)); // [N-CONN-10], [N-FLOOD-4]
  // Idle from here on: now the timeout applies. [N-CONN-6]
  EXPECT_EQ(c.line(5s), "523 idle timeout");
}

TEST(Bounds, TelnetSequencesDoNotHideAnHttpRequest)
{
  natterd_process d;
  for (const std::string request :
       {"\xff\xf1GET / HTTP/1.1\r\nHost: x\r\n\r\n", "GE\xff\xf1T / HTTP/1.1\r\nHost: x\r\n\r\n",
        "\xff\xfd\x01POST / HTTP/1.1\r\nHost: x\r\n\r\n"})
  {
    client web("127.0.0.1", d.chat_port());
    web.send(request);
    EXPECT_EQ(web.line(), d.greeting());
    std::string l = web.line();
    if (l.starts_with('\xff'))
    {
      EXPECT_EQ(l.substr(0, 3), "\xff\xfc\x01"); // IAC WONT 1 [N-TELNET-10]
      l = l.substr(3);
    }
    EXPECT_EQ(l, "500 this port speaks natter, a line-based chat protocol"); // [N-CONN-2]
    EXPECT_TRUE(web.closed_within(5s));
  }
}

TEST(Bounds, OverlongLineIsDiscardedAsItArrives)
{
  // Flood control off, so the line comes as fast as natterd reads it: all
  // 64 MiB of it pass through natterd's memory, none may stay there.
  natterd_process d({"--rate", "0"});
  client c = registered(d.chat_port(), "long");
  const long rss_before = d.rss_kib();
  c.send("ECHO ");
  const std::string chunk(1 << 20, 'z');
  for (int i = 0; i < 64; ++i)
    c.send(chunk);
  c.send("\r\nPING after\r\n");
  EXPECT_TRUE(c.line().starts_with("413 "));               // [N-FRAME-8]
  EXPECT_EQ(c.line(), "PONG after");                       // [N-FRAME-11]
  NATTER_EXPECT_RSS_GROWTH_BELOW(d, rss_before, 8 * 1024); // [N-FRAME-10]
}

TEST(Bounds, EchoServiceHoldsAtMostItsTotal)
{
  natterd_process d({"--echo-max-total-sendq", "1048576"});
  const long rss_before = d.rss_kib();
  constexpr int count = 80;
  std::vector<client> stuck;
  for (int i = 0; i < count; ++i)
    stuck.emplace_back("127.0.0.1", d.echo_port(), 4096);
  const std::string chunk(256 * 1024, 'e');
  for (auto& c : stuck)
    send_until_blocked(c, chunk);
  // Each connection held up to 256 KiB of echo its socket refused; all of
  // them together may hold 1 MiB. [N-ECHOSVC-9]
  int closed = 0;
  const auto until = std::chrono::steady_clock::now() + 3s;
  for (auto& c : stuck)
    closed += c.reset_within(std::max(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          until - std::chrono::steady_clock::now()),
                                      0ms));
  EXPECT_GE(closed, count / 2);
  NATTER_EXPECT_RSS_GROWTH_BELOW(d, rss_before, 6 * 1024);
  client fresh("127.0.0.1", d.echo_port());
  fresh.send("still here\n");
  EXPECT_EQ(fresh.read_bytes(11), "still here\n"); // [N-ECHOSVC-1]
}

TEST(Bounds, KernelSendBufferOfANonReaderIsCapped)
{
  // A large --max-sendq keeps the client connected while natterd's side
  // of its socket fills up.
  natterd_process d({"--rate", "0", "--max-sendq", "67108864"});
  client zombie = registered(d.chat_port(), "zombie", "127.0.0.1", 4096);
  client talker = registered(d.chat_port(), "talker");
  const std::string batch = msg_batch();
  for (int round = 0; round < 50; ++round)
    talker.send(batch);
  talker.sync();
  const long queued = d.kernel_send_queue(d.chat_port(), zombie.local_port());
  EXPECT_GT(queued, 0);
  EXPECT_LE(queued, 2 * 64 * 1024); // --sndbuf 64 KiB, doubled by the kernel [N-SLOW-8]
}

TEST(Bounds, PeerWithAShutWindowIsDroppedAfterTheUserTimeout)
{
  natterd_process d({"--rate", "0", "--max-sendq", "67108864", "--tcp-user-timeout", "2"});
  client zombie = registered(d.chat_port(), "zombie", "127.0.0.1", 4096);
  client observer = registered(d.chat_port(), "observer");
  client talker = registered(d.chat_port(), "talker");
  observer.sync();
  const std::string batch = msg_batch();
  for (int round = 0; round < 10; ++round)
  {
    talker.send(batch);
    talker.sync();
    observer.sync();
  }
  // The zombie's window is shut and natterd's output waits behind it; its
  // kernel gives up after 2 s of that. Each wait is for a line, bounded.
  bool quit = false;
  for (int i = 0; i < 30 && !quit; ++i)
    quit = observer.line(1s) == "QUIT zombie connection closed"; // [N-SLOW-8]
  EXPECT_TRUE(quit);
}

} // namespace
