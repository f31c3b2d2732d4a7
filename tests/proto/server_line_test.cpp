#include "natter/proto/server_line.hpp"

#include "natter/proto/reply.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace natter::proto
{
namespace
{

using kind = server_line::kind;

TEST(ServerLine, Replies)
{
  auto r = parse_server_line("200 alice nick accepted");
  EXPECT_EQ(r.what, kind::reply);
  EXPECT_EQ(r.code, 200);
  EXPECT_FALSE(r.more);
  EXPECT_EQ(r.text, "alice nick accepted");

  r = parse_server_line("211-bob");
  EXPECT_EQ(r.what, kind::reply);
  EXPECT_EQ(r.code, 211);
  EXPECT_TRUE(r.more);
  EXPECT_EQ(r.text, "bob");

  EXPECT_EQ(parse_server_line("599 ").code, 599);
}

TEST(ServerLine, RejectsMalformedReplies)
{
  for (std::string_view bad :
       {"20 x", "2000 x", "200", "200x", "100 x", "300 x", "600 x", "200 \x01", "2a0 x", ""})
    EXPECT_EQ(parse_server_line(bad).what, kind::invalid) << bad;
}

TEST(ServerLine, Events)
{
  auto e = parse_server_line("JOIN alice");
  EXPECT_EQ(e.what, kind::join);
  EXPECT_EQ(e.nick, "alice");

  e = parse_server_line("NICK alice Alice2");
  EXPECT_EQ(e.what, kind::nick);
  EXPECT_EQ(e.nick, "alice");
  EXPECT_EQ(e.new_nick, "Alice2");

  e = parse_server_line("MSG bob hello  there ");
  EXPECT_EQ(e.what, kind::msg);
  EXPECT_EQ(e.nick, "bob");
  EXPECT_EQ(e.text, "hello  there ");

  e = parse_server_line("QUIT bob");
  EXPECT_EQ(e.what, kind::quit);
  EXPECT_FALSE(e.has_text);
  e = parse_server_line("QUIT bob send queue exceeded");
  EXPECT_EQ(e.text, "send queue exceeded");

  e = parse_server_line("ECHO");
  EXPECT_EQ(e.what, kind::echo);
  EXPECT_FALSE(e.has_text);
  e = parse_server_line("PONG t 1");
  EXPECT_EQ(e.what, kind::pong);
  EXPECT_EQ(e.text, "t 1");

  e = parse_server_line("TELL alice are you there?"); // spec 8.3
  EXPECT_EQ(e.what, kind::tell);
  EXPECT_EQ(e.nick, "alice");
  EXPECT_EQ(e.text, "are you there?");
}

TEST(ServerLine, RejectsMalformedEvents)
{
  for (std::string_view bad :
       {"JOIN", "JOIN 1abc", "JOIN a b", "join alice", "MSG bob", "MSG bob  ", "MSG bad.nick x",
        "NICK a", "QUIT", "PONGx", "ECHO\x1B[2J", "FOO bar", "MSG bob \xC0\x80", "TELL bob",
        "TELL 9x hi", "tell bob hi"})
    EXPECT_EQ(parse_server_line(bad).what, kind::invalid) << bad;
}

// Every line natterd can format parses back to what it was made from.
TEST(ServerLine, RoundTripsFormattedLines)
{
  for (const reply_info& row : reply_table())
  {
    std::string line;
    append_reply(line, row.code, row.text);
    ASSERT_EQ(line.substr(line.size() - 2), "\r\n");
    line.resize(line.size() - 2);
    const auto r = parse_server_line(line);
    EXPECT_EQ(r.what, kind::reply) << line;
    EXPECT_EQ(r.code, static_cast<int>(row.code));
    EXPECT_EQ(r.text, row.text);
  }
  std::string line;
  append_event(line, "MSG", "alice", "gr\xC3\xBC\xC3\x9F dich");
  line.resize(line.size() - 2);
  const auto e = parse_server_line(line);
  EXPECT_EQ(e.what, kind::msg);
  EXPECT_EQ(e.text, "gr\xC3\xBC\xC3\x9F dich");
}

TEST(ServerLineReader, SplitsCrlfAndLfAcrossReads)
{
  server_line_reader reader(64);
  std::vector<std::string> lines;
  auto take = [&](std::string_view l, bool too_long)
  { lines.push_back(std::string(l) + (too_long ? "!" : "")); };
  reader.feed("220 natter/1 ready\r\nJOIN a", take);
  reader.feed("lice\r", take);
  reader.feed("\nPONG\n", take);
  EXPECT_EQ(lines, (std::vector<std::string>{"220 natter/1 ready", "JOIN alice", "PONG"}));
  EXPECT_EQ(reader.buffered(), 0u);
}

TEST(ServerLineReader, CutsOverlongLines)
{
  server_line_reader reader(8);
  std::vector<std::string> lines;
  reader.feed(std::string(100, 'x') + "\r\nok\r\n", [&](std::string_view l, bool too_long)
              { lines.push_back(std::string(l) + (too_long ? "!" : "")); });
  EXPECT_EQ(lines, (std::vector<std::string>{"xxxxxxxx!", "ok"}));
}

TEST(Printable, ReplacesControlsAndInvalidUtf8)
{
  std::string out;
  append_printable(out, "a\x1B[2Jb\xC2\x9B"
                        "c\xC3\xA9\xFF\t");
  EXPECT_EQ(out, "a\xEF\xBF\xBD[2Jb\xEF\xBF\xBD\xEF\xBF\xBD"
                 "c\xC3\xA9\xEF\xBF\xBD\t");
  EXPECT_TRUE(is_valid_text(out));
  EXPECT_FALSE(is_valid_text("a\x1B"));
}

TEST(Nick, Validity)
{
  EXPECT_TRUE(is_valid_nick("a"));
  EXPECT_TRUE(is_valid_nick("Zz_-09abcdefghij"));
  EXPECT_FALSE(is_valid_nick("Zz_-09abcdefghijk"));
  EXPECT_FALSE(is_valid_nick(""));
  EXPECT_FALSE(is_valid_nick("_a"));
}

} // namespace
} // namespace natter::proto
