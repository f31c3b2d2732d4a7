// Every transcript in spec/natter.md as a vector: each line a client sends
// parses to what the reply after it says, and each line a client receives
// is a well-formed server line.
#include "natter/proto/command_parser.hpp"
#include "natter/proto/greeting.hpp"
#include "natter/proto/server_line.hpp"

#include "support/parse_log.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <string>
#include <vector>

namespace natter::test
{
namespace
{

struct transcript_line
{
  int spec_line;
  std::string who;
  bool sent; // true for "who> line", false for "who< line"
  std::string text;
};

std::vector<transcript_line> read_transcripts()
{
  std::ifstream in(NATTER_SOURCE_DIR "/spec/natter.md");
  std::vector<transcript_line> out;
  std::string line;
  bool inside = false;
  for (int n = 1; std::getline(in, line); ++n)
  {
    if (line.rfind("```", 0) == 0)
    {
      inside = !inside && line == "```transcript";
      continue;
    }
    if (!inside)
      continue;
    const std::size_t mark = line.find_first_of("<>");
    if (mark == std::string::npos || mark + 1 >= line.size() || line[mark + 1] != ' ')
    {
      ADD_FAILURE() << "spec line " << n << " is not a transcript line: " << line;
      continue;
    }
    out.push_back({n, line.substr(0, mark), line[mark] == '>', line.substr(mark + 2)});
  }
  return out;
}

TEST(SpecExamples, ThereAreTranscripts)
{
  EXPECT_GT(read_transcripts().size(), 50u);
}

TEST(SpecExamples, ReceivedLinesAreWellFormed)
{
  for (const auto& l : read_transcripts())
  {
    if (l.sent)
      continue;
    EXPECT_NE(proto::parse_server_line(l.text).what, proto::server_line::kind::invalid)
        << "spec line " << l.spec_line << ": " << l.text;
  }
}

// Section 9.1: every greeting of a transcript is one by the rule
// `greeting`, with every advert of N-CONN-11 once and the same values (the
// transcripts show natterd with its defaults).
TEST(SpecExamples, GreetingsCarryEveryAdvertOnce)
{
  int greetings = 0;
  std::string first;
  for (const auto& l : read_transcripts())
  {
    if (l.sent || !l.text.starts_with("220 "))
      continue;
    ++greetings;
    const proto::greeting g = proto::parse_greeting(l.text);
    EXPECT_EQ(g.what, proto::greeting::status::ok) << "spec line " << l.spec_line;
    for (const std::string_view key : proto::required_adverts)
    {
      int seen = 0;
      for (const proto::advert& a : g.adverts)
        seen += a.key == key ? 1 : 0;
      EXPECT_EQ(seen, 1) << "spec line " << l.spec_line << ": " << key;
    }
    if (first.empty())
      first = l.text;
    EXPECT_EQ(l.text, first) << "spec line " << l.spec_line;
  }
  EXPECT_GT(greetings, 10);
}

// A line the parser refuses must be answered by the reply the parser names;
// a line it accepts must not be answered by a parser-level error.
TEST(SpecExamples, SentLinesParseAsTheRepliesSay)
{
  const auto lines = read_transcripts();
  int checked = 0;
  for (std::size_t i = 0; i < lines.size(); ++i)
  {
    if (!lines[i].sent)
      continue;
    const std::string wire = lines[i].text + "\r\n";
    const auto events = parse_all(wire);
    ASSERT_LE(events.size(), 1u) << "spec line " << lines[i].spec_line;
    // The first reply (a line starting with a digit) this client gets next.
    std::string reply;
    for (std::size_t j = i + 1; j < lines.size(); ++j)
      if (lines[j].who == lines[i].who && !lines[j].sent && !lines[j].text.empty() &&
          std::isdigit(static_cast<unsigned char>(lines[j].text[0])))
      {
        reply = lines[j].text.substr(0, 3);
        break;
      }
    if (events.empty() || reply == "500")
      continue; // an ignored line, or HTTP caught by the session (9.2)
    const std::string& ev = events.front();
    if (ev.size() > 1 && ev[0] == 'E' && std::isdigit(static_cast<unsigned char>(ev[1])))
    {
      EXPECT_EQ(ev.substr(1, 3), reply)
          << "spec line " << lines[i].spec_line << ": " << lines[i].text;
    }
    else
    {
      for (const char* parser_code : {"413", "415", "421", "432"})
        EXPECT_NE(reply, parser_code) << "spec line " << lines[i].spec_line;
    }
    ++checked;
  }
  EXPECT_GT(checked, 30);
}

} // namespace
} // namespace natter::test
