#include "case_file.hpp"

#include "line_regex.hpp"
#include "matcher.hpp"
#include "settings.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

namespace natter::conform
{

namespace
{

/// Stands in for a running case while checking the payloads of a file, and
/// notes whether they use the server's idle timeout.
class dry_variables final : public variables
{
public:
  std::string nick(std::string_view name, std::size_t length) override
  {
    return length != 0 ? std::string(length, 'n') : "n" + std::string(name);
  }
  long counter() const override { return 1; }
  long max_line() const override { return 1024; }
  long idle_timeout() const override
  {
    used_idle_timeout = true;
    return 1;
  }
  long registration_timeout() const override
  {
    used_registration_timeout = true;
    return 1;
  }
  long max_per_ip() const override
  {
    used_max_per_ip = true;
    return 1;
  }

  mutable bool used_idle_timeout = false;
  mutable bool used_registration_timeout = false;
  mutable bool used_max_per_ip = false;
};

std::string_view trim(std::string_view s)
{
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool starts_with(std::string_view s, std::string_view prefix)
{
  return s.substr(0, prefix.size()) == prefix;
}

long parse_count(std::string_view s, const std::string& where)
{
  s = trim(s);
  long value = 0;
  if (s.empty())
    throw case_error(where + "a number is missing");
  for (const char c : s)
  {
    if (c < '0' || c > '9' || value > 100'000'000)
      throw case_error(where + "'" + std::string(s) + "' is not a number");
    value = value * 10 + (c - '0');
  }
  return value;
}

/// A tiny reader for the flat JSON object of a meta comment.
class meta_reader
{
public:
  explicit meta_reader(std::string_view s, std::string where) : s_(s), where_(std::move(where)) {}

  void read(test_case& tc)
  {
    expect('{');
    if (peek() == '}')
    {
      ++i_;
      return;
    }
    for (;;)
    {
      const std::string key = string();
      expect(':');
      if (key == "id")
        tc.id = string();
      else if (key == "alone")
        tc.alone = boolean();
      else if (key == "tls")
        tc.tls = boolean();
      else if (key == "plain")
        tc.plain = boolean();
      else if (key == "requires")
        conditions(string(), tc);
      else if (key == "level")
      {
        tc.level = string();
        if (tc.level != "MUST" && tc.level != "SHOULD" && tc.level != "MAY")
          fail("level must be MUST, SHOULD or MAY");
      }
      else
        fail("unknown meta key \"" + key + "\"");
      if (peek() == ',')
      {
        ++i_;
        continue;
      }
      expect('}');
      break;
    }
    if (peek() != '\0')
      fail("text after the meta object");
  }

private:
  [[noreturn]] void fail(const std::string& why) const
  {
    throw case_error(where_ + "meta: " + why);
  }

  char peek()
  {
    while (i_ < s_.size() && s_[i_] == ' ')
      ++i_;
    return i_ < s_.size() ? s_[i_] : '\0';
  }

  void expect(char c)
  {
    if (peek() != c)
      fail(std::string("expected '") + c + "'");
    ++i_;
  }

  /// "rate=0, max-per-ip>0, defaults": comma-separated conditions.
  void conditions(const std::string& list, test_case& tc)
  {
    std::istringstream in(list);
    std::string item;
    while (std::getline(in, item, ','))
    {
      const std::string c(trim(item));
      if (!is_setting_condition(c))
        fail("requires: '" + c + "' is not 'defaults' nor KEY=N or KEY>N");
      tc.requires_settings.push_back(c);
    }
  }

  bool boolean()
  {
    peek();
    for (const std::string_view word : {std::string_view("true"), std::string_view("false")})
      if (s_.substr(i_, word.size()) == word)
      {
        i_ += word.size();
        return word == "true";
      }
    fail("expected true or false");
  }

  std::string string()
  {
    expect('"');
    std::string out;
    while (i_ < s_.size() && s_[i_] != '"')
    {
      if (s_[i_] == '\\' && i_ + 1 < s_.size())
        ++i_;
      out += s_[i_++];
    }
    if (i_ >= s_.size())
      fail("unterminated string");
    ++i_;
    return out;
  }

  std::string_view s_;
  std::string where_;
  std::size_t i_ = 0;
};

bool is_client_char(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/// Checks one payload by expanding it with stand-in variables; notes in `tc`
/// what the payload needs of the server.
void check_payload(const step& st, const std::string& where, test_case& tc)
{
  dry_variables vars;
  try
  {
    switch (st.what)
    {
    case step::kind::repeat:
    case step::kind::open:
      if (!st.arg.empty())
        (void)eval_expr(st.arg, vars);
      break;
    case step::kind::send_line:
    case step::kind::send_raw:
    case step::kind::expect_bytes: (void)expand(st.arg, vars); break;
    case step::kind::expect_line: (void)compile_pattern(st.arg, vars); break;
    case step::kind::expect_regex: (void)line_regex(expand_regex(st.arg, vars)); break;
    case step::kind::action:
      if (st.verb == "register")
        (void)expand(st.arg, vars);
      else if (st.verb == "skip")
        (void)compile_pattern(st.arg, vars);
      else if (st.verb == "skipped" && !st.arg.empty())
        (void)eval_expr(st.arg, vars);
      else if (st.verb == "reply")
        (void)expand_words(st.arg, vars);
      else if (st.verb == "backpressure" && !st.arg.empty() && expand(st.arg, vars).empty())
        throw case_error("backpressure needs octets to send");
      break;
    default: break;
    }
  }
  catch (const case_error& e)
  {
    throw case_error(where + e.what());
  }
  tc.needs_idle_timeout = tc.needs_idle_timeout || vars.used_idle_timeout;
  tc.needs_registration_timeout = tc.needs_registration_timeout || vars.used_registration_timeout;
  tc.needs_max_per_ip = tc.needs_max_per_ip || vars.used_max_per_ip;
}

/// A count: a number into st.count, or ${expr:E}, whose E goes to st.arg
/// to be evaluated when the step runs. False when it is an expression.
bool parse_count_or_expr(std::string_view text, step& st, const std::string& where)
{
  text = trim(text);
  if (starts_with(text, "${expr:") && text.size() > 8 && text.back() == '}')
  {
    st.arg = std::string(text.substr(7, text.size() - 8));
    return false;
  }
  st.count = parse_count(text, where); // before the clear: `text` may view st.arg
  st.arg.clear();
  return true;
}

/// A repeat count: a number, or ${expr:E} evaluated when the repeat runs.
step parse_repeat(std::string_view text, int line, const std::string& where, test_case& tc)
{
  step st;
  st.what = step::kind::repeat;
  st.line = line;
  if (!parse_count_or_expr(text, st, where))
  {
    check_payload(st, where, tc);
    return st;
  }
  if (st.count < 1 || st.count > 100000)
    throw case_error(where + "repeat count must be 1 to 100000");
  return st;
}

/// Whether the last `connect` of `client` among `steps` (repeat bodies
/// included, in file order) was to the echo service; nothing without one.
std::optional<bool> connected_to_echo(const std::vector<step>& steps, const std::string& client)
{
  std::optional<bool> echo;
  for (const step& st : steps)
    if (st.what == step::kind::repeat)
    {
      if (const auto inner = connected_to_echo(st.body, client))
        echo = inner;
    }
    else if (st.what == step::kind::action && st.verb == "connect" && st.client == client)
      echo = st.arg == "echo";
  return echo;
}

/// "from K" (K from 1 to 64) at the front of `words`: the source address.
int parse_source(std::istringstream& words, const std::string& where)
{
  std::string word;
  if (!(words >> word))
    throw case_error(where + "'from' needs the number of a source address (1, 2, ...)");
  const long k = parse_count(word, where);
  if (k < 1 || k > 64)
    throw case_error(where + "a source address is numbered 1 to 64");
  return static_cast<int>(k);
}

/// `connect [raw|echo|no-alpn|plaintext] [rcvbuf N] [from K]`: st.arg
/// becomes the mode ("", "raw", "echo", "no-alpn" or "plaintext"), st.count the receive buffer (0:
/// the kernel's default), st.source the source address (0: the default one).
void parse_connect(step& st, const std::string& where)
{
  std::istringstream words(st.arg);
  std::string word;
  std::string mode;
  long rcvbuf = 0;
  bool first = true;
  while (words >> word)
  {
    if (first && (word == "raw" || word == "echo" || word == "no-alpn" || word == "plaintext"))
      mode = word;
    else if (word == "rcvbuf" && rcvbuf == 0 && (words >> word))
    {
      rcvbuf = parse_count(word, where);
      if (rcvbuf < 256 || rcvbuf > (64L << 20))
        throw case_error(where + "rcvbuf is 256 to 64 Mi octets");
    }
    else if (word == "from" && st.source == 0 && mode != "echo")
      st.source = parse_source(words, where);
    else
      throw case_error(where +
                       "connect takes nothing, 'raw', 'echo', 'no-alpn' or 'plaintext', then "
                       "'rcvbuf N', then 'from K'");
    first = false;
  }
  st.arg = mode;
  st.count = rcvbuf;
}

/// `reset within Ns`, N from 1 to 30: st.count becomes milliseconds.
void parse_reset(step& st, const std::string& where)
{
  std::string_view a = st.arg;
  if (!starts_with(a, "within ") || a.size() < 9 || a.back() != 's')
    throw case_error(where + "reset takes 'within Ns' (seconds)");
  a.remove_prefix(7);
  a.remove_suffix(1);
  const long s = parse_count(a, where);
  if (s < 1 || s > 30)
    throw case_error(where + "reset within is 1 to 30 seconds");
  st.count = s * 1000;
}

/// `reply C [naming W...]`: st.count becomes the code C (three digits),
/// st.arg the words W, one SP between them (empty without `naming`).
void parse_reply(step& st, const std::string& where)
{
  std::istringstream words(st.arg);
  std::string code;
  std::string naming;
  words >> code >> naming;
  const bool digits = code.size() == 3 && code[0] >= '1' && code[0] <= '9' &&
                      code.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || (!naming.empty() && naming != "naming"))
    throw case_error(where + "reply takes a three-digit code, then 'naming' and words");
  st.count = parse_count(code, where);
  std::string listed;
  for (std::string w; words >> w;)
    listed += (listed.empty() ? "" : " ") + w;
  if (!naming.empty() && listed.empty())
    throw case_error(where + "'naming' needs at least one word");
  st.arg = listed;
}

/// `backpressure N [OCTETS]`: st.count becomes N, st.arg the OCTETS
/// (unexpanded; empty for the default).
void parse_backpressure(step& st, const std::string& where)
{
  const std::size_t sp = st.arg.find(' ');
  st.count = parse_count(std::string_view(st.arg).substr(0, sp), where);
  st.arg = sp == std::string::npos ? std::string() : st.arg.substr(sp + 1);
  if (st.count < 1)
    throw case_error(where + "backpressure needs a limit of at least one octet");
}

step parse_step(std::string_view text, int line, const std::string& where, test_case& tc)
{
  step st;
  st.line = line;
  if (text == "mark")
  {
    st.what = step::kind::mark;
    return st;
  }
  if (text == "udp-silent")
  {
    st.what = step::kind::udp_silent;
    tc.needs_echo = true;
    return st;
  }
  if (starts_with(text, "uncork "))
  {
    st.what = step::kind::uncork_all;
    std::istringstream words{std::string(text.substr(7))};
    std::vector<std::string> names;
    for (std::string name; words >> name;)
    {
      if (!(name[0] >= 'a' && name[0] <= 'z') ||
          !std::all_of(name.begin(), name.end(), is_client_char))
        throw case_error(where + "uncork takes client names: '" + name + "'");
      if (std::find(names.begin(), names.end(), name) != names.end())
        throw case_error(where + "uncork names " + name + " twice");
      names.push_back(name);
      st.arg += (st.arg.empty() ? "" : " ") + name;
    }
    if (names.size() < 2)
      throw case_error(where + "uncork takes two or more client names ('c1: uncork' for one)");
    return st;
  }
  if (starts_with(text, "elapsed >="))
  {
    st.what = step::kind::elapsed;
    st.count = parse_count(text.substr(10), where);
    return st;
  }
  if (starts_with(text, "elapsed <"))
  {
    st.what = step::kind::elapsed;
    st.source = 1; // sooner than
    st.count = parse_count(text.substr(9), where);
    return st;
  }
  if (starts_with(text, "open "))
  {
    // open N from K: N a number or ${expr:E}, evaluated when the step runs.
    st.what = step::kind::open;
    const std::size_t from = text.find(" from ");
    if (from == std::string_view::npos)
      throw case_error(where + "open takes 'N from K'");
    if (!parse_count_or_expr(text.substr(5, from - 5), st, where))
      check_payload(st, where, tc);
    std::istringstream words{std::string(text.substr(from + 6))};
    st.source = parse_source(words, where);
    tc.needs_sources = std::max(tc.needs_sources, st.source);
    return st;
  }
  std::size_t k = 0;
  while (k < text.size() && is_client_char(text[k]))
    ++k;
  if (k == 0 || !(text[0] >= 'a' && text[0] <= 'z'))
    throw case_error(where + "a step starts with a client name (c1, alice, ...): '" +
                     std::string(text) + "'");
  st.client = std::string(text.substr(0, k));
  std::string_view rest = text.substr(k);
  std::size_t op = 0;
  if (starts_with(rest, ">>"))
    st.what = step::kind::send_raw, op = 2;
  else if (starts_with(rest, ">"))
    st.what = step::kind::send_line, op = 1;
  else if (starts_with(rest, "<<"))
    st.what = step::kind::expect_bytes, op = 2;
  else if (starts_with(rest, "<~"))
    st.what = step::kind::expect_regex, op = 2;
  else if (starts_with(rest, "<"))
    st.what = step::kind::expect_line, op = 1;
  else if (starts_with(rest, ":"))
    st.what = step::kind::action, op = 1;
  else
    throw case_error(where + "after the client name comes >, >>, <, <~, << or ':'");
  rest.remove_prefix(op);
  if (!rest.empty())
  {
    if (rest.front() != ' ')
      throw case_error(where + "one space must follow the operator");
    rest.remove_prefix(1);
  }
  if (st.what != step::kind::action)
  {
    st.arg = std::string(rest);
    check_payload(st, where, tc);
    return st;
  }
  rest = trim(rest);
  const std::size_t sp = rest.find(' ');
  st.verb = std::string(rest.substr(0, sp));
  st.arg = sp == std::string_view::npos ? std::string() : std::string(trim(rest.substr(sp + 1)));
  static const std::map<std::string, int, std::less<>> arity = {
      {"connect", -1}, {"register", 1},    {"nothing", 0}, {"sync", 0},         {"closed", 0},
      {"close", -1},   {"shutdown", 0},    {"wait", 1},    {"backpressure", 1}, {"cork", 0},
      {"uncork", 0},   {"idle", 0},        {"skip", 1},    {"skipped", 1},      {"reset", 1},
      {"reply", 1},    {"reg-timeout", 0}, {"adverts", 1}, {"alpn", 1},         {"alert", 0},
      {"refused", 1},
  };
  const auto it = arity.find(st.verb);
  if (it == arity.end())
    throw case_error(where + "unknown action '" + st.verb + "'");
  if (it->second == 0 && !st.arg.empty())
    throw case_error(where + "'" + st.verb + "' takes no argument");
  if (it->second == 1 && st.arg.empty())
    throw case_error(where + "'" + st.verb + "' needs an argument");
  if (st.verb == "connect")
  {
    parse_connect(st, where);
    tc.needs_echo = tc.needs_echo || st.arg == "echo";
    tc.needs_sources = std::max(tc.needs_sources, st.source);
  }
  const bool tls_step = st.verb == "alpn" || st.verb == "alert" || st.verb == "refused" ||
                        (st.verb == "connect" && (st.arg == "no-alpn" || st.arg == "plaintext"));
  if (tls_step && !tc.tls)
    throw case_error(where + "'" + st.verb + (st.verb == "connect" ? " " + st.arg : "") +
                     "' is for the cases of TLS (meta \"tls\": true)");
  if (st.verb == "refused" && st.arg != "tls1.1")
    throw case_error(where + "refused takes 'tls1.1'");
  if (st.verb == "alpn" && st.arg.find(' ') != std::string::npos)
    throw case_error(where + "alpn takes one protocol name, or 'none'");
  if (st.verb == "reg-timeout")
    tc.needs_registration_timeout = true;
  if (st.verb == "nothing")
    tc.negative = true;
  if (st.verb == "reset")
    parse_reset(st, where);
  if (st.verb == "skipped")
    (void)parse_count_or_expr(st.arg, st, where);
  if (st.verb == "reply")
    parse_reply(st, where);
  if (st.verb == "idle" && connected_to_echo(tc.steps, st.client).value_or(false))
    tc.needs_echo_idle_timeout = true;
  else if (st.verb == "idle")
    tc.needs_idle_timeout = true;
  if (st.verb == "close" && !st.arg.empty() && st.arg != "reset")
    throw case_error(where + "close takes nothing or 'reset'");
  if (st.verb == "wait")
  {
    st.count = parse_count(st.arg, where);
    if (st.count > 5000)
      throw case_error(where + "wait is at most 5000 ms");
  }
  if (st.verb == "backpressure")
    parse_backpressure(st, where);
  check_payload(st, where, tc);
  return st;
}

// True when a step (or a step of a repeat) is a PING barrier the case
// relies on: `nothing` or `sync`.
bool uses_barrier(const std::vector<step>& steps)
{
  return std::any_of(steps.begin(), steps.end(),
                     [](const step& st)
                     {
                       return (st.what == step::kind::action &&
                               (st.verb == "nothing" || st.verb == "sync")) ||
                              uses_barrier(st.body);
                     });
}

void finish_case(test_case& tc, bool had_session, const std::string& path)
{
  const std::string where = path + ":" + std::to_string(tc.line) + ": ";
  if (tc.id.empty())
    throw case_error(where + "the case has no <!-- meta={\"id\": ...} --> line");
  if (!had_session)
    throw case_error(where + "the case has no ```session block");
  if (tc.requirements.empty())
    throw case_error(where + "the case names no requirement ID like [N-FRAME-1]");
  // A barrier holds only if the server queues a command's events before the
  // next line (N-FRAME-16) and sends a connection's output in order
  // (N-FRAME-17): a case that relies on one cites both.
  if (uses_barrier(tc.steps))
    for (const char* id : barrier_requirements)
      if (std::find(tc.requirements.begin(), tc.requirements.end(), id) == tc.requirements.end())
        tc.requirements.emplace_back(id);
}

} // namespace

std::vector<std::string> requirement_ids(std::string_view text)
{
  // "[N-", upper-case letters, "-", digits, "]".
  auto run = [&](std::size_t at, bool digits)
  {
    while (at < text.size() &&
           (digits ? text[at] >= '0' && text[at] <= '9' : text[at] >= 'A' && text[at] <= 'Z'))
      ++at;
    return at;
  };
  std::vector<std::string> out;
  for (std::size_t at = text.find("[N-"); at != std::string_view::npos;
       at = text.find("[N-", at + 1))
  {
    const std::size_t area = run(at + 3, false);
    if (area == at + 3 || area >= text.size() || text[area] != '-')
      continue;
    const std::size_t number = run(area + 1, true);
    if (number == area + 1 || number >= text.size() || text[number] != ']')
      continue;
    out.emplace_back(text.substr(at + 1, number - at - 1));
  }
  return out;
}

std::vector<test_case> parse_case_file(std::string_view text, const std::string& path)
{
  std::vector<test_case> cases;
  std::string section;
  test_case* current = nullptr;
  bool in_session = false;
  bool in_other_fence = false;
  bool had_session = false;
  std::vector<std::vector<step>*> blocks;
  int line_no = 0;
  std::istringstream in{std::string(text)};
  std::string raw;
  while (std::getline(in, raw))
  {
    ++line_no;
    if (!raw.empty() && raw.back() == '\r')
      raw.pop_back();
    const std::string where = path + ":" + std::to_string(line_no) + ": ";
    const std::string_view line = raw;
    if (in_other_fence)
    {
      if (starts_with(trim(line), "```"))
        in_other_fence = false;
      continue;
    }
    if (in_session)
    {
      const std::string_view t = trim(line);
      if (t == "```")
      {
        if (blocks.size() != 1)
          throw case_error(where + "a repeat is not closed with 'end'");
        in_session = false;
        blocks.clear();
        continue;
      }
      // Leading indentation is layout; trailing text is kept exactly.
      std::string_view body = line;
      while (!body.empty() && (body.front() == ' ' || body.front() == '\t'))
        body.remove_prefix(1);
      if (body.empty() || body.front() == '#')
        continue;
      if (starts_with(body, "repeat "))
      {
        blocks.back()->push_back(parse_repeat(body.substr(7), line_no, where, *current));
        blocks.push_back(&blocks.back()->back().body);
        continue;
      }
      if (t == "end")
      {
        if (blocks.size() < 2)
          throw case_error(where + "'end' without 'repeat'");
        blocks.pop_back();
        continue;
      }
      blocks.back()->push_back(parse_step(body, line_no, where, *current));
      continue;
    }
    if (starts_with(line, "# ") && section.empty())
    {
      section = std::string(trim(line.substr(2)));
      continue;
    }
    if (starts_with(line, "### "))
    {
      if (current != nullptr)
        finish_case(*current, had_session, path);
      cases.emplace_back();
      current = &cases.back();
      current->title = std::string(trim(line.substr(4)));
      current->file = path;
      current->section = section;
      current->line = line_no;
      had_session = false;
      continue;
    }
    if (starts_with(line, "```"))
    {
      if (current != nullptr && trim(line) == "```session")
      {
        if (had_session)
          throw case_error(where + "a case has one ```session block");
        in_session = true;
        had_session = true;
        blocks = {&current->steps};
      }
      else
        in_other_fence = true;
      continue;
    }
    if (current == nullptr)
      continue;
    if (starts_with(trim(line), "<!-- meta="))
    {
      std::string_view m = trim(line);
      m.remove_prefix(10);
      if (m.size() < 3 || m.substr(m.size() - 3) != "-->")
        throw case_error(where + "meta comment must end with --> on the same line");
      m.remove_suffix(3);
      meta_reader(trim(m), where).read(*current);
      continue;
    }
    if (starts_with(line, ">"))
    {
      std::string_view q = line.substr(1);
      if (!q.empty() && q.front() == ' ')
        q.remove_prefix(1);
      if (!current->quote.empty())
        current->quote += '\n';
      current->quote += q;
    }
    for (std::string& id : requirement_ids(line))
      if (std::find(current->requirements.begin(), current->requirements.end(), id) ==
          current->requirements.end())
        current->requirements.push_back(std::move(id));
  }
  if (in_session || in_other_fence)
    throw case_error(path + ": a ``` block is not closed");
  if (current != nullptr)
    finish_case(*current, had_session, path);
  return cases;
}

std::vector<test_case> load_cases(const std::vector<std::string>& paths)
{
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (const std::string& p : paths)
  {
    std::error_code ec;
    if (fs::is_directory(p, ec))
    {
      std::vector<std::string> found;
      for (const auto& entry : fs::directory_iterator(p, ec))
        if (entry.is_regular_file() && entry.path().extension() == ".md")
          found.push_back(entry.path().string());
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    }
    else if (fs::is_regular_file(p, ec))
      files.push_back(p);
    else
      throw case_error(p + ": no such case file or directory");
  }
  std::vector<test_case> all;
  std::map<std::string, std::string> seen;
  for (const std::string& f : files)
  {
    std::ifstream in(f, std::ios::binary);
    if (!in)
      throw case_error(f + ": cannot read");
    std::ostringstream ss;
    ss << in.rdbuf();
    for (test_case& tc : parse_case_file(ss.str(), f))
    {
      const std::string here = tc.file + ":" + std::to_string(tc.line);
      if (const auto [it, fresh] = seen.emplace(tc.id, here); !fresh)
        throw case_error(here + ": case id " + tc.id + " is already used at " + it->second);
      all.push_back(std::move(tc));
    }
  }
  return all;
}

} // namespace natter::conform
