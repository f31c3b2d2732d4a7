#include "line_regex.hpp"

#include "matcher.hpp"

#include <algorithm>
#include <optional>

namespace natter::conform
{

/// The parse of an expression, compiled and then dropped.
struct line_regex::node
{
  enum class kind
  {
    empty,   ///< matches the empty string
    set,     ///< one octet of sets_[set]
    concat,  ///< kids in order
    alt,     ///< one of kids, the first that leads to a match preferred
    repeat,  ///< kids[0], min to max times (max -1: no bound), greedy
    group,   ///< kids[0], captured as group `group`
    backref, ///< kids[0] is a copy of group `group`'s expression
  };
  explicit node(kind k = kind::empty) : what(k) {}

  kind what;
  int set = 0;
  int min = 0;
  int max = -1;
  int group = 0;
  std::vector<node> kids;
};

/// Recursive descent over the expression's text: it comes from a case file,
/// and its nesting is bounded.
class line_regex::parser
{
public:
  parser(line_regex& re, std::string_view text) : re_(re), text_(text) {}

  /// The capturing groups seen.
  int groups() const { return groups_; }

  node parse()
  {
    node n = alternation(0);
    if (at_ < text_.size())
      fail("a ) without its (");
    return n;
  }

private:
  static constexpr int max_depth = 64;

  [[noreturn]] void fail(const std::string& why) const
  {
    throw case_error("bad regex: " + why + " (at octet " + std::to_string(at_) + " of " +
                     printable(text_) + ")");
  }

  bool more() const { return at_ < text_.size(); }
  char peek() const { return text_[at_]; }

  node alternation(int depth)
  {
    node first = sequence(depth);
    if (!more() || peek() != '|')
      return first;
    node alt(node::kind::alt);
    alt.kids.push_back(std::move(first));
    while (more() && peek() == '|')
    {
      ++at_;
      alt.kids.push_back(sequence(depth));
    }
    return alt;
  }

  node sequence(int depth)
  {
    node seq(node::kind::concat);
    while (more() && peek() != '|' && peek() != ')')
    {
      node a = atom(depth);
      if (more() && quantifier(peek()))
      {
        a = quantified(std::move(a));
        if (more() && quantifier(peek()) && peek() != '?')
          fail("a quantifier after a quantifier (put the first in a group)");
      }
      seq.kids.push_back(std::move(a));
    }
    return seq;
  }

  static bool quantifier(char c) { return c == '*' || c == '+' || c == '?' || c == '{'; }

  node quantified(node a)
  {
    node r(node::kind::repeat);
    const char c = text_[at_++];
    if (c == '*')
      r.min = 0, r.max = -1;
    else if (c == '+')
      r.min = 1, r.max = -1;
    else if (c == '?')
      r.min = 0, r.max = 1;
    else
    {
      r.min = number();
      r.max = r.min;
      if (more() && peek() == ',')
      {
        ++at_;
        r.max = more() && peek() == '}' ? -1 : number();
      }
      if (!more() || peek() != '}')
        fail("a { that begins no count {n}, {n,} or {n,m} (write \\{ for the octet)");
      ++at_;
      if (r.max != -1 && r.max < r.min)
        fail("a count {n,m} with m below n");
    }
    if (more() && peek() == '?')
      fail("a lazy quantifier: a whole line matches the same without the ?");
    r.kids.push_back(std::move(a));
    return r;
  }

  int number()
  {
    const std::size_t from = at_;
    long v = 0;
    while (more() && peek() >= '0' && peek() <= '9' && v <= max_count)
      v = v * 10 + (text_[at_++] - '0');
    if (at_ == from)
      fail("a { that begins no count {n}, {n,} or {n,m} (write \\{ for the octet)");
    if (v > max_count)
      fail("a count over " + std::to_string(max_count));
    return static_cast<int>(v);
  }

  node set_node(const std::bitset<256>& s)
  {
    re_.sets_.push_back(s);
    node n(node::kind::set);
    n.set = static_cast<int>(re_.sets_.size() - 1);
    return n;
  }

  static std::bitset<256> octet(unsigned char c)
  {
    std::bitset<256> s;
    s.set(c);
    return s;
  }

  static std::bitset<256> range(unsigned char lo, unsigned char hi)
  {
    std::bitset<256> s;
    for (unsigned c = lo; c <= hi; ++c)
      s.set(c);
    return s;
  }

  node atom(int depth)
  {
    const char c = text_[at_++];
    switch (c)
    {
    case '(': return group(depth);
    case '[': return set_node(bracket());
    case '.':
    {
      std::bitset<256> s;
      s.set();
      s.reset('\n');
      s.reset('\r');
      return set_node(s);
    }
    case '\\':
    {
      if (more() && peek() >= '1' && peek() <= '9')
        return backref(text_[at_++] - '0');
      return set_node(escape(false));
    }
    case '^':
    case '$':
      fail("the expression matches the whole line, so ^ and $ are not needed (write \\^ or \\$ "
           "for the octet)");
    case '*':
    case '+':
    case '?': fail("a quantifier with nothing to repeat");
    case '{':
    case '}':
    case ']': fail(std::string("write \\") + c + " for the octet " + c);
    default: return set_node(octet(static_cast<unsigned char>(c)));
    }
  }

  node group(int depth)
  {
    if (depth >= max_depth)
      fail("groups nested over " + std::to_string(max_depth) + " deep");
    bool capture = true;
    if (more() && peek() == '?')
    {
      if (at_ + 1 >= text_.size() || text_[at_ + 1] != ':')
        fail("only (?: ...) of the (? forms: no lookaround and no named groups");
      at_ += 2;
      capture = false;
    }
    const int number = capture ? ++groups_ : 0;
    if (capture)
      closed_.resize(static_cast<std::size_t>(number));
    node inner = alternation(depth + 1);
    if (!more() || peek() != ')')
      fail("a ( without its )");
    ++at_;
    if (!capture)
      return inner;
    node g(node::kind::group);
    g.group = number;
    g.kids.push_back(std::move(inner));
    closed_[static_cast<std::size_t>(number - 1)] = g.kids.front();
    return g;
  }

  node backref(int number)
  {
    const auto k = static_cast<std::size_t>(number - 1);
    if (k >= closed_.size() || !closed_[k])
      fail("\\" + std::to_string(number) + " before group " + std::to_string(number) +
           " has closed");
    node b(node::kind::backref);
    b.group = number;
    b.kids.push_back(*closed_[k]);
    return b;
  }

  std::bitset<256> escape(bool in_class)
  {
    if (!more())
      fail("a \\ at the end");
    const char c = text_[at_++];
    switch (c)
    {
    case 'd': return range('0', '9');
    case 'D': return ~range('0', '9');
    case 's': return spaces();
    case 'S': return ~spaces();
    case 'w': return word();
    case 'W': return ~word();
    case 't': return octet('\t');
    case 'n': return octet('\n');
    case 'r': return octet('\r');
    case 'f': return octet('\f');
    case 'v': return octet('\v');
    case '0': return octet('\0');
    case 'x':
    {
      const int hi = at_ < text_.size() ? hex_value(text_[at_]) : -1;
      const int lo = at_ + 1 < text_.size() ? hex_value(text_[at_ + 1]) : -1;
      if (hi < 0 || lo < 0)
        fail("\\x without two hex digits");
      at_ += 2;
      return octet(static_cast<unsigned char>(hi * 16 + lo));
    }
    default: break;
    }
    const auto u = static_cast<unsigned char>(c);
    if ((u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z'))
      fail(std::string("the escape \\") + c + " is not supported" +
           (in_class ? " in a class" : ""));
    return octet(u);
  }

  static std::bitset<256> spaces()
  {
    std::bitset<256> s;
    for (const char c : std::string_view(" \t\n\v\f\r"))
      s.set(static_cast<unsigned char>(c));
    return s;
  }

  static std::bitset<256> word()
  {
    std::bitset<256> s = range('a', 'z') | range('A', 'Z') | range('0', '9');
    s.set('_');
    return s;
  }

  /// One member of a class: an octet (`single` true) or a class escape.
  std::bitset<256> member(bool& single, unsigned char& value)
  {
    single = true;
    if (peek() != '\\')
    {
      value = static_cast<unsigned char>(text_[at_++]);
      return octet(value);
    }
    ++at_;
    const bool multi = more() && std::string_view("dDsSwW").find(peek()) != std::string_view::npos;
    std::bitset<256> s = escape(true);
    single = !multi;
    if (single)
      for (unsigned k = 0; k < 256; ++k)
        if (s.test(k))
          value = static_cast<unsigned char>(k);
    return s;
  }

  std::bitset<256> bracket()
  {
    bool negate = false;
    if (more() && peek() == '^')
    {
      negate = true;
      ++at_;
    }
    if (more() && peek() == ']')
      fail("an empty class [] (write \\] for the octet)");
    std::bitset<256> s;
    while (more() && peek() != ']')
    {
      bool single = false;
      unsigned char lo = 0;
      const std::bitset<256> first = member(single, lo);
      if (single && at_ + 1 < text_.size() && peek() == '-' && text_[at_ + 1] != ']')
      {
        ++at_;
        bool single_hi = false;
        unsigned char hi = 0;
        (void)member(single_hi, hi);
        if (!single_hi || hi < lo)
          fail("a range in a class that does not go from a lower octet to a higher one");
        s |= range(lo, hi);
      }
      else
        s |= first;
    }
    if (!more())
      fail("a [ without its ]");
    ++at_;
    return negate ? ~s : s;
  }

  line_regex& re_;
  std::string_view text_;
  std::size_t at_ = 0;
  int groups_ = 0;
  /// Each group's expression, by number from 1, once its ) was read.
  std::vector<std::optional<node>> closed_;
};

line_regex::line_regex(std::string_view text)
{
  parser p(*this, text);
  const node n = p.parse();
  slots_ = 2 * p.groups();
  compile(n, true);
  emit(inst(inst::op::match));
}

int line_regex::emit(inst i)
{
  if (prog_.size() >= max_program)
    throw case_error("bad regex: it compiles to over " + std::to_string(max_program) +
                     " instructions (counted repetitions are copies)");
  prog_.push_back(i);
  return static_cast<int>(prog_.size() - 1);
}

int line_regex::here() const
{
  return static_cast<int>(prog_.size());
}

// The usual Thompson construction: a split prefers its x, which gives
// greedy repetition and the leftmost alternative, as ECMAScript's
// backtracking would try them.
void line_regex::compile(const node& n, bool captures)
{
  using op = inst::op;
  switch (n.what)
  {
  case node::kind::empty: break;
  case node::kind::set: emit(inst(op::octet_set, 0, 0, n.set)); break;
  case node::kind::concat:
    for (const node& k : n.kids)
      compile(k, captures);
    break;
  case node::kind::alt:
  {
    std::vector<int> ends;
    for (std::size_t k = 0; k < n.kids.size(); ++k)
    {
      if (k + 1 == n.kids.size())
      {
        compile(n.kids[k], captures);
        break;
      }
      const int s = emit(inst(op::split));
      prog_[s].x = here();
      compile(n.kids[k], captures);
      ends.push_back(emit(inst(op::jump)));
      prog_[s].y = here();
    }
    for (const int e : ends)
      prog_[e].x = here();
    break;
  }
  case node::kind::repeat:
  {
    for (int k = 0; k < n.min; ++k)
      compile(n.kids[0], captures);
    if (n.max == -1)
    {
      const int s = emit(inst(op::split));
      prog_[s].x = here();
      compile(n.kids[0], captures);
      emit(inst(op::jump, s));
      prog_[s].y = here();
      break;
    }
    std::vector<int> splits;
    for (int k = n.min; k < n.max; ++k)
    {
      const int s = emit(inst(op::split));
      prog_[s].x = here();
      splits.push_back(s);
      compile(n.kids[0], captures);
    }
    for (const int s : splits)
      prog_[s].y = here();
    break;
  }
  case node::kind::group:
    // Inside the copy that stands for a back-reference, the groups do not
    // capture again: they would overwrite what the originals captured.
    if (captures)
      emit(inst(op::save, 0, 0, 2 * (n.group - 1)));
    compile(n.kids[0], captures);
    if (captures)
      emit(inst(op::save, 0, 0, 2 * (n.group - 1) + 1));
    break;
  case node::kind::backref:
  {
    const int slot = slots_;
    slots_ += 2;
    backrefs_.emplace_back(2 * (n.group - 1), slot);
    emit(inst(op::save, 0, 0, slot));
    compile(n.kids[0], false);
    emit(inst(op::save, 0, 0, slot + 1));
    break;
  }
  }
}

namespace
{

/// The threads of one step of the machine, in priority order, and which
/// instructions they are at.
struct thread_list
{
  std::vector<int> pcs;
  std::vector<long> caps; ///< slots per thread, thread after thread
  std::vector<unsigned> mark;
  unsigned gen = 0; ///< mark[pc] == gen: pc is in the list
};

} // namespace

bool line_regex::matches(std::string_view subject) const
{
  using op = inst::op;
  const auto width = static_cast<std::size_t>(slots_);
  thread_list now;
  thread_list next;
  now.mark.assign(prog_.size(), 0);
  next.mark.assign(prog_.size(), 0);
  unsigned gen = 0;
  std::vector<std::pair<int, std::size_t>> stack; // pc, offset of its slots in arena
  std::vector<long> arena;

  // Adds the thread at `pc0` and every thread it reaches without reading
  // an octet, depth first and in priority order, with an explicit stack.
  auto add = [&](thread_list& l, int pc0, const long* caps0, std::size_t pos)
  {
    arena.assign(caps0, caps0 + width);
    stack.emplace_back(pc0, 0);
    while (!stack.empty())
    {
      const auto [pc, at] = stack.back();
      stack.pop_back();
      if (l.mark[static_cast<std::size_t>(pc)] == l.gen)
        continue;
      l.mark[static_cast<std::size_t>(pc)] = l.gen;
      const inst& i = prog_[static_cast<std::size_t>(pc)];
      switch (i.what)
      {
      case op::jump: stack.emplace_back(i.x, at); break;
      case op::split:
        stack.emplace_back(i.y, at);
        stack.emplace_back(i.x, at);
        break;
      case op::save:
      {
        const std::size_t copy = arena.size();
        arena.resize(copy + width);
        std::copy_n(arena.begin() + static_cast<std::ptrdiff_t>(at), width,
                    arena.begin() + static_cast<std::ptrdiff_t>(copy));
        arena[copy + static_cast<std::size_t>(i.arg)] = static_cast<long>(pos);
        stack.emplace_back(pc + 1, copy);
        break;
      }
      case op::octet_set:
      case op::match:
        l.pcs.push_back(pc);
        l.caps.insert(l.caps.end(), arena.begin() + static_cast<std::ptrdiff_t>(at),
                      arena.begin() + static_cast<std::ptrdiff_t>(at + width));
        break;
      }
    }
  };

  const std::vector<long> unset(width, -1);
  now.gen = ++gen;
  add(now, 0, unset.data(), 0);
  for (std::size_t pos = 0; pos < subject.size() && !now.pcs.empty(); ++pos)
  {
    next.pcs.clear();
    next.caps.clear();
    next.gen = ++gen;
    const auto c = static_cast<unsigned char>(subject[pos]);
    for (std::size_t k = 0; k < now.pcs.size(); ++k)
    {
      const inst& i = prog_[static_cast<std::size_t>(now.pcs[k])];
      if (i.what == op::octet_set && sets_[static_cast<std::size_t>(i.arg)].test(c))
        add(next, now.pcs[k] + 1, now.caps.data() + k * width, pos + 1);
    }
    std::swap(now, next);
  }
  // Only a thread at `match` once every octet was read matches the whole.
  for (std::size_t k = 0; k < now.pcs.size(); ++k)
    if (prog_[static_cast<std::size_t>(now.pcs[k])].what == op::match)
      return backrefs_hold(now.caps.data() + k * width, subject);
  return false;
}

bool line_regex::backrefs_hold(const long* caps, std::string_view subject) const
{
  auto text = [&](int slot) -> std::optional<std::string_view>
  {
    const long from = caps[slot];
    const long to = caps[slot + 1];
    if (from < 0 || to < from)
      return std::nullopt;
    return subject.substr(static_cast<std::size_t>(from), static_cast<std::size_t>(to - from));
  };
  for (const auto& [group, copy] : backrefs_)
  {
    const auto a = text(group);
    if (!a || a != text(copy))
      return false;
  }
  return true;
}

} // namespace natter::conform
