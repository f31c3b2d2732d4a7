// The core's counts for natterd's metrics (core/counters.hpp): made into
// the calling thread's block when one is installed, and nowhere otherwise.
#include "natter/core/counters.hpp"

#include "support/core_client.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

namespace natter::test
{
namespace
{

using namespace std::chrono_literals;

/// Installs a fresh block on this thread for the scope.
struct counting_here
{
  counting_here() { core::this_thread_counters = &block; }
  ~counting_here() { core::this_thread_counters = nullptr; }
  counting_here(const counting_here&) = delete;
  counting_here& operator=(const counting_here&) = delete;

  std::uint64_t replies(int code) const
  {
    return block.error_replies[static_cast<std::size_t>(code - 400)].value();
  }

  core::counters block;
};

TEST(Counters, NothingIsCountedWithoutABlock)
{
  ASSERT_EQ(core::counting(), nullptr);
  core::room r(fast());
  core_client a(r);
  join(a, "alice");
  a.send("MSG hi\nFROB\n");
  EXPECT_EQ(a.read(), (lines{"421 FROB unknown command"}));
}

TEST(Counters, LinesMessagesAndRepliesAreCounted)
{
  counting_here here;
  core::room r(fast());
  core_client a(r);
  core_client b(r);
  join(a, "alice");
  join(b, "bob"); // alice: JOIN bob
  a.send("MSG one\nMSG two\n\nFROB\nMSG\nTELL carol hi\nPING x\n");
  EXPECT_EQ(a.read(),
            (lines{"JOIN bob", "421 FROB unknown command", "400 MSG missing or bad argument",
                   "434 carol no such nick", "PONG x"}));
  EXPECT_EQ(b.read(), (lines{"MSG alice one", "MSG alice two"}));
  core_client c(r);
  c.send("MSG early\n");
  EXPECT_EQ(c.read().back(), "401 register first with NICK");

  // Two NICKs, seven lines of alice's (the empty one too), one of c's.
  EXPECT_EQ(here.block.lines_received.value(), 2u + 7u + 1u);
  // Three greetings, two 200s, JOIN bob, alice's four replies, two MSGs
  // to bob, c's 401.
  EXPECT_EQ(here.block.lines_sent.value(), 3u + 2u + 1u + 4u + 2u + 1u);
  EXPECT_EQ(here.block.room_messages.value(), 2u);
  EXPECT_EQ(here.replies(421), 1u);
  EXPECT_EQ(here.replies(400), 1u);
  EXPECT_EQ(here.replies(434), 1u);
  EXPECT_EQ(here.replies(401), 1u);
  EXPECT_EQ(here.block.sendq_drops.value(), 0u);
}

TEST(Counters, ADropAndItsFinalLineAreCounted)
{
  counting_here here;
  core::config cfg = fast();
  cfg.max_sendq = 2000;
  core::room r(cfg);
  core_client talker(r);
  core_client idle(r);
  join(talker, "talker");
  join(idle, "idle");
  const std::string text(100, 'x');
  for (int i = 0; i < 40; ++i)
    talker.send("MSG " + text + "\n"); // idle never reads
  EXPECT_EQ(here.block.sendq_drops.value(), 1u);
  EXPECT_EQ(here.replies(524), 1u);
  EXPECT_EQ(talker.read().back(), "QUIT idle send queue exceeded");
}

TEST(Counters, FloodControlPausesAreCounted)
{
  counting_here here;
  core::config cfg;
  cfg.rate = 10;
  cfg.burst = 2;
  core::room r(cfg);
  core_client a(r);
  a.read(); // the greeting
  a.send("PING 1\nPING 2\nPING 3\n");
  EXPECT_EQ(a.read(), (lines{"PONG 1", "PONG 2"}));
  EXPECT_EQ(here.block.flood_pauses.value(), 1u);
  a.tick(t0 + 100ms);
  EXPECT_EQ(a.read(), (lines{"PONG 3"}));
}

} // namespace
} // namespace natter::test
