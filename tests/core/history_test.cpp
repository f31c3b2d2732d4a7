// The room's numbering and its ring of HISTORY lines on their own (spec
// 7.3, 7.11): ids from 1, the last `capacity` lines kept, selection by id,
// lines shared and never changed while a reply holds them, and the storage
// of a line nobody holds reused for the next.
#include "natter/core/history.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace
{

using natter::core::message_history;
using natter::core::shared_text;
using strings = std::vector<std::string>;

std::vector<shared_text> shared(const message_history& h, std::uint64_t after, std::uint64_t upto)
{
  std::vector<message_history::lent> lent;
  h.select(after, upto, lent);
  std::vector<shared_text> out;
  for (message_history::lent& l : lent)
    out.push_back(std::move(l).share());
  return out;
}

strings selected(const message_history& h, std::uint64_t after, std::uint64_t upto)
{
  strings out;
  for (const shared_text& l : shared(h, after, upto))
    out.push_back(*l);
  return out;
}

/// Numbers and keeps "m<id>" for `n` messages.
void add(message_history& h, int n)
{
  for (int i = 0; i < n; ++i)
  {
    const std::uint64_t id = h.number();
    h.line_for_newest() = "m" + std::to_string(id);
  }
}

// N-MSG-5: consecutive ids from 1.
TEST(MessageHistory, NumbersFromOne)
{
  message_history h(3);
  EXPECT_EQ(h.newest(), 0u);
  EXPECT_EQ(h.number(), 1u);
  h.line_for_newest() = "m1";
  EXPECT_EQ(h.number(), 2u);
  h.line_for_newest() = "m2";
  EXPECT_EQ(h.newest(), 2u);
}

TEST(MessageHistory, KeepsTheLastCapacity)
{
  message_history h(3);
  add(h, 3);
  EXPECT_EQ(h.kept(), 3u);
  EXPECT_EQ(selected(h, 0, 3), (strings{"m1", "m2", "m3"}));
  add(h, 5); // m4..m8: the ring wraps more than once
  EXPECT_EQ(h.kept(), 3u);
  EXPECT_EQ(selected(h, 0, 8), (strings{"m6", "m7", "m8"}));
}

TEST(MessageHistory, SelectsByIdWithinWhatIsKept)
{
  message_history h(5);
  add(h, 12); // keeps m8..m12
  EXPECT_EQ(selected(h, 9, 12), (strings{"m10", "m11", "m12"}));
  EXPECT_EQ(selected(h, 0, 9), (strings{"m8", "m9"})); // older than the window: from its start
  EXPECT_EQ(selected(h, 3, 10), (strings{"m8", "m9", "m10"}));
  EXPECT_EQ(selected(h, 12, 12), strings{}); // after the newest: none
  EXPECT_EQ(selected(h, 40, 12), strings{});
  EXPECT_EQ(selected(h, 0, 7), strings{}); // up to an id no longer kept
  EXPECT_EQ(selected(h, 0, 99), (strings{"m8", "m9", "m10", "m11", "m12"}));
  EXPECT_EQ(selected(h, ~std::uint64_t{0}, ~std::uint64_t{0}), strings{});
}

// --history 0 keeps none, and the ids count on (IDS still numbers them).
TEST(MessageHistory, CapacityZeroKeepsNothing)
{
  message_history h(0);
  EXPECT_EQ(h.number(), 1u);
  EXPECT_EQ(h.kept(), 0u);
  EXPECT_EQ(selected(h, 0, 1), strings{});
  EXPECT_EQ(h.number(), 2u);
}

// Replies get references to the ring's own lines, not copies.
TEST(MessageHistory, SelectionSharesTheLines)
{
  message_history h(2);
  add(h, 1);
  const std::vector<shared_text> a = shared(h, 0, 1);
  const std::vector<shared_text> b = shared(h, 0, 1);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].get(), b[0].get());
}

// A line a reply holds is never written again: the ring takes new storage
// for the message that replaces it, and the reply's line outlives the ring.
TEST(MessageHistory, AHeldLineIsNeverChanged)
{
  std::vector<shared_text> held;
  {
    message_history h(2);
    add(h, 2);
    held = shared(h, 0, 1);
    add(h, 5);
    EXPECT_EQ(selected(h, 0, 7), (strings{"m6", "m7"}));
    EXPECT_NE(shared(h, 6, 7)[0].get(), held[0].get());
  }
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(*held[0], "m1");
}

// Once no reply holds a forgotten line, its storage takes the next one.
TEST(MessageHistory, ALineNobodyHoldsIsReused)
{
  message_history h(2);
  add(h, 2);
  const std::string* first = shared(h, 0, 1)[0].get(); // released at once
  add(h, 2);                                           // m3 replaces m1
  EXPECT_EQ(shared(h, 2, 3)[0].get(), first);
  EXPECT_EQ(selected(h, 0, 4), (strings{"m3", "m4"}));
}

// Replies release their lines on other threads while the ring goes on
// writing (natterd's writers); run under TSan, this shows the ring's reuse
// of a released line is ordered after every read of it.
TEST(MessageHistory, LinesReleasedOnOtherThreadsAreReusedSafely)
{
  message_history h(4);
  std::mutex room_lock;
  std::mutex m;
  std::condition_variable cv;
  std::deque<std::pair<std::uint64_t, shared_text>> queue;
  bool done = false;
  int bad = 0;
  std::thread reader(
      [&]
      {
        for (;;)
        {
          std::unique_lock lock(m);
          cv.wait(lock, [&] { return done || !queue.empty(); });
          if (queue.empty())
            return;
          auto [id, line] = std::move(queue.front());
          queue.pop_front();
          lock.unlock();
          if (*line != "m" + std::to_string(id))
            ++bad;
        } // the line is released here, on this thread
      });
  for (int i = 0; i < 20000; ++i)
  {
    std::uint64_t id = 0;
    std::vector<message_history::lent> lent;
    {
      std::lock_guard lock(room_lock);
      id = h.number();
      h.line_for_newest() = "m" + std::to_string(id);
      if (i % 3 == 0)
        h.select(id - 1, id, lent);
    }
    if (!lent.empty())
    {
      std::lock_guard lock(m);
      queue.emplace_back(id, std::move(lent.front()).share());
      cv.notify_one();
    }
  }
  {
    std::lock_guard lock(m);
    done = true;
    cv.notify_one();
  }
  reader.join();
  EXPECT_EQ(bad, 0);
}

} // namespace
