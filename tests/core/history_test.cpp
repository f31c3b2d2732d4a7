// The room's numbering and its ring of HISTORY lines on their own (spec
// 7.3, 7.11): ids from 1, the last `capacity` lines kept, the oldest one
// handed back when it is forgotten, and selection by id.
#include "natter/core/history.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace
{

using natter::core::make_text;
using natter::core::message_history;
using natter::core::shared_text;

std::vector<std::string> selected(const message_history& h, std::uint64_t after, std::uint64_t upto)
{
  std::vector<shared_text> lines;
  h.select(after, upto, lines);
  std::vector<std::string> out;
  for (const shared_text& l : lines)
    out.push_back(*l);
  return out;
}

/// Numbers and keeps "m<id>" for `n` messages.
void add(message_history& h, int n)
{
  for (int i = 0; i < n; ++i)
  {
    const std::uint64_t id = h.number();
    h.keep(make_text("m" + std::to_string(id)));
  }
}

using strings = std::vector<std::string>;

// N-MSG-5: consecutive ids from 1.
TEST(MessageHistory, NumbersFromOne)
{
  message_history h(3);
  EXPECT_EQ(h.newest(), 0u);
  EXPECT_EQ(h.number(), 1u);
  h.keep(make_text("m1"));
  EXPECT_EQ(h.number(), 2u);
  h.keep(make_text("m2"));
  EXPECT_EQ(h.newest(), 2u);
}

TEST(MessageHistory, KeepsTheLastCapacityAndHandsBackTheOldest)
{
  message_history h(3);
  add(h, 3);
  EXPECT_EQ(h.kept(), 3u);
  EXPECT_EQ(selected(h, 0, 3), (strings{"m1", "m2", "m3"}));
  h.number();
  const shared_text forgotten = h.keep(make_text("m4"));
  ASSERT_TRUE(forgotten);
  EXPECT_EQ(*forgotten, "m1");
  EXPECT_EQ(h.kept(), 3u);
  add(h, 4); // m5..m8: the ring wraps more than once
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
  const std::uint64_t id = h.number();
  EXPECT_EQ(id, 1u);
  const shared_text line = make_text("m1");
  EXPECT_EQ(h.keep(line), line);
  EXPECT_EQ(h.kept(), 0u);
  EXPECT_EQ(selected(h, 0, 1), strings{});
  EXPECT_EQ(h.number(), 2u);
}

// The ring gives out references to the lines it keeps, not copies.
TEST(MessageHistory, SelectionSharesTheLines)
{
  message_history h(2);
  h.number();
  const shared_text line = make_text("m1");
  h.keep(line);
  std::vector<shared_text> a;
  std::vector<shared_text> b;
  h.select(0, 1, a);
  h.select(0, 1, b);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].get(), line.get());
  EXPECT_EQ(b[0].get(), line.get());
}

} // namespace
