// Every vector again, cut at every offset and in chunk sizes, and a large
// mixed stream under random chunkings: the events must never depend on how
// the stream was cut (spec section 4; Beast parsegrind, NATS split_test).
#include "natter/proto/command_parser.hpp"

#include "proto/vectors.hpp"
#include "support/parse_log.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace natter::test
{
namespace
{

class SplitVectors : public ::testing::TestWithParam<vector_case>
{
};

TEST_P(SplitVectors, EveryOffset)
{
  const std::string& in = GetParam().input;
  for (std::size_t cut = 0; cut <= in.size(); ++cut)
  {
    const std::string_view whole(in);
    EXPECT_EQ(parse_chunks({whole.substr(0, cut), whole.substr(cut)}), GetParam().events)
        << "cut at " << cut;
  }
}

TEST_P(SplitVectors, ChunkSizes)
{
  for (std::size_t size : {100000u, 1000u, 100u, 10u, 5u, 2u, 1u})
    EXPECT_EQ(parse_sized(GetParam().input, size), GetParam().events) << "size " << size;
}

INSTANTIATE_TEST_SUITE_P(CommandParser, SplitVectors, ::testing::ValuesIn(parser_vectors()),
                         [](const ::testing::TestParamInfo<vector_case>& tp)
                         { return std::string(tp.param.name); });

// A large stream made of every vector, many overlong lines and random text,
// fed in random chunkings, must give the events of one feed.
TEST(SplitStream, RandomChunkingsMatchOneFeed)
{
  std::mt19937 rng(20261126);
  std::string stream;
  for (int round = 0; round < 40; ++round)
  {
    for (const auto& v : parser_vectors())
      stream += v.input;
    stream += "MSG " + std::string(rng() % 3000, 'L') + (rng() % 2 ? "\r\n" : "\n");
    stream += "PING " + std::to_string(round) + "\r\n";
  }
  // Terminate whatever vector left a partial line, so the tail is defined.
  stream += "\r\nPING end\r\n";
  const auto expected = parse_all(stream);
  ASSERT_GT(expected.size(), 1000u);

  for (int trial = 0; trial < 50; ++trial)
  {
    std::vector<std::string_view> chunks;
    const std::string_view all(stream);
    for (std::size_t at = 0; at < all.size();)
    {
      const std::size_t max = trial % 3 == 0 ? 8 : trial % 3 == 1 ? 300 : 5000;
      const std::size_t n = std::min<std::size_t>(1 + rng() % max, all.size() - at);
      chunks.push_back(all.substr(at, n));
      at += n;
    }
    ASSERT_EQ(parse_chunks(chunks), expected) << "trial " << trial;
  }
}

} // namespace
} // namespace natter::test
