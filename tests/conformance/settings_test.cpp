// Self-tests of what the runner knows of a server (conformance/runner/
// settings.hpp): the adverts of its first greeting against the runner's
// flags, whether a case can run, the steps and meta that say what a case
// needs, and the check every greeting is held to (greeting_check.hpp).
#include "settings.hpp"

#include "checks.hpp"
#include "greeting_check.hpp"
#include "matcher.hpp"

#include <gtest/gtest.h>

#include <string>

namespace
{

using namespace std::chrono_literals;
using natter::conform::run_options;
using natter::conform::test_case;

const std::string defaults_greeting =
    "220 natter/1 line=1024 nick=16 rate=20 burst=100 sendq=1048576 reg=60 idle=0 ready";

/// The options after the greeting `g`, with `told` and what apply_greeting
/// said in `errors` and `notes`.
struct applied
{
  run_options opt;
  std::vector<std::string> errors;
  std::vector<std::string> notes;
};

applied apply(const std::string& g, natter::conform::told_settings told = {})
{
  applied a;
  a.errors = natter::conform::apply_greeting(g, told, a.opt, a.notes);
  return a;
}

/// The one case of a file holding `meta` and `session`.
test_case one_case(const std::string& meta, const std::string& session)
{
  const std::string text = "# 9 S\n\n### T\n\n<!-- meta={" + meta +
                           "} -->\n\n> Text [N-CONN-4]\n\n```session\n" + session + "```\n";
  auto cases = natter::conform::parse_case_file(text, "x.md");
  EXPECT_EQ(cases.size(), 1u);
  return cases.front();
}

TEST(ConformSettings, TakesTheLimitsFromTheFirstGreeting)
{
  const applied a =
      apply("220 natter/1 line=512 nick=16 rate=0.5 burst=100 sendq=1048576 reg=1.5 idle=2 ready");
  EXPECT_TRUE(a.errors.empty());
  EXPECT_TRUE(a.notes.empty());
  EXPECT_EQ(a.opt.max_line, 512);
  EXPECT_EQ(a.opt.idle_timeout, 2000ms);
  EXPECT_EQ(a.opt.registration_timeout, 1500ms);
  EXPECT_EQ(natter::conform::describe(a.opt),
            "L=512; line=512 nick=16 rate=0.5 burst=100 sendq=1048576 reg=1.5 idle=2 "
            "(advertised)");
}

TEST(ConformSettings, WhatTheRunnerIsToldMustAgreeWithTheAdverts)
{
  natter::conform::told_settings told;
  told.max_line = 512;
  told.idle_timeout = 3s;
  const applied a = apply(defaults_greeting, told);
  ASSERT_EQ(a.errors.size(), 2u);
  EXPECT_EQ(a.errors[0], "--max-line 512 disagrees with the server's advert line=1024");
  EXPECT_EQ(a.errors[1], "--idle-timeout 3 s disagrees with the server's advert idle=0");
  told.max_line = 1024;
  told.idle_timeout = 0s;
  EXPECT_TRUE(apply(defaults_greeting, told).errors.empty());
}

TEST(ConformSettings, WithoutAdvertsTheToldValuesStand)
{
  applied a = apply("220 natter/1 ready");
  EXPECT_TRUE(a.errors.empty());
  EXPECT_EQ(a.opt.max_line, 1024);
  EXPECT_EQ(a.opt.idle_timeout, 0ms);
  ASSERT_EQ(a.notes.size(), 1u);
  EXPECT_EQ(a.notes[0], "no usable line advert: L is 1024 (natterd's default; --max-line sets it)");
  natter::conform::told_settings told;
  told.max_line = 2048;
  told.idle_timeout = 2s;
  a = apply("220 natter/1 line=abc ready", told);
  EXPECT_TRUE(a.errors.empty());
  EXPECT_EQ(a.opt.max_line, 2048);
  EXPECT_EQ(a.opt.idle_timeout, 2000ms);
  // A greeting that breaks the rule gives no adverts at all.
  a = apply("220 natter/1 line=512 Ready=yes");
  EXPECT_EQ(a.opt.max_line, 1024);
  EXPECT_TRUE(a.opt.adverts.empty());
  EXPECT_EQ(a.notes.size(), 2u);
}

TEST(ConformSettings, CasesThatWaitRunOnlyForShortTimeouts)
{
  const test_case reg = one_case(R"("id": "9.4/9")", "c1: connect\nc1: reg-timeout\n");
  EXPECT_TRUE(reg.needs_registration_timeout);
  run_options opt = apply(defaults_greeting).opt;
  EXPECT_EQ(skip_reason(reg, opt), "the registration timeout is 60 s, longer than --max-wait 5 s");
  opt.registration_timeout = 2500ms;
  EXPECT_EQ(skip_reason(reg, opt),
            "the registration timeout is 2.5 s, not a whole number of seconds");
  opt.registration_timeout = 2s;
  EXPECT_EQ(skip_reason(reg, opt), "");
  opt.registration_timeout = 0ms;
  EXPECT_EQ(skip_reason(reg, opt), "the server has no registration timeout (reg=60)");

  const test_case idle = one_case(R"("id": "9.4/9")", "c1: register $a\nc1: idle\n");
  EXPECT_EQ(skip_reason(idle, opt), "the server has no idle timeout (idle=0)");
  EXPECT_EQ(skip_reason(idle, run_options{}),
            "needs the server's idle timeout (no idle advert; --idle-timeout)");
  // R in an expression needs it too.
  EXPECT_TRUE(one_case(R"("id": "9.4/9")", "repeat ${expr:R*3}\nc1: wait 1\nend\n")
                  .needs_registration_timeout);

  const test_case echo = one_case(R"("id": "14/9")", "e1: connect echo\ne1: idle\ne1: closed\n");
  EXPECT_TRUE(echo.needs_echo_idle_timeout);
  EXPECT_FALSE(echo.needs_idle_timeout);
  EXPECT_EQ(skip_reason(echo, opt), "needs the echo service's idle timeout (--echo-idle-timeout)");
  opt.echo_idle_timeout = 2s;
  EXPECT_EQ(skip_reason(echo, opt), "");
  opt.echo = false;
  EXPECT_EQ(skip_reason(echo, opt), "needs the echo service (--echo-port)");
}

TEST(ConformSettings, RequiresHoldsCasesToAdvertsAndToldSettings)
{
  const test_case rate0 = one_case(R"("id": "11/9", "requires": "rate=0")", "c1: connect\n");
  run_options opt = apply(defaults_greeting).opt;
  EXPECT_EQ(skip_reason(rate0, opt), "needs rate=0, and the server advertises rate=20");
  EXPECT_EQ(skip_reason(rate0, apply("220 natter/1 rate=0 ready").opt), "");
  EXPECT_EQ(skip_reason(rate0, apply("220 natter/1 ready").opt),
            "needs rate=0, and the server does not advertise rate");

  const test_case limit = one_case(R"("id": "10/9", "requires": "max-per-ip>0, defaults")",
                                   "open ${expr:P} from 1\nc1: connect raw from 2\n");
  EXPECT_TRUE(limit.needs_max_per_ip);
  EXPECT_EQ(limit.needs_sources, 2);
  EXPECT_EQ(skip_reason(limit, opt),
            "needs max-per-ip>0, and the per-address limit is not known (--max-per-ip)");
  opt.max_per_ip = 0;
  EXPECT_EQ(skip_reason(limit, opt), "needs max-per-ip>0, and --max-per-ip 0");
  opt.max_per_ip = 3;
  EXPECT_EQ(skip_reason(limit, opt), "holds the server to natterd's defaults, and the runner was "
                                     "not told it runs with them (--defaults)");
  opt.defaults = true;
  opt.sources = {"127.0.0.2"};
  EXPECT_EQ(skip_reason(limit, opt), "needs 2 source addresses that the per-address limit counts "
                                     "(--source), and has 1");
  opt.sources.push_back("127.0.0.3");
  EXPECT_EQ(skip_reason(limit, opt), "");
}

TEST(ConformSettings, NewStepsAndMetaAreChecked)
{
  using natter::conform::case_error;
  const test_case tc = one_case(R"("id": "9.1/9")", "c1: connect from 3\nc1: adverts line=${L} "
                                                    "nick\nopen 2 from 1\nmark\nelapsed < 900\n");
  ASSERT_EQ(tc.steps.size(), 5u);
  EXPECT_EQ(tc.steps[0].source, 3);
  EXPECT_EQ(tc.steps[2].what, natter::conform::step::kind::open);
  EXPECT_EQ(tc.steps[2].count, 2);
  EXPECT_EQ(tc.steps[4].source, 1); // "<"
  EXPECT_EQ(tc.steps[4].count, 900);
  EXPECT_EQ(tc.needs_sources, 3);
  EXPECT_THROW(one_case(R"("id": "1", "requires": "rate")", "c1: connect\n"), case_error);
  EXPECT_THROW(one_case(R"("id": "1", "requires": "Rate=0")", "c1: connect\n"), case_error);
  EXPECT_THROW(one_case(R"("id": "1")", "c1: connect from\n"), case_error);
  EXPECT_THROW(one_case(R"("id": "1")", "c1: connect echo from 1\n"), case_error);
  EXPECT_THROW(one_case(R"("id": "1")", "open 2\n"), case_error);
  EXPECT_THROW(one_case(R"("id": "1")", "c1: adverts\n"), case_error);
  EXPECT_THROW(one_case(R"("id": "1")", "c1: reg-timeout 2\n"), case_error);
}

TEST(ConformSettings, SourcesAreAnAddressOrARange)
{
  using natter::conform::parse_sources;
  EXPECT_EQ(parse_sources("127.0.0.2"), std::vector<std::string>{"127.0.0.2"});
  EXPECT_EQ(parse_sources("127.0.0.254-127.0.1.1"),
            (std::vector<std::string>{"127.0.0.254", "127.0.0.255", "127.0.1.0", "127.0.1.1"}));
  for (const char* bad : {"", "::1", "127.0.0.3-127.0.0.2", "127.0.0.1-127.0.2.0", "localhost"})
    EXPECT_THROW(parse_sources(bad), natter::conform::case_error) << bad;
}

/// The requirement the greeting `text` breaks, or "".
std::string broken(const std::string& text)
{
  try
  {
    natter::conform::check_greeting("c1", text);
  }
  catch (const natter::conform::violation& v)
  {
    return v.id;
  }
  return "";
}

TEST(ConformGreetingCheck, HoldsEveryGreetingToItsRule)
{
  EXPECT_EQ(broken(defaults_greeting), "");
  EXPECT_EQ(broken("220 natter/1 ready"), ""); // adverts are N-CONN-11's case, not a check
  EXPECT_EQ(broken("220 natter/1"), "");
  EXPECT_EQ(broken("220 natter/1 tls-port=7778 line=64 ready, x=1"), "");
  EXPECT_EQ(broken("220 natter/1 line=1024 Ready=yes"), "N-CONN-12");
  EXPECT_EQ(broken("220 natter/1 line=1024 =ready"), "N-CONN-12");
  EXPECT_EQ(broken("220 natter/1 line=1024  ready"), "N-REPLY-7");
  EXPECT_EQ(broken("220 natter/one ready"), "N-EXT-1");
  EXPECT_EQ(broken("220 ready"), "N-EXT-1");
  // 256 octets with CRLF, and one more.
  EXPECT_EQ(broken("220 natter/1 " + std::string(254 - 13, 'x')), "");
  EXPECT_EQ(broken("220 natter/1 " + std::string(255 - 13, 'x')), "N-REPLY-1");
}

// The checks of every line hold a greeting to the same rule.
TEST(ConformGreetingCheck, RunsOnTheGreetingOfEveryConnection)
{
  natter::conform::line_checks c("c1", 1024);
  EXPECT_THROW(c.line("220 natter/1 line=1 Ready=yes", true), natter::conform::violation);
}

} // namespace
