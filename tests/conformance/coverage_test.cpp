// Coverage of the spec by the conformance suite (issue 5): every requirement
// ID defined in spec/natter.md is named by a case in conformance/cases/ or
// listed with a reason in conformance/UNTESTABLE.md, no case or list entry
// names an ID that does not exist, and no ID is in both places.
#include "case_file.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace
{

std::string read_file(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::set<std::string> spec_ids()
{
  const auto ids = natter::conform::requirement_ids(read_file(NATTER_SPEC_PATH));
  return {ids.begin(), ids.end()};
}

/// ID -> reason, from the lines of UNTESTABLE.md that start with "- [N-".
std::map<std::string, std::string> untestable()
{
  std::map<std::string, std::string> out;
  std::istringstream in(read_file(NATTER_UNTESTABLE_PATH));
  std::string line;
  while (std::getline(in, line))
  {
    if (line.rfind("- [N-", 0) != 0)
      continue;
    const std::size_t close = line.find(']');
    const std::string id = line.substr(3, close - 3);
    std::string reason = close == std::string::npos ? "" : line.substr(close + 1);
    while (!reason.empty() && (reason.front() == ' ' || reason.front() == ':'))
      reason.erase(0, 1);
    out[id] = reason;
  }
  return out;
}

TEST(ConformCoverage, SpecHasItsRequirementIds)
{
  // The spec defines 145 IDs today; a sudden drop means the parse broke.
  EXPECT_GE(spec_ids().size(), 100U);
}

TEST(ConformCoverage, EveryRequirementIsCoveredOrUntestable)
{
  const auto spec = spec_ids();
  const auto skip = untestable();
  std::set<std::string> covered;
  for (const auto& tc : natter::conform::load_cases({NATTER_CONFORMANCE_CASES_DIR}))
    for (const std::string& id : tc.requirements)
    {
      covered.insert(id);
      EXPECT_TRUE(spec.count(id)) << tc.file << ":" << tc.line << ": case " << tc.id << " cites "
                                  << id << ", which spec/natter.md does not define";
    }
  for (const auto& [id, reason] : skip)
  {
    EXPECT_TRUE(spec.count(id)) << "UNTESTABLE.md lists " << id
                                << ", which the spec does not define";
    EXPECT_GE(reason.size(), 10U) << "UNTESTABLE.md gives no reason for " << id;
    EXPECT_FALSE(covered.count(id))
        << id << " is covered by a case and also listed in UNTESTABLE.md";
  }
  for (const std::string& id : spec)
    EXPECT_TRUE(covered.count(id) || skip.count(id))
        << id
        << " is neither covered by a case in conformance/cases nor listed in "
           "conformance/UNTESTABLE.md";
}

} // namespace
