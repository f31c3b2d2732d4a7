// Self-tests of the case-file reader (conformance/runner/case_file.hpp), and
// a check that every committed case file loads.
#include "case_file.hpp"

#include "matcher.hpp"

#include <gtest/gtest.h>

namespace
{

using natter::conform::case_error;
using natter::conform::parse_case_file;
using natter::conform::step;

const char* const good = R"(# 7.2 NICK

Prose before the first case is ignored.

### NICK without a nickname is refused

<!-- meta={"id": "7.2/3", "level": "MUST"} -->

> If the argument is empty, the server MUST reply `400 NICK ...` [N-NICK-2].
> See also [N-NICK-6].

```text
not a session block: ignored
```

```session
# a comment
c1> NICK
c1< 400 NICK {*}
repeat 3
  c1>> PING ${i}\r\n
  c1< PONG ${i}
end
c1: nothing
e1: connect echo
```

### A second case

<!-- meta={"id": "7.2/4"} -->

> Text [N-NICK-3]

```session
c1: register $a
mark
elapsed >= 10
udp-silent
```
)";

TEST(ConformCaseFile, ParsesCasesStepsAndIds)
{
  const auto cases = parse_case_file(good, "x.md");
  ASSERT_EQ(cases.size(), 2U);
  const auto& c = cases[0];
  EXPECT_EQ(c.id, "7.2/3");
  EXPECT_EQ(c.title, "NICK without a nickname is refused");
  EXPECT_EQ(c.section, "7.2 NICK");
  EXPECT_EQ(c.line, 5);
  EXPECT_EQ(c.requirements, (std::vector<std::string>{"N-NICK-2", "N-NICK-6"}));
  EXPECT_TRUE(c.needs_echo);
  ASSERT_EQ(c.steps.size(), 5U);
  EXPECT_EQ(c.steps[0].what, step::kind::send_line);
  EXPECT_EQ(c.steps[0].arg, "NICK");
  EXPECT_EQ(c.steps[1].what, step::kind::expect_line);
  EXPECT_EQ(c.steps[2].what, step::kind::repeat);
  EXPECT_EQ(c.steps[2].count, 3);
  ASSERT_EQ(c.steps[2].body.size(), 2U);
  EXPECT_EQ(c.steps[2].body[0].what, step::kind::send_raw);
  EXPECT_EQ(c.steps[3].verb, "nothing");
  EXPECT_EQ(c.steps[4].arg, "echo");
  EXPECT_FALSE(cases[1].needs_echo == false && false);
  EXPECT_EQ(cases[1].steps[1].what, step::kind::mark);
  EXPECT_EQ(cases[1].steps[2].count, 10);
  EXPECT_TRUE(cases[1].needs_echo); // udp-silent probes the echo port
}

TEST(ConformCaseFile, RejectsMistakesWithFileAndLine)
{
  const std::pair<const char*, const char*> bad[] = {
      {"### t\n> [N-A-1]\n```session\nc1> x\n```\n", "no <!-- meta"},
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n```session\nc1> x\n```\n", "names no requirement"},
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n", "no ```session"},
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n```session\nc1: fly\n```\n",
       "unknown action"},
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n```session\nc1? x\n```\n",
       "after the client"},
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n```session\nrepeat 2\nc1> x\n```\n",
       "not closed"},
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n```session\nc1< {a\n```\n",
       "unterminated"},
      {"### t\n<!-- meta={\"id\": \"1\", \"x\": \"y\"} -->\n> [N-A-1]\n```session\nc1> x\n```\n",
       "unknown meta"},
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n```session\nc1> x\n", "not closed"},
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n```session\nc1: wait 99999\n```\n",
       "at most"},
  };
  for (const auto& [text, why] : bad)
  {
    try
    {
      (void)parse_case_file(text, "bad.md");
      ADD_FAILURE() << "accepted: " << text;
    }
    catch (const case_error& e)
    {
      EXPECT_NE(std::string(e.what()).find("bad.md"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  }
}

TEST(ConformCaseFile, CommittedCasesLoadWithUniqueIds)
{
  const auto cases = natter::conform::load_cases({NATTER_CONFORMANCE_CASES_DIR});
  EXPECT_GE(cases.size(), 80U);
}

} // namespace
