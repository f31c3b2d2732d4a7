#include "natter/proto/command_parser.hpp"

#include "proto/vectors.hpp"
#include "support/parse_log.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace natter::test
{
namespace
{

using events = std::vector<std::string>;

class ParserVectors : public ::testing::TestWithParam<vector_case>
{
};

TEST_P(ParserVectors, OnePiece)
{
  EXPECT_EQ(parse_all(GetParam().input), GetParam().events);
}

INSTANTIATE_TEST_SUITE_P(CommandParser, ParserVectors, ::testing::ValuesIn(parser_vectors()),
                         [](const ::testing::TestParamInfo<vector_case>& tp)
                         { return std::string(tp.param.name); });

// Section 4: "Maximum line length 1024 octets including the terminator."
TEST(CommandParser, LineExactlyAtLimitIsAccepted)
{
  const std::string crlf_text(1024 - 2 - 4, 'x'); // "MSG " + text + CRLF
  const std::string lf_text(1024 - 1 - 4, 'y');
  EXPECT_EQ(parse_all("MSG " + crlf_text + "\r\n"), (events{"MSG " + crlf_text}));
  EXPECT_EQ(parse_all("MSG " + lf_text + "\n"), (events{"MSG " + lf_text}));
  EXPECT_EQ(parse_all("MSG " + crlf_text + "\r" + std::string(1, '\0')),
            (events{"MSG " + crlf_text}));
}

TEST(CommandParser, OneOctetOverLimitGets413)
{
  const std::string text(1024 - 2 - 4 + 1, 'x');
  EXPECT_EQ(parse_all("MSG " + text + "\r\nPING\r\n"), (events{"E413", "PING"}));
  EXPECT_EQ(parse_all("MSG " + text + "x\nPING\r\n"), (events{"E413", "PING"}));
}

// Section 4.2: the 413 goes out as soon as L octets arrived without a
// terminator; a CR that is the L-th octet already decides it.
TEST(CommandParser, Overlong413SentWhenTheLimitIsReached)
{
  proto::command_parser parser(32);
  std::vector<std::string> seen;
  auto record = [&](const proto::parse_event& ev) { seen.push_back(render(ev)); };
  parser.feed("MSG abcdefghijklmnopqrstuvwxyz!\r", record); // 32 octets
  EXPECT_EQ(seen, (events{"E413"}));
  parser.feed("\nPING\r\n", record);
  EXPECT_EQ(seen, (events{"E413", "PING"}));

  seen.clear();
  parser.feed("MSG abcdefghijklmnopqrstuvwxyz!!", record); // 32 octets, no CR
  EXPECT_EQ(seen, (events{"E413"}));
}

// The examples of spec section 4.2, with --max-line 32.
TEST(CommandParser, SpecLineLengthExamples)
{
  EXPECT_EQ(parse_all("MSG abcdefghijklmnopqrstuvwxyz\r\n", 32),
            (events{"MSG abcdefghijklmnopqrstuvwxyz"}));
  EXPECT_EQ(parse_all("MSG abcdefghijklmnopqrstuvwxyz!\n", 32),
            (events{"MSG abcdefghijklmnopqrstuvwxyz!"}));
  EXPECT_EQ(parse_all("MSG abcdefghijklmnopqrstuvwxyz!\r\n", 32), (events{"E413"}));
}

TEST(CommandParser, ConfiguredLimitApplies)
{
  EXPECT_EQ(parse_all("MSG 0123456789012345678901234\r\n", 32),
            (events{"MSG 0123456789012345678901234"}));
  EXPECT_EQ(parse_all("MSG 012345678901234567890123456\r\nPING\r\n", 32), (events{"E413", "PING"}));
}

TEST(CommandParser, LimitBelowMinimumIsRaised)
{
  EXPECT_EQ(proto::command_parser(1).max_line(), proto::min_max_line);
}

// "A longer line gets one 413 reply; the rest of it up to the next LF is
// discarded without being buffered; the connection stays open."
TEST(CommandParser, HugeLineGetsOne413AndStaysBounded)
{
  proto::command_parser parser;
  std::vector<std::string> seen;
  const std::string chunk(65536, 'z');
  std::size_t max_held = 0;
  auto record = [&](const proto::parse_event& ev) { seen.push_back(render(ev)); };
  parser.feed("MSG ", record);
  for (int i = 0; i < 256; ++i) // 16 MiB without a LF
  {
    parser.feed(chunk, record);
    max_held = std::max(max_held, parser.buffered());
  }
  parser.feed("\r\nPING after\r\n", record);
  EXPECT_EQ(seen, (events{"E413", "PING after"}));
  EXPECT_LT(max_held, parser.max_line());
}

TEST(CommandParser, OverlongLineSplitAcrossReadsReportsOnce)
{
  const std::string text(3000, 'q');
  const std::string input = "MSG " + text + "\r\nECHO ok\r\n";
  for (std::size_t size : {1u, 7u, 100u, 1023u, 1024u, 1025u})
    EXPECT_EQ(parse_sized(input, size), (events{"E413", "ECHO ok"})) << "chunk " << size;
}

TEST(CommandParser, OverlongLineWithCrAtTheEdge)
{
  // 1022 content octets fit with CRLF; a CR that is not a terminator makes
  // the 1023rd content octet, and the line can then no longer fit.
  const std::string text(1018, 'c');
  EXPECT_EQ(parse_all("MSG " + text + "\rX\r\nPING\r\n"), (events{"E413", "PING"}));
  EXPECT_EQ(parse_sized("MSG " + text + "\rX\r\nPING\r\n", 1), (events{"E413", "PING"}));
}

TEST(CommandParser, IpEndsDiscardOfOverlongLine)
{
  const std::string text(2000, 'o');
  EXPECT_EQ(parse_all("MSG " + text + "\xFF\xF4PING\r\n"), (events{"E413", "PING"}));
}

// Section 6.4: an IP inside a character of an overlong line is an octet of
// that line, not the IP that ends its discarding [N-TELNET-18]; the next IP
// outside a character is [N-TELNET-15].
TEST(CommandParser, IpInsideCharacterDoesNotEndDiscardOfOverlongLine)
{
  const std::string text(2000, 'o');
  EXPECT_EQ(parse_all("MSG " + text + "\xC3\xFF\xF4PING\r\nECHO x\r\n"),
            (events{"E413", "ECHO x"}));
  EXPECT_EQ(parse_all("MSG " + text +
                      "\xC3\xFF\xF4PING\xFF\xF4"
                      "ECHO y\r\n"),
            (events{"E413", "ECHO y"}));
}

// The octet a telnet command stands for is an octet of the line and counts
// towards the limit, in a valid line and in one already refused.
TEST(CommandParser, OctetACommandStandsForCountsTowardsTheLimit)
{
  const std::string fits(25, 'a'); // "MSG " + 25 + C3 83 + LF: 32 octets
  const std::vector<std::pair<std::string, events>> cases{
      {"MSG " + fits + "\xC3\xFF\xF4\nPING\n", {"MSG " + fits + "Ã", "PING"}},
      {"MSG a" + fits + "\xC3\xFF\xF4\nPING\n", {"E413", "PING"}},
      {"MSG \x01" + fits + "\xC3\xFF\xF4\nPING\n", {"E413", "PING"}},
      {"MSG a" + fits + "\xC2\xFF\xF4\nPING\n", {"E413", "PING"}},
      {"MSG " + fits + "\xC2\xFF\xF4\nPING\n", {"E415", "PING"}},
  };
  for (const auto& [input, want] : cases)
    for (std::size_t cut = 0; cut <= input.size(); ++cut)
    {
      const std::string_view all(input);
      EXPECT_EQ(parse_chunks({all.substr(0, cut), all.substr(cut)}, 32), want)
          << input << " cut at " << cut;
    }
}

TEST(CommandParser, NothingDanglesAfterSplitLine)
{
  proto::command_parser parser;
  std::vector<std::string> seen;
  auto record = [&](const proto::parse_event& ev) { seen.push_back(render(ev)); };
  parser.feed("MSG hel", record);
  EXPECT_EQ(parser.buffered(), 7u);
  parser.feed("lo\r", record);
  parser.feed("\n", record);
  EXPECT_EQ(parser.buffered(), 0u);
  EXPECT_EQ(seen, (events{"MSG hello"}));
}

TEST(CommandParser, PullApiStopsAfterEachEvent)
{
  proto::command_parser parser;
  const std::string input = "PING 1\r\nPING 2\r\nPING 3";
  std::size_t used = 0;
  proto::parse_event ev = parser.next(input, used);
  EXPECT_EQ(render(ev), "PING 1");
  EXPECT_EQ(used, 8u);
  // The view of a line that sits whole in the input points into the input.
  EXPECT_EQ(ev.cmd.arg.data(), input.data() + 5);
  ev = parser.next(std::string_view(input).substr(8), used);
  EXPECT_EQ(render(ev), "PING 2");
  ev = parser.next(std::string_view(input).substr(16), used);
  EXPECT_EQ(ev.what, proto::parse_event::kind::none);
  EXPECT_EQ(used, 6u);
}

TEST(CommandParser, GarbageThenCommandNeverResyncsSilently)
{
  // Desync check: garbage on the same line as a command must not let the
  // command run; the next line is parsed normally.
  EXPECT_EQ(parse_all("\x01\x02 NICK evil\r\nPING\r\n"), (events{"E415", "PING"}));
  EXPECT_EQ(parse_all("xx NICK evil\r\nPING\r\n"), (events{"E421 xx", "PING"}));
}

TEST(CommandParser, ResetForgetsPartialLine)
{
  proto::command_parser parser;
  std::vector<std::string> seen;
  auto record = [&](const proto::parse_event& ev) { seen.push_back(render(ev)); };
  parser.feed("MSG partial", record);
  parser.reset();
  parser.feed("PING\r\n", record);
  EXPECT_EQ(seen, (events{"PING"}));
}

// The stream stage steps over printable ASCII eight octets at a time; an
// octet that stops the run must be found at every position of a word.
TEST(CommandParser, StopOctetFoundAtEveryOffsetOfALongRun)
{
  for (std::string stop :
       {"\x01", "\x7F", "\x1F", "\xC3\xA9", "\xFF\xF1", "\t", "\x80", "\xC2\x80"})
    for (std::size_t at = 0; at < 40; ++at)
    {
      std::string text(60, 'a');
      text.insert(at, stop);
      const bool valid = stop == "\xC3\xA9" || stop == "\t";
      const std::string shown = stop == "\xFF\xF1" ? std::string(60, 'a') : text;
      const events expected = valid || stop == "\xFF\xF1" ? events{"MSG " + shown} : events{"E415"};
      EXPECT_EQ(parse_all("MSG " + text + "\r\n"), expected) << "at " << at;
    }
}

TEST(ParseLine, EmptyAndSpacesAreIgnored)
{
  EXPECT_EQ(proto::parse_line("").what, proto::parse_event::kind::none);
  EXPECT_EQ(proto::parse_line("    ").what, proto::parse_event::kind::none);
}

} // namespace
} // namespace natter::test
