// Every transcript in spec/natter.md as a vector: each line a client sends
// parses to what the reply after it says, each line a client receives is a
// well-formed server line, and each transcript runs against the core as it
// is written.
#include "natter/proto/command_parser.hpp"
#include "natter/proto/greeting.hpp"
#include "natter/proto/server_line.hpp"

#include "natter/core/room.hpp"
#include "support/core_client.hpp"
#include "support/parse_log.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
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
  int block; // which transcript, counting from 0
};

std::vector<transcript_line> read_transcripts()
{
  std::ifstream in(NATTER_SOURCE_DIR "/spec/natter.md");
  std::vector<transcript_line> out;
  std::string line;
  bool inside = false;
  int block = -1;
  for (int n = 1; std::getline(in, line); ++n)
  {
    if (line.rfind("```", 0) == 0)
    {
      inside = !inside && line == "```transcript";
      block += inside ? 1 : 0;
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
    out.push_back({n, line.substr(0, mark), line[mark] == '>', line.substr(mark + 2), block});
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

/// "2026-12-01T18:30:00.123Z" as a time point.
core::wall_time parse_msg_time(const std::string& t)
{
  using namespace std::chrono;
  auto field = [&](std::size_t at, std::size_t n) { return std::stoi(t.substr(at, n)); };
  const sys_days day = year(field(0, 4)) / field(5, 2) / field(8, 2);
  return day + hours(field(11, 2)) + minutes(field(14, 2)) + seconds(field(17, 2)) +
         milliseconds(field(20, 3));
}

/// One transcript run against a room with natterd's defaults: every line a
/// client sends is fed to its connection when the transcript sends it, and
/// every line the transcript shows it receiving must be the next it has
/// received, byte for byte; at the end nothing is left unread. Times and the
/// epoch are examples in the spec, so the room is given the ones the
/// transcript shows: its clock reads, for the k-th message accepted, the
/// time the transcript's 212 lines give message k, and its epoch is the
/// transcript's 213's. That they then come back where the transcript shows
/// them is what is checked.
void run_transcript(const std::vector<transcript_line>& script)
{
  std::map<std::uint64_t, core::wall_time> times;
  core::config cfg;
  for (const transcript_line& l : script)
  {
    if (!l.sent && l.text.starts_with("212-"))
      times[std::stoull(l.text.substr(4))] =
          parse_msg_time(l.text.substr(l.text.find(' ') + 1, 24));
    if (!l.sent && l.text.starts_with("213 "))
      cfg.epoch = l.text.substr(4, l.text.find(' ', 4) - 4);
  }
  std::uint64_t accepted = 0;
  cfg.wall_clock = [&](core::time_point)
  {
    const auto it = times.find(++accepted);
    return it != times.end() ? it->second : core::wall_time();
  };
  core::room r(cfg);
  std::map<std::string, std::unique_ptr<core_client>> clients;
  std::map<std::string, std::deque<std::string>> unread;
  for (const transcript_line& l : script)
  {
    auto& c = clients[l.who];
    if (!c)
      c = std::make_unique<core_client>(r);
    if (l.sent)
    {
      c->send(l.text + "\r\n");
      continue;
    }
    std::deque<std::string>& q = unread[l.who];
    for (std::string& got : c->read())
      q.push_back(std::move(got));
    ASSERT_FALSE(q.empty()) << "spec line " << l.spec_line << ": " << l.who << " gets nothing, not "
                            << l.text;
    EXPECT_EQ(q.front(), l.text) << "spec line " << l.spec_line;
    q.pop_front();
  }
  for (auto& [who, c] : clients)
  {
    natter::test::lines rest(unread[who].begin(), unread[who].end());
    for (const std::string& got : c->read())
      rest.push_back(got);
    EXPECT_EQ(rest, natter::test::lines{}) << who << " gets more than the transcript shows";
  }
}

TEST(SpecExamples, TranscriptsRunAgainstTheCore)
{
  const std::vector<transcript_line> all = read_transcripts();
  std::map<int, std::vector<transcript_line>> blocks;
  for (const transcript_line& l : all)
    blocks[l.block].push_back(l);
  EXPECT_GT(blocks.size(), 10u);
  for (const auto& entry : blocks)
  {
    SCOPED_TRACE("transcript at spec line " + std::to_string(entry.second.front().spec_line));
    run_transcript(entry.second);
  }
}

} // namespace
} // namespace natter::test
