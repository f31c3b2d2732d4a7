// TELL, HISTORY and IDS through natterd over real loopback sockets (spec
// 7.10-7.12): clients that register while others flood, with natterd's
// threads delivering concurrently, see every message exactly once, with
// the ids a later client sees in HISTORY.
#include "natterd_process.hpp"

#include "natter/server/wall_clock.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

namespace
{

using namespace natter::test;
using namespace std::chrono_literals;
using lines = std::vector<std::string>;

/// A "212-<id> <time> <nick> <text>" line's id and "<nick> <text>".
bool parse_item(const std::string& l, std::uint64_t& id, std::string& what)
{
  if (!l.starts_with("212-"))
    return false;
  const std::size_t sp = l.find(' ');
  const std::size_t sp2 = l.find(' ', sp + 1);
  if (sp == std::string::npos || sp2 == std::string::npos)
    return false;
  id = std::stoull(l.substr(4, sp - 4));
  what = l.substr(sp2 + 1);
  return true;
}

/// Numbers what a client received after its 200 (it sent NICK and IDS
/// together, then HISTORY): message id -> "<nick> <text>", from the
/// HISTORY lines and from the live MSG events by counting (7.12). Counts
/// duplicates.
struct numbered
{
  std::map<std::uint64_t, std::string> seen;
  int duplicates = 0;
  bool ids_seen = false;
  std::uint64_t joined = 0; // from the 213

  explicit numbered(const lines& got)
  {
    std::vector<std::string> before_ids; // MSG events between 200 and 213
    std::uint64_t next = 0;
    for (const std::string& l : got)
    {
      std::uint64_t id = 0;
      std::string what;
      if (l.starts_with("213 "))
      {
        std::istringstream in(l.substr(4));
        std::string epoch;
        std::uint64_t newest = 0;
        in >> epoch >> joined >> newest;
        EXPECT_EQ(before_ids.size(), newest - joined) << l;
        for (std::size_t k = 0; k < before_ids.size(); ++k)
          add(joined + 1 + k, before_ids[k]);
        next = newest + 1;
        ids_seen = true;
      }
      else if (parse_item(l, id, what))
        add(id, what);
      else if (l.starts_with("MSG "))
      {
        if (ids_seen)
          add(next++, l.substr(4));
        else
          before_ids.push_back(l.substr(4));
      }
    }
  }

  void add(std::uint64_t id, const std::string& what)
  {
    if (!seen.emplace(id, what).second)
      ++duplicates;
  }
};

// Three clients flood (in batches, each ended by a PING barrier so that
// natterd never stops reading them); six register one after another while
// the flood runs, each sending NICK, IDS and HISTORY at once. Joiner j
// connects once every flooder's batch due(j) was acknowledged, and no
// flooder starts batch due(j) + 2 before j's 200 arrived: so each joiner
// registers with batches in flight, strictly inside the flood. After it,
// each joiner's stream, numbered by counting, holds every message exactly
// once, ids 1 to the last without a gap, each sender's in the order sent;
// all agree; and a client that registers afterwards sees the same ids in
// HISTORY. [N-HIST-5], [N-IDS-2], [N-IDS-3], [N-MSG-5], [N-MSG-7]
TEST(History, ClientsRegisteringDuringAFloodSeeEveryMessageOnce)
{
  constexpr int flooders = 3;
  constexpr int batches = 16;
  constexpr int batch = 100;
  constexpr int total = flooders * batches * batch;
  constexpr int joiners = 6;
  auto due = [](int j) { return 2 * j + 1; }; // at most batches - 3
  natterd_process d({"--rate", "0", "--max-sendq", "67108864", "--history", "10000"});

  std::mutex m;
  std::condition_variable cv;
  std::array<int, flooders> acked{}; // batches each flooder had acknowledged
  int in_room = 0;                   // joiners whose 200 arrived
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int f = 0; f < flooders; ++f)
    threads.emplace_back(
        [&, f]
        {
          client c = registered(d.chat_port(), "f" + std::to_string(f));
          for (int b = 0; b < batches && !failed; ++b)
          {
            {
              std::unique_lock lock(m);
              int needed = 0;
              while (needed < joiners && due(needed) + 2 <= b)
                ++needed;
              if (!cv.wait_for(lock, 30s, [&] { return in_room >= needed || failed; }))
                failed = true;
            }
            std::string burst;
            for (int k = 0; k < batch; ++k)
              burst +=
                  "MSG " + std::to_string(b * batch + k) + " of f" + std::to_string(f) + "\r\n";
            c.send(burst);
            const lines got = c.sync("b" + std::to_string(b)); // the others' messages, read
            if (!got.empty() && (got.back() == "<timeout>" || got.back() == "<closed>"))
              failed = true;
            std::lock_guard lock(m);
            acked[static_cast<std::size_t>(f)] = b + 1;
            cv.notify_all();
          }
        });

  std::vector<client> js;
  for (int j = 0; j < joiners && !failed; ++j)
  {
    {
      std::unique_lock lock(m);
      if (!cv.wait_for(lock, 30s,
                       [&] {
                         return failed || std::all_of(acked.begin(), acked.end(),
                                                      [&](int a) { return a >= due(j); });
                       }))
        failed = true;
    }
    js.emplace_back("127.0.0.1", d.chat_port());
    js.back().send("NICK j" + std::to_string(j) + "\r\nIDS\r\nHISTORY\r\n");
    EXPECT_EQ(js.back().line(), d.greeting());
    EXPECT_EQ(js.back().line(), "200 j" + std::to_string(j) + " nick accepted");
    std::lock_guard lock(m);
    in_room = j + 1;
    cv.notify_all();
  }
  for (std::thread& t : threads)
    t.join();
  ASSERT_FALSE(failed);

  std::vector<std::map<std::uint64_t, std::string>> maps;
  for (int j = 0; j < joiners; ++j)
  {
    const lines got = js[j].sync("done"); // after every flooder's last barrier
    const numbered n(got);
    EXPECT_TRUE(n.ids_seen);
    // It registered inside the flood: after batch due(j) of every flooder,
    // before any flooder's batch due(j) + 2 ended.
    EXPECT_GE(n.joined, static_cast<std::uint64_t>(due(j) * batch * flooders)) << "j" << j;
    EXPECT_LE(n.joined, static_cast<std::uint64_t>((due(j) + 2) * batch * flooders)) << "j" << j;
    EXPECT_EQ(n.duplicates, 0) << "j" << j;
    ASSERT_EQ(n.seen.size(), static_cast<std::size_t>(total)) << "j" << j;
    EXPECT_EQ(n.seen.begin()->first, 1u);
    EXPECT_EQ(n.seen.rbegin()->first, static_cast<std::uint64_t>(total));
    // Each sender's messages in the order it sent them.
    std::map<std::string, int> next;
    for (const auto& entry : n.seen)
    {
      const std::string& what = entry.second; // "f0 123 of f0"
      const std::string sender = what.substr(0, what.find(' '));
      const int seq = std::stoi(what.substr(what.find(' ') + 1));
      EXPECT_EQ(seq, next[sender]++) << what;
    }
    maps.push_back(n.seen);
  }
  for (int j = 1; j < joiners; ++j)
    EXPECT_EQ(maps[j], maps[0]) << "j" << j;

  client later = registered(d.chat_port(), "later");
  later.send("IDS\r\nHISTORY\r\n");
  const lines got = later.sync();
  ASSERT_EQ(got.size(), static_cast<std::size_t>(total) + 2);
  EXPECT_TRUE(
      got.front().ends_with(" " + std::to_string(total) + " " + std::to_string(total) + " ids on"))
      << got.front();
  std::map<std::uint64_t, std::string> history;
  for (const std::string& l : got)
  {
    std::uint64_t id = 0;
    std::string what;
    if (parse_item(l, id, what))
      history.emplace(id, what);
  }
  EXPECT_EQ(history, maps[0]);
  EXPECT_EQ(got.back(), "212 end of history");
}

// The defaults: 100 kept; TELL reaches one client and leaves no trace;
// --history 0 keeps nothing.
TEST(History, DefaultsAndTellOverSockets)
{
  natterd_process d({"--rate", "0"});
  client a = registered(d.chat_port(), "alice");
  client b = registered(d.chat_port(), "bob");
  EXPECT_EQ(a.sync(), lines{"JOIN bob"});
  std::string flood;
  for (int i = 1; i <= 150; ++i)
    flood += "MSG m" + std::to_string(i) + "\r\n";
  a.send(flood + "TELL BOB psst\r\nTELL nobody x\r\nTELL alice me\r\n");
  EXPECT_EQ(a.sync(), (lines{"434 nobody no such nick", "TELL alice me"}));
  const lines to_b = b.sync();
  ASSERT_EQ(to_b.size(), 151u);
  EXPECT_EQ(to_b.back(), "TELL alice psst");
  client c = registered(d.chat_port(), "carol");
  c.send("HISTORY\r\n");
  const lines got = c.sync();
  ASSERT_EQ(got.size(), 101u);
  std::uint64_t id = 0;
  std::string what;
  ASSERT_TRUE(parse_item(got.front(), id, what));
  EXPECT_EQ(id, 51u);
  EXPECT_EQ(what, "alice m51");
  ASSERT_TRUE(parse_item(got[99], id, what));
  EXPECT_EQ(id, 150u);
  EXPECT_EQ(got.back(), "212 end of history");

  natterd_process none({"--rate", "0", "--history", "0"});
  client x = registered(none.chat_port(), "x");
  x.send("MSG one\r\n");
  EXPECT_EQ(x.sync(), lines{}); // accepted before y registers
  client y = registered(none.chat_port(), "y");
  y.send("HISTORY\r\nIDS\r\n");
  const lines nothing = y.sync();
  ASSERT_EQ(nothing.size(), 2u);
  EXPECT_EQ(nothing[0], "212 end of history");
  EXPECT_TRUE(nothing[1].ends_with(" 1 1 ids on")) << nothing[1];
}

// natterd's message times: a session's steady time mapped to the system
// clock, without a clock read per message.
TEST(History, MessageTimesAreTheSystemClocks)
{
  auto wall = natter::server::system_wall_clock();
  for (int i = 0; i < 3; ++i)
  {
    const auto before = std::chrono::system_clock::now();
    const auto t = wall(natter::core::clock::now());
    const auto after = std::chrono::system_clock::now();
    // The offset is taken a moment after the steady time is read: allow
    // for that moment, on a loaded machine.
    EXPECT_GE(t, before - 50ms);
    EXPECT_LE(t, after + 50ms);
  }
  const auto base = natter::core::clock::now();
  EXPECT_EQ(wall(base + 300ms) - wall(base), 300ms); // within the second: the same offset
}

// The epoch is new with every start of natterd, 16 hex digits. [N-MSG-6]
TEST(History, EveryStartHasANewEpoch)
{
  std::string epochs[2];
  for (std::string& e : epochs)
  {
    natterd_process d;
    client a = registered(d.chat_port(), "a");
    a.send("IDS\r\n");
    const lines got = a.sync();
    ASSERT_EQ(got.size(), 1u);
    std::istringstream in(got[0]);
    std::string code;
    in >> code >> e;
    EXPECT_EQ(code, "213");
    EXPECT_EQ(e.size(), 16u);
    EXPECT_EQ(e.find_first_not_of("0123456789abcdef"), std::string::npos) << e;
  }
  EXPECT_NE(epochs[0], epochs[1]);
}

} // namespace
