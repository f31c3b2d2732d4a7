// The outbox and the room's log on their own: how a connection's own lines
// and the room's events merge, short writes, discarding, the send queue
// accounting and the idle wake-up, including across threads.
#include "natter/core/outbox.hpp"

#include "natter/core/room.hpp"
#include "natter/core/session.hpp"
#include "support/greeting.hpp"
#include "support/outbox_writer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace
{

using namespace natter::core;

struct counting_transport : transport
{
  void wake() noexcept override { ++wakes; }
  int wakes = 0;
};

/// An outbox reading a log of tiny chunks, and the room's part played by
/// hand: append, count the share of every outbox reading the log, publish,
/// notify.
struct fixture
{
  explicit fixture(std::size_t chunk = 8) : log(chunk), out(t, log, &total) {}

  void event(std::string_view line, bool own = false)
  {
    const std::uint64_t at = log.append(line);
    auto readers = static_cast<std::size_t>(std::count_if(
        outboxes.begin(), outboxes.end(), [](outbox* o) { return o->stream_open(); }));
    if (own)
    {
      out.skip(at, line.size());
      --readers;
    }
    total.add(line.size() * readers);
    log.publish();
    out.notify();
  }

  /// Writes up to `limit` octets of what is pending, as a socket taking
  /// that much would; returns them.
  std::string write(std::size_t limit = std::size_t(-1))
  {
    std::string got;
    while (got.size() < limit && natter::test::write_some(out, got, limit - got.size()) > 0)
    {
    }
    return got;
  }

  counting_transport t;
  pending_total total;
  room_log log;
  outbox out;
  std::vector<outbox*> outboxes{&out}; // every outbox on this log
};

shared_text text(std::string s)
{
  return make_text(std::move(s));
}

TEST(Outbox, OwnLinesAndEventsLeaveInTheOrderTheyHappened)
{
  fixture f;
  f.out.push(text("own1\r\n"));
  f.event("before join\r\n"); // not a reader yet
  f.out.open_stream();
  f.event("ev1\r\n");
  f.out.push(text("own2\r\n"));
  f.event("ev2 is longer than a chunk\r\n");
  f.event("ev3\r\n");
  EXPECT_EQ(f.out.bytes(), f.total.value());
  EXPECT_EQ(f.write(), "own1\r\nev1\r\nown2\r\nev2 is longer than a chunk\r\nev3\r\n");
  EXPECT_EQ(f.out.bytes(), 0u);
  EXPECT_EQ(f.total.value(), 0u);
}

TEST(Outbox, ItsOwnEventIsSkipped)
{
  fixture f;
  f.out.open_stream();
  f.event("a\r\n");
  f.event("mine\r\n", true);
  f.event("b\r\n");
  EXPECT_EQ(f.out.bytes(), 6u);
  EXPECT_EQ(f.total.value(), 6u);
  EXPECT_EQ(f.write(), "a\r\nb\r\n");
  EXPECT_EQ(f.total.value(), 0u);
}

// The room marks a member's own event before it publishes it; a cluster
// node's reader does that while the member's session asks for bytes() on
// its own thread. Counted before its event was in the stream, the skip
// made the count wrap below zero: the session saw its send queue full for
// good, stopped reading, and its connection ended without a word.
TEST(Outbox, AnOwnEventNotYetPublishedTakesNothingFromWhatIsPending)
{
  fixture f;
  f.out.open_stream();
  f.event("a\r\n");
  const std::uint64_t at = f.log.append("mine\r\n");
  f.out.skip(at, 6);
  EXPECT_EQ(f.out.bytes(), 3u);
  EXPECT_EQ(f.out.untaken(), 3u);
  f.log.publish();
  f.out.settle();
  EXPECT_EQ(f.out.bytes(), 3u);
  // A run of own events: only the part not yet published is left out.
  f.event("mine too\r\n", true);
  const std::uint64_t more = f.log.append("and me\r\n");
  f.out.skip(more, 8);
  EXPECT_EQ(f.out.bytes(), 3u);
  f.log.publish();
  f.event("b\r\n");
  EXPECT_EQ(f.out.bytes(), 6u);
  EXPECT_EQ(f.write(), "a\r\nb\r\n");
  EXPECT_EQ(f.out.bytes(), 0u);
}

// An own line queued in that moment waits behind the skip: a writer looking
// then finds nothing and goes idle, and the room wakes everyone but the
// member once the event is published. settle() wakes it.
TEST(Outbox, AnOwnLineQueuedBeforeItsEventIsPublishedIsWokenFor)
{
  fixture f;
  f.out.open_stream();
  EXPECT_EQ(f.write(), "");
  const std::uint64_t at = f.log.append("mine\r\n");
  f.out.skip(at, 6);
  f.out.push(text("reply\r\n"));
  EXPECT_EQ(f.write(), ""); // held behind the skip; the writer goes idle
  const int wakes = f.t.wakes;
  f.log.publish();
  f.out.settle();
  EXPECT_EQ(f.t.wakes, wakes + 1);
  EXPECT_EQ(f.write(), "reply\r\n");
  f.out.settle(); // nothing pending: no wake
  EXPECT_EQ(f.t.wakes, wakes + 1);
}

TEST(Outbox, ShortWritesResumeMidLine)
{
  fixture f;
  f.out.open_stream();
  f.out.push(text("hello\r\n"));
  for (int i = 0; i < 20; ++i)
    f.event("event " + std::to_string(i) + "\r\n");
  std::string all;
  for (std::string part; !(part = f.write(3)).empty();)
    all += part;
  std::string want = "hello\r\n";
  for (int i = 0; i < 20; ++i)
    want += "event " + std::to_string(i) + "\r\n";
  EXPECT_EQ(all, want);
  EXPECT_EQ(f.total.value(), 0u);
}

TEST(Outbox, StreamEndsWhereItWasClosed)
{
  fixture f;
  f.out.open_stream();
  f.event("in\r\n");
  f.out.close_stream();
  f.event("out\r\n");
  f.out.push(text("after\r\n"));
  EXPECT_EQ(f.write(), "in\r\nafter\r\n");
  EXPECT_EQ(f.total.value(), 0u);
}

// A slow consumer is dropped: what the writer already peeked (a line it may
// have half written) still goes out whole, then the final line, nothing else.
TEST(Outbox, DiscardKeepsThePeekedLinesWhole)
{
  fixture f;
  f.out.open_stream();
  f.event("first line\r\n");
  std::array<piece, 4> pieces;
  ASSERT_GT(f.out.peek(pieces, 1), 0u);
  ASSERT_EQ(std::string_view(pieces[0].data, pieces[0].size), "first line\r\n");
  f.out.written(5); // "first"
  f.event("second\r\n");
  f.out.push(text("own\r\n"));
  EXPECT_FALSE(f.out.state().closing);
  EXPECT_TRUE(f.out.close(close_reason::sendq_exceeded));
  f.event("third\r\n");
  EXPECT_EQ(f.out.bytes(), f.total.value());
  EXPECT_TRUE(f.out.state().closing);
  EXPECT_EQ(f.out.state().bytes, f.out.bytes());
  EXPECT_EQ(f.write(), " line\r\n524 send queue exceeded\r\n");
  EXPECT_TRUE(f.out.finished());
  EXPECT_EQ(f.out.state().bytes, 0u);
  EXPECT_EQ(f.total.value(), 0u);
  EXPECT_FALSE(f.out.stream_open());
}

TEST(Outbox, AWriterThatFoundNothingIsWokenOnce)
{
  fixture f;
  f.out.open_stream();
  std::array<piece, 4> pieces;
  EXPECT_EQ(f.out.peek(pieces, 100), 0u); // idle now
  f.event("a\r\n");
  f.event("b\r\n");
  EXPECT_EQ(f.t.wakes, 1);
  EXPECT_EQ(f.write(), "a\r\nb\r\n"); // idle again after the last write
  f.out.push(text("c\r\n"));
  EXPECT_EQ(f.t.wakes, 2);
}

TEST(Outbox, DroppedWithAnOpenStreamGivesItsShareBack)
{
  fixture f;
  {
    outbox other(f.t, f.log, &f.total);
    f.outboxes.push_back(&other);
    other.open_stream();
    f.out.open_stream();
    f.event("shared\r\n");
    EXPECT_EQ(f.total.value(), 16u);
    other.close(close_reason::failed); // discards, sends nothing
    EXPECT_FALSE(other.stream_open());
    f.outboxes.pop_back();
  }
  EXPECT_EQ(f.total.value(), 8u);
  EXPECT_EQ(f.write(), "shared\r\n");
  EXPECT_EQ(f.total.value(), 0u);
}

/// A client whose writer runs on its own thread and waits for wake-ups:
/// a lost wake-up leaves it waiting until its deadline.
struct threaded_client : transport
{
  explicit threaded_client(room& r) : s(r, *this, time_point{}) {}

  void wake() noexcept override
  {
    {
      std::lock_guard lock(m);
      woken = true;
    }
    cv.notify_one();
  }

  /// Reads until `want` is among the lines received or 10 s pass without a
  /// wake-up; returns everything received.
  std::string read_until(const std::string& want)
  {
    std::string got;
    while (got.find(want) == std::string::npos)
    {
      if (natter::test::write_some(s.output(), got) > 0)
        continue;
      std::unique_lock lock(m);
      if (!cv.wait_for(lock, std::chrono::seconds(10), [this] { return woken; }))
        break;
      woken = false;
    }
    return got;
  }

  std::mutex m;
  std::condition_variable cv;
  bool woken = false;
  session s;
};

// Many small events cross many chunks while a writer on another thread
// drains them: every event arrives once, in order, and no wake-up is lost.
TEST(Outbox, EventsReachAWriterOnAnotherThread)
{
  config c;
  c.rate = 0;
  c.log_chunk = 64;
  room r(c);
  threaded_client reader(r), talker(r);
  reader.s.start();
  talker.s.start();
  reader.s.receive("NICK reader\n", time_point{});
  talker.s.receive("NICK talker\n", time_point{});
  constexpr int count = 5000;
  std::string got;
  std::thread drain(
      [&] { got = reader.read_until("MSG talker " + std::to_string(count - 1) + "\r\n"); });
  for (int i = 0; i < count; ++i)
  {
    talker.s.receive("MSG " + std::to_string(i) + "\n", time_point{});
    std::string ignored;
    while (natter::test::write_some(talker.s.output(), ignored) > 0)
    {
    }
  }
  drain.join();
  std::string want = natter::test::greeting(c) + "\r\n200 reader nick accepted\r\nJOIN talker\r\n";
  for (int i = 0; i < count; ++i)
    want += "MSG talker " + std::to_string(i) + "\r\n";
  EXPECT_EQ(got, want);
}

} // namespace
