// Self-tests of the case-file reader (conformance/runner/case_file.hpp), and
// a check that every committed case file loads.
#include "case_file.hpp"

#include "matcher.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace
{

using natter::conform::case_error;
using natter::conform::parse_case_file;
using natter::conform::step;
using natter::conform::test_case;

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

### A case that needs the idle timeout

<!-- meta={"id": "9.4/9"} -->

> Text [N-CONN-6]

```session
c1: register $a
c1: cork
repeat ${expr:20*T+1}
  c1> PING ${i}
end
c1: uncork
c1: idle
```
)";

TEST(ConformCaseFile, ParsesCasesStepsAndIds)
{
  const auto cases = parse_case_file(good, "x.md");
  ASSERT_EQ(cases.size(), 3U);
  const auto& c = cases[0];
  EXPECT_EQ(c.id, "7.2/3");
  EXPECT_EQ(c.title, "NICK without a nickname is refused");
  EXPECT_EQ(c.section, "7.2 NICK");
  EXPECT_EQ(c.line, 5);
  // `nothing` is a barrier: the case cites what barriers rely on, too.
  EXPECT_EQ(c.requirements,
            (std::vector<std::string>{"N-NICK-2", "N-NICK-6", "N-FRAME-16", "N-FRAME-17"}));
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
  EXPECT_FALSE(cases[0].needs_idle_timeout);
  EXPECT_FALSE(cases[1].needs_idle_timeout);
  const auto& idle = cases[2];
  EXPECT_TRUE(idle.needs_idle_timeout);
  EXPECT_FALSE(idle.needs_echo);
  ASSERT_EQ(idle.steps.size(), 5U);
  EXPECT_EQ(idle.steps[1].verb, "cork");
  EXPECT_EQ(idle.steps[2].what, step::kind::repeat);
  EXPECT_EQ(idle.steps[2].count, 0);
  EXPECT_EQ(idle.steps[2].arg, "20*T+1");
  EXPECT_EQ(idle.steps[3].verb, "uncork");
  EXPECT_EQ(idle.steps[4].verb, "idle");
}

TEST(ConformCaseFile, UsingTNeedsTheIdleTimeout)
{
  const auto cases = parse_case_file("### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n"
                                     "```session\nc1> ECHO ${expr:T*1000}\n```\n",
                                     "t.md");
  ASSERT_EQ(cases.size(), 1U);
  EXPECT_TRUE(cases[0].needs_idle_timeout);
}

TEST(ConformCaseFile, ABarrierInARepeatCitesWhatBarriersRelyOn)
{
  const auto with = parse_case_file("### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n"
                                    "```session\nrepeat 2\n  c1: sync\nend\n```\n",
                                    "t.md");
  ASSERT_EQ(with.size(), 1U);
  EXPECT_EQ(with[0].requirements, (std::vector<std::string>{"N-A-1", "N-FRAME-16", "N-FRAME-17"}));
  const auto without = parse_case_file("### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n"
                                       "```session\nc1> PING x\nc1< PONG x\n```\n",
                                       "t.md");
  ASSERT_EQ(without.size(), 1U);
  EXPECT_EQ(without[0].requirements, std::vector<std::string>{"N-A-1"});
}

// A case with a `nothing` step, even inside a repeat, shows that something
// does not arrive: it settles before its final barriers (issue 19, 10).
TEST(ConformCaseFile, ACaseWithNothingIsNegative)
{
  const auto cases = parse_case_file("### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n"
                                     "```session\nrepeat 2\n  c1: nothing\nend\n```\n"
                                     "### u\n<!-- meta={\"id\": \"2\"} -->\n> [N-A-1]\n"
                                     "```session\nc1: sync\nc1> PING x\nc1< PONG x\n```\n",
                                     "t.md");
  ASSERT_EQ(cases.size(), 2U);
  EXPECT_TRUE(cases[0].negative);
  EXPECT_FALSE(cases[1].negative);
  const auto suite = natter::conform::load_cases({NATTER_CONFORMANCE_CASES_DIR});
  const auto msg = std::find_if(suite.begin(), suite.end(),
                                [](const test_case& tc) { return tc.id == "7.3/4"; });
  ASSERT_NE(msg, suite.end());
  EXPECT_TRUE(msg->negative);
}

TEST(ConformCaseFile, ParsesSlowConsumerSteps)
{
  const auto cases = parse_case_file(
      "### t\n<!-- meta={\"id\": \"12/9\", \"alone\": true} -->\n> [N-SLOW-6]\n"
      "```session\nz: connect rcvbuf 4096\nr: connect raw rcvbuf 512\no: skip {JOIN|MSG} $s{*}\n"
      "o: skipped 20\no: skip MSG {*}\no: skipped ${expr:L/2}\nz: reset within 8s\n"
      "s: connect\n```\n"
      "### u\n<!-- meta={\"id\": \"12/10\", \"alone\": false} -->\n> [N-SLOW-6]\n"
      "```session\nc1> x\n```\n",
      "t.md");
  ASSERT_EQ(cases.size(), 2U);
  EXPECT_TRUE(cases[0].alone);
  EXPECT_FALSE(cases[1].alone);
  const auto& st = cases[0].steps;
  ASSERT_EQ(st.size(), 8U);
  EXPECT_EQ(st[0].verb, "connect");
  EXPECT_EQ(st[0].arg, "");
  EXPECT_EQ(st[0].count, 4096);
  EXPECT_EQ(st[1].arg, "raw");
  EXPECT_EQ(st[1].count, 512);
  EXPECT_EQ(st[2].verb, "skip");
  EXPECT_EQ(st[2].arg, "{JOIN|MSG} $s{*}");
  EXPECT_EQ(st[3].verb, "skipped");
  EXPECT_EQ(st[3].count, 20);
  EXPECT_EQ(st[3].arg, "");
  EXPECT_EQ(st[5].arg, "L/2");
  EXPECT_EQ(st[6].verb, "reset");
  EXPECT_EQ(st[6].count, 8000);
  EXPECT_EQ(st[7].count, 0);
}

/// The steps of a file with one case, whose session block is `session`.
std::vector<step> session_steps(const std::string& session)
{
  const auto cases = parse_case_file(
      "### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n```session\n" + session + "```\n", "t.md");
  EXPECT_EQ(cases.size(), 1U);
  return cases.empty() ? std::vector<step>() : cases[0].steps;
}

TEST(ConformCaseFile, ParsesMultiLineReplySteps)
{
  const auto st =
      session_steps("c1: reply 214\nc1: reply 214 naming NICK  MSG\nc1: reply 211 naming $a\n");
  ASSERT_EQ(st.size(), 3U);
  EXPECT_EQ(st[0].verb, "reply");
  EXPECT_EQ(st[0].count, 214);
  EXPECT_EQ(st[0].arg, "");
  EXPECT_EQ(st[1].count, 214);
  EXPECT_EQ(st[1].arg, "NICK MSG");
  EXPECT_EQ(st[2].count, 211);
  EXPECT_EQ(st[2].arg, "$a");
}

TEST(ConformCaseFile, ParsesBackpressureSteps)
{
  const auto st = session_steps("c1: backpressure 67108864 \\r\\n\ne1: backpressure 1024\n");
  ASSERT_EQ(st.size(), 2U);
  EXPECT_EQ(st[0].verb, "backpressure");
  EXPECT_EQ(st[0].count, 67108864);
  EXPECT_EQ(st[0].arg, "\\r\\n");
  EXPECT_EQ(st[1].count, 1024);
  EXPECT_EQ(st[1].arg, "");
}

TEST(ConformCaseFile, ParsesUncorkOfSeveralClients)
{
  const auto st = session_steps("c1: cork\nc2: cork\nuncork c1  c2\n");
  ASSERT_EQ(st.size(), 3U);
  EXPECT_EQ(st[2].what, step::kind::uncork_all);
  EXPECT_EQ(st[2].client, "");
  EXPECT_EQ(st[2].arg, "c1 c2");
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
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n```session\nrepeat ${expr:T+}\nend\n```\n",
       "bad expression"},
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n```session\nc1: idle 3\n```\n",
       "takes no argument"},
      {"### t\n<!-- meta={\"id\": \"1\", \"alone\": \"yes\"} -->\n> [N-A-1]\n```session\nc1> x\n"
       "```\n",
       "true or false"},
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n```session\nc1: connect rcvbuf\n```\n",
       "connect takes"},
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n```session\nc1: connect rcvbuf 8\n```\n",
       "256 to 64 Mi"},
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n```session\nc1: reset within 40s\n```\n",
       "1 to 30 seconds"},
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n```session\nc1: reset 3\n```\n",
       "within Ns"},
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n```session\nc1: skipped many\n```\n",
       "not a number"},
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n```session\nc1: skip {a\n```\n",
       "unterminated"},
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n```session\nc1: reply\n```\n",
       "needs an argument"},
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n```session\nc1<~ 2[0-9\n```\n",
       "bad regex: a [ without its ]"},
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n```session\nc1<~ (a)\\1\\2\n```\n",
       "bad regex: \\2 before group 2 has closed"},
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n```session\nc1<~ ^220.*\n```\n",
       "bad regex: the expression matches the whole line"},
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n```session\nc1: backpressure "
       "0\n```\n",
       "at least one octet"},
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n```session\nuncork c1\n```\n",
       "two or more"},
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n```session\nuncork c1 c1\n```\n", "twice"},
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n```session\nuncork c1 C2\n```\n",
       "client names"},
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n```session\nc1: backpressure "
       "lots\n```\n",
       "not a number"},
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n```session\nc1: backpressure 9 "
       "\\q\n```\n",
       "unknown escape"},
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n```session\nc1: reply 21\n```\n",
       "three-digit code"},
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n```session\nc1: reply 214 with "
       "NICK\n```\n",
       "three-digit code"},
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n```session\nc1: reply 214 "
       "naming\n```\n",
       "at least one word"},
      {"### t\n<!-- meta={\"id\": \"1\"} -->\n> [N-A-1]\n```session\nc1: reply 214 naming "
       "\\q\n```\n",
       "unknown escape"},
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
