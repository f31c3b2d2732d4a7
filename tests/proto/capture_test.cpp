// What netkit telnet really sends when a typed character contains 0x83,
// 0x8F, 0x9A or 0x9C (tests/proto/data/): each capture parses to exactly the
// line typed, with its IAC DO TIMING-MARKs reported in stream order, however
// the stream is cut (spec/natter.md section 6.4) [N-TELNET-18].
#include "natter/proto/command_parser.hpp"

#include "support/netkit_captures.hpp"
#include "support/parse_log.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace natter::test
{
namespace
{

/// The events a capture must give: a request for each TIMING-MARK, each
/// before the line is complete, then the line.
std::vector<std::string> expected(const netkit_capture& c)
{
  std::vector<std::string> out(static_cast<std::size_t>(c.timing_marks), "T253 6");
  out.emplace_back(c.typed);
  return out;
}

TEST(NetkitCapture, GivesTheTypedLine)
{
  for (const netkit_capture& c : netkit_captures)
  {
    const std::string octets = read_capture(c);
    ASSERT_FALSE(octets.empty()) << c.file;
    EXPECT_EQ(parse_all(octets), expected(c)) << c.file;
  }
}

TEST(NetkitCapture, CutAtEveryOffset)
{
  for (const netkit_capture& c : netkit_captures)
  {
    const std::string octets = read_capture(c);
    const std::string_view all(octets);
    for (std::size_t cut = 0; cut <= all.size(); ++cut)
      EXPECT_EQ(parse_chunks({all.substr(0, cut), all.substr(cut)}), expected(c))
          << c.file << " cut at " << cut;
  }
}

TEST(NetkitCapture, CutAtEveryPairOfOffsets)
{
  for (const netkit_capture& c : netkit_captures)
  {
    const std::string octets = read_capture(c);
    const std::string_view all(octets);
    for (std::size_t i = 0; i <= all.size(); ++i)
      for (std::size_t j = i; j <= all.size(); ++j)
        ASSERT_EQ(parse_chunks({all.substr(0, i), all.substr(i, j - i), all.substr(j)}),
                  expected(c))
            << c.file << " cut at " << i << " and " << j;
  }
}

TEST(NetkitCapture, OctetAtATime)
{
  for (const netkit_capture& c : netkit_captures)
    EXPECT_EQ(parse_sized(read_capture(c), 1), expected(c)) << c.file;
}

} // namespace
} // namespace natter::test
