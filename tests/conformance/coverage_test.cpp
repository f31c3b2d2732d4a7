// Coverage of the spec by the conformance suite (issue 5): every requirement
// ID defined in spec/natter.md is named by a case in conformance/cases/ or
// listed with a reason in conformance/UNTESTABLE.md, no case or list entry
// names an ID that does not exist, and no ID is in both places.
#include "case_file.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
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

// Every sentence of the spec's prose with a key word of BCP 14 (MUST, SHOULD,
// MAY, ...) carries a requirement ID, so that every normative sentence can
// be cited. Code blocks are not prose; a table row may not be normative.
TEST(ConformCoverage, EveryNormativeSentenceHasAnId)
{
  const std::string spec = read_file(NATTER_SPEC_PATH);
  static const std::regex keyword(R"(\b(MUST|SHOULD|MAY|REQUIRED|SHALL|RECOMMENDED|OPTIONAL)\b)");
  static const std::regex id(R"(\[N-[A-Z]+-[0-9]+\])");
  // A sentence ends after an ID, or at . ! ? before a capital, ` or (.
  static const std::regex sentence_end(R"((\]|[.!?])\s+(?=[A-Z`(]))");
  std::istringstream in(spec);
  std::string line;
  std::string para;
  bool in_code = false;
  int line_no = 0;
  int para_line = 0;
  const auto check = [&](const std::string& p, int where)
  {
    if (p.empty() || p.find("BCP 14") != std::string::npos)
      return;
    std::size_t from = 0;
    for (auto it = std::sregex_iterator(p.begin(), p.end(), sentence_end);; ++it)
    {
      const bool last = it == std::sregex_iterator();
      const std::size_t to = last ? p.size() : static_cast<std::size_t>(it->position() + 1);
      const std::string s = p.substr(from, to - from);
      EXPECT_FALSE(std::regex_search(s, keyword) && !std::regex_search(s, id))
          << "spec/natter.md:" << where << ": a normative sentence without an ID: " << s;
      if (last)
        break;
      from = static_cast<std::size_t>(it->position() + it->length());
    }
  };
  while (std::getline(in, line))
  {
    ++line_no;
    if (line.rfind("```", 0) == 0)
    {
      in_code = !in_code;
      continue;
    }
    if (in_code)
      continue;
    if (line.rfind("|", 0) == 0)
    {
      EXPECT_FALSE(std::regex_search(line, keyword))
          << "spec/natter.md:" << line_no << ": a key word in a table row: " << line;
      continue;
    }
    if (line.find_first_not_of(' ') == std::string::npos)
    {
      check(para, para_line);
      para.clear();
      continue;
    }
    if (para.empty())
      para_line = line_no;
    para += (para.empty() ? "" : " ") + line.substr(line.find_first_not_of(' '));
  }
  check(para, para_line);
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
