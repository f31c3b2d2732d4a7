// The fan-out path in the core, without sockets: one sender's MSG lines
// through its core::connection into the room, and every receiver's writer
// taking what it was queued (a peek and a written() per receiver per round,
// as natterd's connections do per flush). Only the core's work is counted:
// no syscalls, no Asio, no other thread, so under callgrind the count of
// instructions is exact and the same on a loaded machine.
//
// Run: build/bin/room_bench RECEIVERS HISTORY MESSAGES [TEXT_OCTETS [count]]
// prints the nanoseconds per message (wall time); with `count`, the core
// counts into a block on this thread, as natterd --metrics has it. For instructions, run it
// under `valgrind --tool=callgrind` twice, with MESSAGES and 2 x MESSAGES:
// the difference is what MESSAGES messages cost, setup excluded.
#include "natter/core/connection.hpp"
#include "natter/core/counters.hpp"
#include "natter/core/room.hpp"
#include "natter/server/wall_clock.hpp"

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace
{

using namespace natter::core;

/// A connection whose socket takes everything: what is peeked is written.
struct sink final : transport
{
  explicit sink(room& r) : c(r, *this, time_point{}) { c.start(); }
  void wake() noexcept override {}

  std::size_t drain()
  {
    std::size_t total = 0;
    for (std::size_t count; (count = c.peek(pieces, 1 << 20)) > 0;)
    {
      std::size_t n = 0;
      for (std::size_t i = 0; i < count; ++i)
        n += pieces[i].size;
      c.wrote(n, time_point{});
      total += n;
    }
    return total;
  }

  connection c;
  std::array<piece, 64> pieces{};
};

} // namespace

int main(int argc, char** argv)
{
  if (argc < 4)
  {
    std::fprintf(stderr, "usage: room_bench RECEIVERS HISTORY MESSAGES [TEXT_OCTETS [count]]\n");
    return 2;
  }
  const std::size_t receivers = std::strtoul(argv[1], nullptr, 10);
  const std::size_t messages = std::strtoul(argv[3], nullptr, 10);
  const std::size_t text = argc > 4 ? std::strtoul(argv[4], nullptr, 10) : 60;
  counters block;
  const bool counting = argc > 5 && std::string_view(argv[5]) == "count";
  if (counting)
    this_thread_counters = &block;
  config cfg;
  cfg.rate = 0;
  cfg.history = std::strtoul(argv[2], nullptr, 10);
  cfg.max_sendq = 1 << 30;
  cfg.max_total_sendq = std::size_t{1} << 40;
  cfg.wall_clock = natter::server::system_wall_clock(); // as natterd's
  room r(cfg);
  std::vector<std::unique_ptr<sink>> all;
  for (std::size_t i = 0; i <= receivers; ++i)
  {
    all.push_back(std::make_unique<sink>(r));
    all.back()->c.received("NICK r" + std::to_string(i) + "\n", time_point{});
  }
  for (auto& s : all)
    s->drain();
  sink& sender = *all.front();
  const std::string line = "MSG " + std::string(text, 'x') + "\n";
  constexpr std::size_t round = 32; // messages between two flushes of every receiver
  std::size_t octets = 0;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t m = 0; m < messages; ++m)
  {
    sender.c.received(line, clock::now()); // natterd reads it once per read
    if ((m + 1) % round == 0 || m + 1 == messages)
      for (auto& s : all)
        octets += s->drain();
  }
  const std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - start;
  std::printf("receivers=%zu history=%zu messages=%zu text=%zu ns_per_message=%.1f octets=%zu "
              "counted_lines_sent=%llu\n",
              receivers, cfg.history, messages, text, took.count() / static_cast<double>(messages),
              octets, static_cast<unsigned long long>(block.lines_sent.value()));
  return 0;
}
