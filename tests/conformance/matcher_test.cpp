// Self-tests of the case language (conformance/runner/matcher.hpp): tables
// of what matches and what does not, as irctest's self_tests do for patma.
#include "matcher.hpp"

#include <gtest/gtest.h>

#include <map>
#include <tuple>
#include <vector>

namespace
{

using natter::conform::case_error;
using natter::conform::compile_pattern;
using natter::conform::expand;
using natter::conform::matches;

/// Fixed variables: $alice is "alice_t1", lengths give 'n' runs, i is 7,
/// L is 1024 and T is 2.
class fixed_variables final : public natter::conform::variables
{
public:
  std::string nick(std::string_view name, std::size_t length) override
  {
    return length != 0 ? std::string(length, 'n') : std::string(name) + "_t1";
  }
  long counter() const override { return 7; }
  long max_line() const override { return 1024; }
  long idle_timeout() const override { return 2; }
};

struct row
{
  const char* pattern;
  const char* subject;
};

TEST(ConformMatcher, Matches)
{
  const row rows[] = {
      {"PONG x", "PONG x"},
      {"200 $alice {*}", "200 alice_t1 nick accepted"},
      {"200 $alice {*}", "200 alice_t1 "},
      {"{*}", ""},
      {"{*}", "anything at all"},
      {"421  {*}", "421  unknown command"},
      {"{200|433} $alice {*}", "433 alice_t1 nick already in use"},
      {"{200|433} $alice {*}", "200 alice_t1 ok"},
      {"JOIN {$alice|${alice:upper}}", "JOIN ALICE_T1"},
      {"a{*}b{*}c", "aXbYc"},
      {"a{*}b{*}c", "abc"},
      {"ECHO tab\\there", "ECHO tab\there"},
      {"ECHO \\xC3\\xA9", "ECHO é"},
      {"literal \\{*\\} \\$x", "literal {*} $x"},
      {"PONG ${i}", "PONG 7"},
      {"x${fill:3}y", "xaaay"},
      {"${fill:2:ab}", "abab"},
      {"${expr:L-7}", "1017"},
      {"${T}", "2"},
      {"${expr:20*T+120}", "160"},
      {"${long:16}", "nnnnnnnnnnnnnnnn"},
      {"trailing\\x20\\x20", "trailing  "},
  };
  for (const row& r : rows)
  {
    fixed_variables vars;
    EXPECT_TRUE(matches(compile_pattern(r.pattern, vars), r.subject))
        << "pattern " << r.pattern << " subject " << r.subject;
  }
}

TEST(ConformMatcher, DoesNotMatch)
{
  const row rows[] = {
      {"PONG x", "PONG x "},
      {"PONG x", "PONG"},
      {"200 $alice {*}", "200 alice_t1"},
      {"200 $alice {*}", "200 ALICE_T1 ok"},
      {"{200|433} $alice {*}", "432 alice_t1 x"},
      {"a{*}b", "ab c"},
      {"ECHO tab\\there", "ECHO tab here"},
      {"421  {*}", "421 x unknown"},
      {"", "x"},
      {"x${fill:3}y", "xaay"},
  };
  for (const row& r : rows)
  {
    fixed_variables vars;
    EXPECT_FALSE(matches(compile_pattern(r.pattern, vars), r.subject))
        << "pattern " << r.pattern << " subject " << r.subject;
  }
}

TEST(ConformMatcher, ExpandsEscapesAndVariables)
{
  fixed_variables vars;
  EXPECT_EQ(expand("a\\r\\n\\0\\xFF\\t\\\\", vars), std::string("a\r\n\0\xFF\t\\", 7));
  EXPECT_EQ(expand("NICK $alice", vars), "NICK alice_t1");
  EXPECT_EQ(expand("NICK ${alice}!", vars), "NICK alice_t1!");
  EXPECT_EQ(expand("${alice:lower}", vars), "alice_t1");
  EXPECT_EQ(expand("{*} stays literal in sends", vars), "{*} stays literal in sends");
  EXPECT_EQ(expand("${fill:L*2}", vars).size(), 2048U);
  EXPECT_EQ(expand("${fill:L/2-3:é}", vars).size(), 2U * 509U);
  EXPECT_EQ(expand("${expr:2+3*4-1}", vars), "13");
  EXPECT_EQ(expand("${expr:i*10/3}", vars), "23");
}

TEST(ConformMatcher, RejectsMalformedText)
{
  const char* bad[] = {"\\q",          "\\x4",       "trailing \\", "$",           "$1",    "${",
                       "${nope:what}", "${fill:-1}", "${expr:L+}",  "${expr:L/0}", "${i:x}"};
  for (const char* b : bad)
  {
    fixed_variables vars;
    EXPECT_THROW((void)expand(b, vars), case_error) << b;
  }
  const char* bad_patterns[] = {"{", "{a}", "a}", "{a|{b}}", "{*"};
  for (const char* b : bad_patterns)
  {
    fixed_variables vars;
    EXPECT_THROW((void)compile_pattern(b, vars), case_error) << b;
  }
}

TEST(ConformMatcher, SplitsTheLinesOfAMultiLineReply)
{
  using kind = natter::conform::reply_part::kind;
  const std::tuple<const char*, kind, const char*> rows[] = {
      {"214-NICK <nick>", kind::more, "NICK <nick>"},
      {"214-", kind::more, ""},
      {"214 end of help", kind::last, "end of help"},
      {"214 ", kind::last, ""},
      {"214", kind::other, ""},
      {"2140 x", kind::other, ""},
      {"211-alice", kind::other, ""},
      {"PONG 214-x", kind::other, ""},
      {"214:x", kind::other, ""},
  };
  for (const auto& [line, what, text] : rows)
  {
    const auto part = natter::conform::split_reply(line, "214");
    EXPECT_EQ(part.what, what) << line;
    EXPECT_EQ(part.text, text) << line;
  }
}

TEST(ConformMatcher, FindsTheWordsNoLineBeginsWith)
{
  using natter::conform::words_not_leading;
  using list = std::vector<std::string>;
  const list help = {"natter commands:", "NICK <nick>", "MSG <text>", "WHO"};
  EXPECT_EQ(words_not_leading(help, {"NICK", "MSG", "WHO"}), list{});
  EXPECT_EQ(words_not_leading(help, {}), list{});
  EXPECT_EQ(words_not_leading(help, {"PING", "NICK", "QUIT"}), (list{"PING", "QUIT"}));
  // A word begins a line only as a whole word, in its case.
  EXPECT_EQ(words_not_leading(help, {"NI", "nick", "natter", "commands:"}),
            (list{"NI", "nick", "commands:"}));
  const list repeats(7, "NICK <nick>");
  EXPECT_EQ(words_not_leading(repeats, {"NICK", "MSG"}), list{"MSG"});
  EXPECT_EQ(words_not_leading({}, {"NICK"}), list{"NICK"});
}

TEST(ConformMatcher, ExpandsWordByWord)
{
  fixed_variables vars;
  using list = std::vector<std::string>;
  EXPECT_EQ(natter::conform::expand_words("NICK  $alice ${fill:2}", vars),
            (list{"NICK", "alice_t1", "aa"}));
  EXPECT_EQ(natter::conform::expand_words("", vars), list{});
  EXPECT_THROW((void)natter::conform::expand_words("ok \\q", vars), case_error);
}

TEST(ConformMatcher, PrintableEscapesWhatATerminalMustNotSee)
{
  EXPECT_EQ(natter::conform::printable("ok é\t"), "ok é\\t");
  EXPECT_EQ(natter::conform::printable(std::string("\x1B[31m\r\n\0\xFF", 9)),
            "\\x1B[31m\\r\\n\\0\\xFF");
  EXPECT_EQ(natter::conform::printable("\xC3"), "\\xC3");
}

} // namespace
