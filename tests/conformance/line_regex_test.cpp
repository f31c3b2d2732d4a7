// The regular expressions of `<~` steps (conformance/runner/line_regex.hpp):
// what they match, a table in the irctest self_tests style, what they
// refuse when the case file is loaded, and lines that would take a
// backtracking matcher's stack or time.
#include "line_regex.hpp"

#include "matcher.hpp"

#include <gtest/gtest.h>

#include <string>

namespace
{

using natter::conform::case_error;
using natter::conform::line_regex;

struct vector
{
  const char* regex;
  std::string line;
  bool matches;
};

TEST(LineRegex, MatchesWholeLines)
{
  const vector table[] = {
      {"220 natter/1( .*)?", "220 natter/1", true},
      {"220 natter/1( .*)?", "220 natter/1 line=1024 ready", true},
      {"220 natter/1( .*)?", "220 natter/10", false},
      {"220 natter/1( .*)?", "x220 natter/1", false},
      {"220 natter/1( .{0,241})?", "220 natter/1 " + std::string(240, 'a'), true},
      {"220 natter/1( .{0,241})?", "220 natter/1 " + std::string(242, 'a'), false},
      {"212-[1-9][0-9]* \\S+ alice_x1 the first,  exactly\\x20",
       "212-17 t alice_x1 the first,  exactly ", true},
      {"212-[1-9][0-9]* \\S+ b", "212-07 t b", false},
      {"[0-9]{4}-(0[1-9]|1[0-2])", "2024-12", true},
      {"[0-9]{4}-(0[1-9]|1[0-2])", "2024-13", false},
      {"[0-9]{4}-(0[1-9]|1[0-2])", "202-12", false},
      {"211 [0-9]+( .*)?", "211 3 users", true},
      {"211 [0-9]+( .*)?", "211 users", false},
      {"(alice one|bob two) 55", "bob two 55", true},
      {"a{2,3}", "a", false},
      {"a{2,3}", "aa", true},
      {"a{2,3}", "aaa", true},
      {"a{2,3}", "aaaa", false},
      {"a{2,}", "aaaaaa", true},
      {"a{2}", "aa", true},
      {"xa{0}y", "xy", true},
      {"(a|ab)(c|bcd)(d*)", "abcd", true},
      {"a+", "", false},
      {"a*", "", true},
      {"", "", true},
      {"", "x", false},
      {"(?:ab)+", "ababab", true},
      {"(?:ab)+", "ababa", false},
      {"[^a-c]", "d", true},
      {"[^a-c]", "b", false},
      {"[a\\-z]", "-", true},
      {"[a\\-z]", "m", false},
      {"[a-]", "-", true},
      {"[\\d\\s]", " ", true},
      {"[\\d\\s]", "x", false},
      {"[.]", ".", true},
      {"[.]", "x", false},
      {"\\d\\D\\w\\W\\s\\S", "a1_ \tx", false},
      {"\\d\\D\\w\\W\\s\\S", "1a_- x", true},
      {"\\x41\\t\\\\", "A\t\\", true},
      {"\\$a\\{\\}\\(\\)\\[\\]\\.\\*\\+\\?\\|\\^", "$a{}()[].*+?|^", true},
      {".", "\r", false},
      {"caf..", "caf\xC3\xA9", true},
      {"caf\xC3\xA9", "caf\xC3\xA9", true},
      {"\\0", std::string(1, '\0'), true},
  };
  for (const vector& v : table)
    EXPECT_EQ(line_regex(v.regex).matches(v.line), v.matches)
        << "regex " << v.regex << " on " << natter::conform::printable(v.line);
}

// A back-reference is the same text as its group captured, groups taken as
// the leftmost, greedy reading of the line assigns them.
TEST(LineRegex, BackReferencesRepeatTheirGroup)
{
  const line_regex ids("213 [0-9a-z]{1,32} ([0-9]+) \\1( .*)?");
  EXPECT_TRUE(ids.matches("213 e1 42 42"));
  EXPECT_TRUE(ids.matches("213 e1 42 42 ids on"));
  EXPECT_FALSE(ids.matches("213 e1 42 43"));
  EXPECT_FALSE(ids.matches("213 e1 4 44"));
  EXPECT_FALSE(ids.matches("213 e1 44 4"));
  const line_regex nested("((a)(b))-\\2\\3\\1");
  EXPECT_TRUE(nested.matches("ab-abab"));
  EXPECT_FALSE(nested.matches("ab-abba"));
  // The group's last round counts.
  EXPECT_TRUE(line_regex("(?:([a-z]) )+\\1").matches("a b c c"));
  EXPECT_FALSE(line_regex("(?:([a-z]) )+\\1").matches("a b c a"));
}

// Issue 19, 9: "`220 natter/1 ` + 30,000 x `a` segfaults in `std::regex`
// (recursive backtracking)". The same expression, and two that take a
// backtracking matcher exponential time, on long lines.
TEST(LineRegex, LongLinesTakeNoStackAndNoBacktracking)
{
  const std::string line = "220 natter/1 " + std::string(30000, 'a');
  EXPECT_TRUE(line_regex("220 natter/1( .*)?").matches(line));
  EXPECT_TRUE(line_regex("220 natter/1( (a|b)*)?").matches(line));
  EXPECT_FALSE(line_regex("220 natter/1( .*)?b").matches(line));
  const std::string xs(40000, 'x');
  EXPECT_FALSE(line_regex("(x+x+)+y").matches(xs));
  EXPECT_TRUE(line_regex("(x+x+)+").matches(xs));
  EXPECT_FALSE(line_regex("(a*)*b").matches(std::string(40000, 'a')));
  EXPECT_FALSE(line_regex("(x|xx)*\\1y").matches(xs));
}

TEST(LineRegex, RefusesWhatItDoesNotSupport)
{
  const char* bad[] = {
      "(",       "a)",           "[a",  "[]",     "[z-a]",  "*a",    "a**",     "a+*",    "a{2}{3}",
      "a*?",     "a+?",          "a??", "a{2}?",  "^a",     "a$",    "\\b",     "\\B",    "(?=a)",
      "(?!a)",   "(?<n>a)",      "\\1", "(a\\1)", "(a)\\2", "[\\1]", "a{1001}", "a{3,2}", "a{",
      "a{x}",    "a{1,x}",       "{",   "}",      "]",      "\\q",   "\\x4",    "\\xZZ",  "\\",
      "\\u0041", "(.{1000}){30}"};
  for (const char* b : bad)
    EXPECT_THROW(line_regex{b}, case_error) << b;
  std::string deep;
  for (int k = 0; k < 65; ++k)
    deep += '(';
  deep += 'a';
  for (int k = 0; k < 65; ++k)
    deep += ')';
  EXPECT_THROW(line_regex{deep}, case_error);
  try
  {
    line_regex{"ab{"};
    ADD_FAILURE() << "ab{ compiled";
  }
  catch (const case_error& e)
  {
    EXPECT_NE(std::string(e.what()).find("at octet 3 of ab{"), std::string::npos) << e.what();
  }
}

} // namespace
