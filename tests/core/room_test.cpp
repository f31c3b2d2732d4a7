// The room's messages (spec/natter.md 7.3, 7.10-7.12), driven in memory
// through core::connection as natterd drives it: ids, times and the epoch;
// TELL; HISTORY and its seam with live delivery; IDS and counting.
#include "natter/core/room.hpp"

#include "natter/core/connection.hpp"
#include "support/core_client.hpp"
#include "support/greeting.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace
{

using namespace natter::core;
using namespace std::chrono_literals;
using natter::test::lines;
using natter::test::t0;
using client = natter::test::core_client;

using natter::test::join;

// Without flood control, and with the epoch of the spec's example.
config fast()
{
  config c = natter::test::fast();
  c.epoch = "5f2c0a81d4e3b697";
  return c;
}

/// The lines of `got` that start with `prefix`.
lines starting(const lines& got, std::string_view prefix)
{
  lines out;
  for (const std::string& l : got)
    if (l.starts_with(prefix))
      out.push_back(l);
  return out;
}

/// "212-<id> <time> <nick> <text>" -> id, and the rest after the time.
struct item
{
  std::uint64_t id;
  std::string time;
  std::string rest; // "<nick> <text>"
};

item parse_item(const std::string& line)
{
  EXPECT_TRUE(line.starts_with("212-")) << line;
  const std::size_t sp = line.find(' ');
  const std::size_t sp2 = line.find(' ', sp + 1);
  return {std::stoull(line.substr(4, sp - 4)), line.substr(sp + 1, sp2 - sp - 1),
          line.substr(sp2 + 1)};
}

const wall_time december_first =
    std::chrono::sys_days(std::chrono::year(2026) / std::chrono::December / 1);

// ---- TELL (7.10) ----

TEST(Tell, ReachesTheRecipientAloneIgnoringCase)
{
  room r(fast());
  client a(r), b(r), c(r);
  join(a, "alice");
  join(b, "bob");
  join(c, "carol");
  a.read();
  b.read();
  a.send("TELL Bob  are you there?\nPING x\n");
  EXPECT_EQ(a.read(), lines{"PONG x"}); // nothing to the sender [N-TELL-4]
  EXPECT_EQ(b.read(), lines{"TELL alice are you there?"});
  EXPECT_EQ(c.read(), lines{}); // [N-TELL-6]
}

TEST(Tell, ErrorsQuoteTheNickAsSent)
{
  room r(fast());
  client a(r);
  a.send("TELL bob hi\nTELL\nNICK alice\n");
  EXPECT_EQ(a.read(), (lines{natter::test::greeting(r.settings()), "401 register first with NICK",
                             "401 register first with NICK", "200 alice nick accepted"}));
  a.send("TELL Carol hi\nTELL bob\nTELL bob    \nTELL\nTELL b\xC3\xBC x\nTELL 9lives hi\n");
  EXPECT_EQ(a.read(), (lines{"434 Carol no such nick", "400 TELL missing or bad argument",
                             "400 TELL missing or bad argument", "400 TELL missing or bad argument",
                             "400 TELL missing or bad argument", "434 9lives no such nick"}));
}

// [N-TELL-5]
TEST(Tell, ToOneselfArrives)
{
  room r(fast());
  client a(r);
  join(a, "alice");
  a.send("TELL ALICE note to self\n");
  EXPECT_EQ(a.read(), lines{"TELL alice note to self"});
}

// A TELL has no id and is not kept: the next message is the next id, and
// HISTORY never shows a TELL. [N-TELL-6]
TEST(Tell, IsNeitherNumberedNorKept)
{
  room r(fast());
  client a(r), b(r);
  join(a, "alice");
  join(b, "bob");
  a.send("MSG one\nTELL bob secret\nTELL alice secret\nMSG two\n");
  EXPECT_EQ(r.newest_id(), 2u);
  client c(r);
  join(c, "carol");
  c.send("HISTORY\n");
  const lines got = c.read();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(parse_item(got[0]).rest, "alice one");
  EXPECT_EQ(parse_item(got[1]).id, 2u);
  EXPECT_EQ(parse_item(got[1]).rest, "alice two");
  EXPECT_EQ(got[2], "212 end of history");
}

// TELL counts toward the recipient's pending output like an event, and a
// recipient that does not read is dropped at its limit (spec 12).
TEST(Tell, CountsTowardTheRecipientsSendQueue)
{
  config cfg = fast();
  cfg.max_sendq = 4096;
  room r(cfg);
  client a(r), z(r);
  join(a, "alice");
  join(z, "zed");
  a.read();
  const std::string text(100, 't');
  for (int i = 0; i < 60 && !z.s.output().closing(); ++i)
    a.send("TELL zed " + text + "\n");
  EXPECT_TRUE(z.s.output().closing());
  EXPECT_EQ(z.s.output().reason(), close_reason::sendq_exceeded);
  EXPECT_EQ(a.read(), lines{"QUIT zed send queue exceeded"});
  EXPECT_EQ(r.total_sendq().value(), z.s.output().bytes());
}

// ---- ids, times, epochs (7.3) ----

TEST(MessageIds, ConsecutiveFromOneInDeliveryOrder)
{
  room r(fast());
  client a(r), b(r), c(r);
  join(a, "alice");
  join(b, "bob");
  EXPECT_EQ(r.newest_id(), 0u);
  for (int i = 0; i < 10; ++i)
    (i % 2 == 0 ? a : b).send("MSG m" + std::to_string(i) + "\n");
  a.send("MSG\n"); // refused: no id
  EXPECT_EQ(r.newest_id(), 10u);
  join(c, "carol");
  c.send("HISTORY\n");
  const lines got = starting(c.read(), "212-");
  ASSERT_EQ(got.size(), 10u);
  for (std::size_t i = 0; i < got.size(); ++i)
  {
    const item it = parse_item(got[i]);
    EXPECT_EQ(it.id, i + 1); // [N-MSG-5]
    EXPECT_EQ(it.rest, (i % 2 == 0 ? "alice m" : "bob m") + std::to_string(i));
  }
}

// The time is the wall clock's when the room accepts the message, in UTC
// with milliseconds, and is fixed then: a later reply shows the same time.
// [N-HIST-4], [N-MSG-7]
TEST(MessageIds, TimeIsTakenAtAcceptanceAndFixed)
{
  wall_time now = december_first + 18h + 30min + 123ms + 999us;
  config cfg = fast();
  cfg.wall_clock = [&now](time_point) { return now; };
  room r(cfg);
  client a(r), b(r);
  join(a, "alice");
  a.send("MSG first\n");
  now += 1ms;
  a.send("MSG second\n");
  now = december_first + 24h * 365 + 5h + 7min + 9s + 1ms; // 2027-12-01
  a.send("MSG third\n");
  now += 10min;
  join(b, "bob");
  b.send("HISTORY\n");
  const lines want{"212-1 2026-12-01T18:30:00.123Z alice first",
                   "212-2 2026-12-01T18:30:00.124Z alice second",
                   "212-3 2027-12-01T05:07:09.001Z alice third", "212 end of history"};
  EXPECT_EQ(b.read(), want);
  now += 1h;
  b.send("HISTORY\n");
  EXPECT_EQ(b.read(), want);
}

// The clock is the session's: a message is stamped with the time its
// session was given for the input (N-MSG-5), which without a wall clock is
// taken as the time since 1970.
TEST(MessageIds, TheTimeIsTheSessionsNow)
{
  room r(fast());
  client a(r), b(r);
  join(a, "alice");
  a.send("MSG hi\n", t0 + 90s + 7ms);
  join(b, "bob");
  b.send("HISTORY 1\n");
  EXPECT_EQ(b.read().front(), "212-1 1970-01-01T00:01:30.007Z alice hi");
}

// N-MSG-6: a numbering from 1 (a room: natterd, a run) has an epoch of its
// own, 16 lower-case hex digits unless one is given.
TEST(MessageIds, EveryRoomPicksItsOwnEpoch)
{
  config cfg = fast();
  cfg.epoch.clear();
  room r1(cfg);
  room r2(cfg);
  for (const room* r : {&r1, &r2})
  {
    ASSERT_EQ(r->epoch().size(), 16u);
    EXPECT_EQ(r->epoch().find_first_not_of("0123456789abcdef"), std::string::npos) << r->epoch();
  }
  EXPECT_NE(r1.epoch(), r2.epoch());
  EXPECT_EQ(room(fast()).epoch(), "5f2c0a81d4e3b697");
}

// ---- HISTORY (7.11) ----

TEST(History, BeforeRegistrationAndBadArguments)
{
  room r(fast());
  client a(r);
  a.send("HISTORY\nHISTORY last\nNICK alice\n");
  EXPECT_EQ(a.read(), (lines{natter::test::greeting(r.settings()), "401 register first with NICK",
                             "401 register first with NICK", "200 alice nick accepted"}));
  a.send("HISTORY last\nHISTORY 0\nHISTORY AFTER\nHISTORY 1 2\nHISTORY   \n");
  EXPECT_EQ(a.read(),
            (lines{"400 HISTORY missing or bad argument", "400 HISTORY missing or bad argument",
                   "400 HISTORY missing or bad argument", "400 HISTORY missing or bad argument",
                   "212 end of history"}));
}

// natterd's default keeps the last 100: of 150 messages, 51 to 150.
TEST(History, TheDefaultKeepsTheLastHundred)
{
  config cfg = fast();
  EXPECT_EQ(cfg.history, 100u);
  room r(cfg);
  client a(r), b(r);
  join(a, "alice");
  for (int i = 1; i <= 150; ++i)
    a.send("MSG m" + std::to_string(i) + "\n");
  join(b, "bob");
  b.send("HISTORY\n");
  const lines got = b.read();
  ASSERT_EQ(got.size(), 101u);
  for (std::size_t i = 0; i < 100; ++i)
  {
    const item it = parse_item(got[i]);
    EXPECT_EQ(it.id, 51 + i);
    EXPECT_EQ(it.rest, "alice m" + std::to_string(51 + i));
  }
  EXPECT_EQ(got.back(), "212 end of history");
  b.send("HISTORY 5\nHISTORY 999999999\n");
  const lines counted = starting(b.read(), "212-");
  ASSERT_EQ(counted.size(), 105u); // the last 5, then all 100 [N-HIST-6]
  EXPECT_EQ(parse_item(counted[0]).id, 146u);
  EXPECT_EQ(parse_item(counted[5]).id, 51u);
}

// AFTER the newest id: nothing. AFTER an id older than what is kept: all
// that is kept, and its first id shows the gap. [N-HIST-6]
TEST(History, AfterTheNewestAndBeforeTheWindow)
{
  config cfg = fast();
  cfg.history = 10;
  room r(cfg);
  client a(r), b(r);
  join(a, "alice");
  for (int i = 1; i <= 25; ++i)
    a.send("MSG m" + std::to_string(i) + "\n");
  join(b, "bob");
  b.send("HISTORY AFTER 25\nHISTORY AFTER 26\nHISTORY AFTER 99999999999999999999\n");
  EXPECT_EQ(b.read(), lines(3, "212 end of history"));
  b.send("HISTORY AFTER 3\n");
  lines got = starting(b.read(), "212-");
  ASSERT_EQ(got.size(), 10u);
  EXPECT_EQ(parse_item(got.front()).id, 16u); // 4..15 are no longer kept
  EXPECT_EQ(parse_item(got.back()).id, 25u);
  b.send("history after 22\n");
  got = starting(b.read(), "212-");
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(parse_item(got.front()).id, 23u);
}

// Only messages accepted before the connection registered: a later one it
// received live. [N-HIST-5]
TEST(History, LeavesOutWhatArrivedLive)
{
  room r(fast());
  client a(r), b(r);
  join(a, "alice");
  a.send("MSG before\n");
  join(b, "bob");
  a.send("MSG after\n");
  b.send("HISTORY\nHISTORY AFTER 0\n");
  EXPECT_EQ(b.read(), (lines{"MSG alice after", "212-1 1970-01-01T00:00:00.000Z alice before",
                             "212 end of history", "212-1 1970-01-01T00:00:00.000Z alice before",
                             "212 end of history"}));
}

// --history 0 keeps nothing; the ids still count.
TEST(History, ZeroKeepsNone)
{
  config cfg = fast();
  cfg.history = 0;
  room r(cfg);
  client a(r), b(r);
  join(a, "alice");
  a.send("MSG one\nMSG two\n");
  join(b, "bob");
  b.send("HISTORY\nIDS\n");
  EXPECT_EQ(b.read(), (lines{"212 end of history", "213 5f2c0a81d4e3b697 2 2 ids on"}));
}

// Every reply that shows a message queues the one line the room built when
// it accepted it: the octets a client is given are that buffer's, for
// every client. [N-MSG-7]
TEST(History, RepliesShareTheLineBuiltAtAcceptance)
{
  room r(fast());
  client a(r), b(r), c(r);
  join(a, "alice");
  a.send("MSG shared\n");
  join(b, "bob");
  join(c, "carol");
  b.read();
  b.send("HISTORY\n");
  c.send("HISTORY\n");
  std::array<piece, 4> pb;
  std::array<piece, 4> pc;
  ASSERT_GE(b.c.peek(pb, 4096), 1u);
  ASSERT_GE(c.c.peek(pc, 4096), 1u);
  EXPECT_EQ(std::string_view(pb[0].data, pb[0].size),
            "212-1 1970-01-01T00:00:00.000Z alice shared\r\n");
  EXPECT_EQ(pb[0].data, pc[0].data);
  b.c.wrote(0, t0);
  c.c.wrote(0, t0);
}

// A reply bigger than the client's send queue limit drops it, as any
// output does (natterd's --history check keeps a full reply within it).
TEST(History, ARepliesOctetsCountTowardTheSendQueue)
{
  config cfg = fast();
  cfg.max_sendq = 2048;
  room r(cfg);
  client a(r), b(r);
  join(a, "alice");
  for (int i = 0; i < 40; ++i)
    a.send("MSG " + std::string(80, 'x') + "\n");
  join(b, "bob");
  b.send("HISTORY\n");
  EXPECT_TRUE(b.s.output().closing());
  EXPECT_EQ(b.s.output().reason(), close_reason::sendq_exceeded);
}

// ---- IDS (7.12) ----

TEST(Ids, RepliesWithTheEpochAndItsPlaceAndSendsOwnMessages)
{
  room r(fast());
  client a(r), b(r);
  a.send("IDS\n");
  EXPECT_EQ(a.read(), (lines{natter::test::greeting(r.settings()),
                             "401 register first with NICK"})); // [N-IDS-1]
  join(a, "alice");
  a.send("MSG one\nMSG two\n");
  b.send("NICK bob\nIDS x y\nHISTORY AFTER 1\n");
  EXPECT_EQ(b.read(), (lines{natter::test::greeting(r.settings()), "200 bob nick accepted",
                             "213 5f2c0a81d4e3b697 2 2 ids on",
                             "212-2 1970-01-01T00:00:00.000Z alice two", "212 end of history"}));
  EXPECT_EQ(a.read(), lines{"JOIN bob"});
  b.send("MSG mine\nMSG again\n");
  a.send("MSG three\n");
  EXPECT_EQ(b.read(), (lines{"MSG bob mine", "MSG bob again", "MSG alice three"})); // [N-IDS-3]
  EXPECT_EQ(a.read(), (lines{"MSG bob mine", "MSG bob again"}));
  b.send("IDS\n"); // again: answered, nothing else changes [N-IDS-4]
  EXPECT_EQ(b.read(), lines{"213 5f2c0a81d4e3b697 2 5 ids on"});
  b.send("MSG once\n");
  EXPECT_EQ(b.read(), lines{"MSG bob once"});
}

// A client that never sends IDS sees nothing of its own (N-MSG-4), and its
// rename is still not echoed to it once it has sent IDS (N-EVENT-2).
TEST(Ids, OnlyOwnMessagesAreEchoed)
{
  room r(fast());
  client a(r), b(r);
  join(a, "alice");
  join(b, "bob");
  a.read();
  a.send("MSG plain\n");
  EXPECT_EQ(a.read(), lines{});
  a.send("IDS\nNICK ann\nMSG x\nQUIT\n");
  EXPECT_EQ(a.read(), (lines{"213 5f2c0a81d4e3b697 0 1 ids on", "200 ann nick accepted",
                             "MSG ann x", "221 goodbye"}));
  EXPECT_EQ(b.read(), (lines{"MSG alice plain", "NICK alice ann", "MSG ann x", "QUIT ann"}));
}

// ---- the seam: registering while messages flow ----

/// What one client made of its stream: message id -> "<nick> <text>", from
/// HISTORY lines and from live MSG events numbered by counting (7.12).
struct numbered
{
  std::map<std::uint64_t, std::string> seen;
  int duplicates = 0;

  void add(std::uint64_t id, const std::string& what)
  {
    if (!seen.emplace(id, what).second)
      ++duplicates;
  }
};

/// Numbers `got` (everything one client received from its NICK on, which
/// it sent with IDS right after it): live MSG events after the 213 are
/// newest + k, those between the 200 and the 213 joined + k (N-IDS-2).
numbered number_stream(const lines& got)
{
  numbered n;
  std::uint64_t next = 0; // id of the next live MSG
  std::vector<std::string> before_ids;
  bool counting = false;
  for (const std::string& l : got)
  {
    if (l.starts_with("213 "))
    {
      std::istringstream in(l.substr(4));
      std::string epoch;
      std::uint64_t joined = 0;
      std::uint64_t newest = 0;
      in >> epoch >> joined >> newest;
      EXPECT_EQ(before_ids.size(), newest - joined);
      for (std::size_t k = 0; k < before_ids.size(); ++k)
        n.add(joined + 1 + k, before_ids[k]);
      next = newest + 1;
      counting = true;
    }
    else if (l.starts_with("212-"))
    {
      const item it = parse_item(l);
      n.add(it.id, it.rest);
    }
    else if (l.starts_with("MSG "))
    {
      if (counting)
        n.add(next++, l.substr(4));
      else
        before_ids.push_back(l.substr(4));
    }
  }
  return n;
}

// Several senders flood; clients register at every point of the flood,
// with NICK, IDS and HISTORY pipelined or spread out, reading at any time
// or not at all for a while. Each sees every message exactly once, across
// the reply and the live events, each with the id the room gave it (the
// order of acceptance). Many interleavings, each from a fixed seed.
// [N-HIST-5], [N-IDS-2], [N-IDS-3], [N-MSG-5], [N-MSG-7]
TEST(HistorySeam, RegisteringDuringAFloodSeesEveryMessageOnce)
{
  for (unsigned seed = 1; seed <= 300; ++seed)
  {
    std::mt19937 rng(seed);
    config cfg = fast();
    cfg.log_chunk = 256; // events cross chunks often
    cfg.history = 1000;  // more than the flood: everything is kept
    room r(cfg);
    std::vector<std::unique_ptr<client>> senders;
    for (int i = 0; i < 3; ++i)
    {
      senders.push_back(std::make_unique<client>(r));
      join(*senders.back(), "s" + std::to_string(i));
    }
    std::vector<std::string> accepted; // by id - 1: "<nick> <text>"
    struct joiner
    {
      std::unique_ptr<client> c;
      int stage = 0; // 0: greeted, 1: NICK and IDS sent, 2: HISTORY sent
      lines got;
    };
    std::vector<joiner> joiners;
    for (int i = 0; i < 4; ++i)
      joiners.push_back({std::make_unique<client>(r), 0, {}});
    for (joiner& j : joiners)
      j.c->read(); // the greeting
    const int steps = 60 + static_cast<int>(rng() % 60);
    for (int step = 0; step < steps; ++step)
    {
      const unsigned op = rng() % 10;
      if (op < 6)
      {
        const std::size_t who = rng() % senders.size();
        const std::string text =
            "m" + std::to_string(accepted.size() + 1) + " " + std::string(rng() % 40, 'x');
        senders[who]->send("MSG " + text + "\n");
        accepted.push_back("s" + std::to_string(who) + " " + text);
      }
      else
      {
        joiner& j = joiners[rng() % joiners.size()];
        const std::string nick = "j" + std::to_string(&j - joiners.data());
        if (j.stage == 0 && op < 8)
        {
          // Pipelined or not: what matters is where the NICK is processed.
          j.c->send(op == 6 ? "NICK " + nick + "\nIDS\n" : "NICK " + nick + "\nIDS\nHISTORY\n");
          j.stage = op == 6 ? 1 : 2;
        }
        else if (j.stage == 1 && op < 8)
        {
          j.c->send("HISTORY\n");
          j.stage = 2;
        }
        else if (j.stage > 0)
        {
          const lines got = j.c->read();
          j.got.insert(j.got.end(), got.begin(), got.end());
        }
      }
      for (auto& s : senders)
        s->read();
    }
    for (joiner& j : joiners)
    {
      if (j.stage == 0)
        j.c->send("NICK j" + std::to_string(&j - joiners.data()) + "\nIDS\n");
      if (j.stage < 2)
        j.c->send("HISTORY\n");
      const lines got = j.c->read();
      j.got.insert(j.got.end(), got.begin(), got.end());
      const numbered n = number_stream(j.got);
      ASSERT_EQ(n.duplicates, 0) << "seed " << seed;
      ASSERT_EQ(n.seen.size(), accepted.size()) << "seed " << seed;
      std::uint64_t id = 1;
      for (const auto& [got_id, what] : n.seen)
      {
        ASSERT_EQ(got_id, id) << "seed " << seed;
        ASSERT_EQ(what, accepted[id - 1]) << "seed " << seed << " id " << id;
        ++id;
      }
    }
  }
}

// A client that never sends IDS sees each message once too: by its text
// alone, across HISTORY and the live MSG events, with a window smaller
// than the flood (what it misses is a gap at the front, never in the
// middle).
TEST(HistorySeam, WithoutIdsAndASmallWindow)
{
  for (unsigned seed = 1; seed <= 100; ++seed)
  {
    std::mt19937 rng(seed);
    config cfg = fast();
    cfg.history = 7;
    room r(cfg);
    client s(r), j(r);
    join(s, "s");
    j.read();
    const int before = static_cast<int>(rng() % 20);
    const int after = static_cast<int>(rng() % 20);
    int sent = 0;
    for (; sent < before; ++sent)
      s.send("MSG m" + std::to_string(sent + 1) + "\n");
    j.send("NICK j\n");
    const int between = static_cast<int>(rng() % 5);
    for (int k = 0; k < between; ++k, ++sent)
      s.send("MSG m" + std::to_string(sent + 1) + "\n");
    j.send("HISTORY\n");
    for (int k = 0; k < after; ++k, ++sent)
      s.send("MSG m" + std::to_string(sent + 1) + "\n");
    std::vector<int> got;
    for (const std::string& l : j.read())
    {
      const std::size_t m = l.rfind(" m");
      if (l.starts_with("MSG ") || l.starts_with("212-"))
        got.push_back(std::stoi(l.substr(m + 2)));
    }
    std::sort(got.begin(), got.end());
    // What HISTORY finds of the messages before the NICK: the last 7 the
    // room kept when it asked, the ones between its NICK and its HISTORY
    // taking their places.
    const int first = std::max(1, before + between - 6);
    ASSERT_EQ(got.size(), static_cast<std::size_t>(sent - first + 1)) << "seed " << seed;
    for (std::size_t k = 0; k < got.size(); ++k)
      ASSERT_EQ(got[k], first + static_cast<int>(k)) << "seed " << seed;
  }
}

} // namespace
