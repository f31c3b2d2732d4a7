#include "matcher.hpp"

#include "natter/proto/server_line.hpp"

#include <cctype>
#include <charconv>

namespace natter::conform
{

int hex_value(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

namespace
{

/// Reads the escape at src[i] == '\\' into out; returns the index after it.
std::size_t read_escape(std::string_view src, std::size_t i, std::string& out)
{
  if (i + 1 >= src.size())
    throw case_error("a backslash at the end of the text");
  const char c = src[i + 1];
  switch (c)
  {
  case 'r': out += '\r'; return i + 2;
  case 'n': out += '\n'; return i + 2;
  case 't': out += '\t'; return i + 2;
  case '0': out += '\0'; return i + 2;
  case '\\':
  case '$':
  case '{':
  case '}':
  case '|': out += c; return i + 2;
  case 'x':
  {
    const int hi = i + 2 < src.size() ? hex_value(src[i + 2]) : -1;
    const int lo = i + 3 < src.size() ? hex_value(src[i + 3]) : -1;
    if (hi < 0 || lo < 0)
      throw case_error("\\x needs two hex digits");
    out += static_cast<char>(hi * 16 + lo);
    return i + 4;
  }
  default: throw case_error(std::string("unknown escape \\") + c);
  }
}

bool is_name_char(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

std::string ascii_case(std::string s, bool upper)
{
  for (char& c : s)
    c = static_cast<char>(upper ? std::toupper(static_cast<unsigned char>(c))
                                : std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool all_digits(std::string_view s)
{
  if (s.empty())
    return false;
  for (const char c : s)
    if (c < '0' || c > '9')
      return false;
  return true;
}

/// Evaluates the body of ${...}.
std::string variable_value(std::string_view body, variables& vars)
{
  const std::size_t colon = body.find(':');
  const std::string_view head = body.substr(0, colon);
  const std::string_view rest =
      colon == std::string_view::npos ? std::string_view{} : body.substr(colon + 1);
  if (head == "i" && colon == std::string_view::npos)
    return std::to_string(vars.counter());
  if (head == "L" && colon == std::string_view::npos)
    return std::to_string(vars.max_line());
  if (head == "T" && colon == std::string_view::npos)
    return std::to_string(vars.idle_timeout());
  if (head == "R" && colon == std::string_view::npos)
    return std::to_string(vars.registration_timeout());
  if (head == "P" && colon == std::string_view::npos)
    return std::to_string(vars.max_per_ip());
  if (head == "expr")
    return std::to_string(eval_expr(rest, vars));
  if (head == "fill")
  {
    const std::size_t colon2 = rest.find(':');
    const long count = eval_expr(rest.substr(0, colon2), vars);
    const std::string unit =
        colon2 == std::string_view::npos ? std::string("a") : std::string(rest.substr(colon2 + 1));
    if (count < 0 || count > (64L << 20) || unit.empty())
      throw case_error("${fill:...}: count must be 0 to 64 Mi and the unit non-empty");
    std::string out;
    out.reserve(static_cast<std::size_t>(count) * unit.size());
    for (long k = 0; k < count; ++k)
      out += unit;
    return out;
  }
  if (head.empty() || !(head[0] >= 'a' && head[0] <= 'z'))
    throw case_error("unknown variable ${" + std::string(body) + "}");
  for (const char c : head)
    if (!is_name_char(c))
      throw case_error("bad variable name in ${" + std::string(body) + "}");
  if (colon == std::string_view::npos)
    return vars.nick(head, 0);
  if (rest == "upper" || rest == "lower")
    return ascii_case(vars.nick(head, 0), rest == "upper");
  if (all_digits(rest))
  {
    std::size_t n = 0;
    std::from_chars(rest.data(), rest.data() + rest.size(), n);
    if (n == 0 || n > 64)
      throw case_error("nick length must be 1 to 64");
    return vars.nick(head, n);
  }
  throw case_error("unknown variable form ${" + std::string(body) + "}");
}

/// Reads the variable at src[i] == '$' into out; returns the index after it.
std::size_t read_variable(std::string_view src, std::size_t i, variables& vars, std::string& out)
{
  if (i + 1 < src.size() && src[i + 1] == '{')
  {
    const std::size_t close = src.find('}', i + 2);
    if (close == std::string_view::npos)
      throw case_error("unterminated ${");
    out += variable_value(src.substr(i + 2, close - i - 2), vars);
    return close + 1;
  }
  std::size_t j = i + 1;
  if (j >= src.size() || !(src[j] >= 'a' && src[j] <= 'z'))
    throw case_error("a $ must start a variable ($name or ${...}); write \\$ for the octet");
  while (j < src.size() && is_name_char(src[j]))
    ++j;
  out += vars.nick(src.substr(i + 1, j - i - 1), 0);
  return j;
}

bool match_from(const std::vector<pattern::element>& els, std::size_t e, std::string_view s)
{
  if (e == els.size())
    return s.empty();
  const pattern::element& el = els[e];
  switch (el.what)
  {
  case pattern::element::kind::literal:
    return s.substr(0, el.text.size()) == el.text &&
           match_from(els, e + 1, s.substr(el.text.size()));
  case pattern::element::kind::any:
    for (std::size_t k = 0; k <= s.size(); ++k)
      if (match_from(els, e + 1, s.substr(k)))
        return true;
    return false;
  case pattern::element::kind::choice:
    for (const std::string& c : el.choices)
      if (s.substr(0, c.size()) == c && match_from(els, e + 1, s.substr(c.size())))
        return true;
    return false;
  }
  return false;
}

} // namespace

long eval_expr(std::string_view expr, variables& vars)
{
  // A sum of products: total collects finished products, product the current.
  long total = 0;
  long product = 0;
  long sign = 1;
  char mul_op = 0; // '*' or '/' before the operand, 0 when it starts a product
  bool want_operand = true;
  for (std::size_t k = 0; k < expr.size();)
  {
    const char c = expr[k];
    if (c == ' ')
    {
      ++k;
      continue;
    }
    if (want_operand)
    {
      long value = 0;
      if (c == 'L')
      {
        value = vars.max_line();
        ++k;
      }
      else if (c == 'T')
      {
        value = vars.idle_timeout();
        ++k;
      }
      else if (c == 'R' || c == 'P')
      {
        value = c == 'R' ? vars.registration_timeout() : vars.max_per_ip();
        ++k;
      }
      else if (c == 'i')
      {
        value = vars.counter();
        ++k;
      }
      else if (c >= '0' && c <= '9')
      {
        while (k < expr.size() && expr[k] >= '0' && expr[k] <= '9')
          value = value * 10 + (expr[k++] - '0');
      }
      else
        throw case_error("bad expression '" + std::string(expr) + "'");
      if (mul_op == '/' && value == 0)
        throw case_error("division by zero in '" + std::string(expr) + "'");
      product = mul_op == '*' ? product * value : mul_op == '/' ? product / value : value;
      want_operand = false;
    }
    else if (c == '+' || c == '-')
    {
      total += sign * product;
      sign = c == '-' ? -1 : 1;
      mul_op = 0;
      want_operand = true;
      ++k;
    }
    else if (c == '*' || c == '/')
    {
      mul_op = c;
      want_operand = true;
      ++k;
    }
    else
      throw case_error("bad expression '" + std::string(expr) + "'");
  }
  if (want_operand)
    throw case_error("bad expression '" + std::string(expr) + "'");
  return total + sign * product;
}

std::string expand(std::string_view src, variables& vars)
{
  std::string out;
  for (std::size_t i = 0; i < src.size();)
  {
    if (src[i] == '\\')
      i = read_escape(src, i, out);
    else if (src[i] == '$')
      i = read_variable(src, i, vars, out);
    else
      out += src[i++];
  }
  return out;
}

std::vector<std::string> expand_words(std::string_view src, variables& vars)
{
  std::vector<std::string> out;
  while (!src.empty())
  {
    const std::size_t sp = src.find(' ');
    if (sp != 0)
      out.push_back(expand(src.substr(0, sp), vars));
    src.remove_prefix(sp == std::string_view::npos ? src.size() : sp + 1);
  }
  return out;
}

pattern compile_pattern(std::string_view src, variables& vars)
{
  pattern p;
  std::string lit;
  auto flush = [&]
  {
    if (!lit.empty())
      p.elements.push_back({pattern::element::kind::literal, std::move(lit), {}});
    lit.clear();
  };
  for (std::size_t i = 0; i < src.size();)
  {
    const char c = src[i];
    if (c == '\\')
      i = read_escape(src, i, lit);
    else if (c == '$')
      i = read_variable(src, i, vars, lit);
    else if (c == '}')
      throw case_error("a } outside {...}; write \\} for the octet");
    else if (c != '{')
      lit += src[i++];
    else if (src.substr(i, 3) == "{*}")
    {
      flush();
      p.elements.push_back({pattern::element::kind::any, {}, {}});
      i += 3;
    }
    else
    {
      flush();
      pattern::element el{pattern::element::kind::choice, {}, {std::string()}};
      ++i;
      for (;;)
      {
        if (i >= src.size())
          throw case_error("unterminated {...} in pattern");
        if (src[i] == '}')
        {
          ++i;
          break;
        }
        if (src[i] == '|')
        {
          el.choices.emplace_back();
          ++i;
        }
        else if (src[i] == '\\')
          i = read_escape(src, i, el.choices.back());
        else if (src[i] == '$')
          i = read_variable(src, i, vars, el.choices.back());
        else if (src[i] == '{')
          throw case_error("{ inside {...}; write \\{ for the octet");
        else
          el.choices.back() += src[i++];
      }
      if (el.choices.size() < 2)
        throw case_error("{...} needs * or at least two alternatives a|b");
      p.elements.push_back(std::move(el));
    }
  }
  flush();
  return p;
}

bool matches(const pattern& p, std::string_view subject)
{
  return match_from(p.elements, 0, subject);
}

reply_part split_reply(std::string_view line, std::string_view code)
{
  if (line.size() <= code.size() || line.substr(0, code.size()) != code)
    return {};
  const char sep = line[code.size()];
  if (sep != '-' && sep != ' ')
    return {};
  return {sep == '-' ? reply_part::kind::more : reply_part::kind::last,
          line.substr(code.size() + 1)};
}

std::vector<std::string> words_not_leading(const std::vector<std::string>& texts,
                                           const std::vector<std::string>& words)
{
  std::vector<std::string> missing;
  for (const std::string& w : words)
  {
    bool found = false;
    for (const std::string& t : texts)
      found = found || (t.starts_with(w) && (t.size() == w.size() || t[w.size()] == ' '));
    if (!found)
      missing.push_back(w);
  }
  return missing;
}

std::string pattern::to_string() const
{
  std::string out;
  for (const element& el : elements)
  {
    switch (el.what)
    {
    case element::kind::literal: out += printable(el.text); break;
    case element::kind::any: out += "{*}"; break;
    case element::kind::choice:
      out += '{';
      for (std::size_t k = 0; k < el.choices.size(); ++k)
        out += (k != 0 ? "|" : "") + printable(el.choices[k]);
      out += '}';
      break;
    }
  }
  return out;
}

std::string expand_regex(std::string_view src, variables& vars)
{
  std::string out;
  for (std::size_t i = 0; i < src.size();)
  {
    if (src[i] == '\\' && i + 1 < src.size())
    {
      out.append(src.substr(i, 2));
      i += 2;
      continue;
    }
    if (src[i] != '$' || i + 1 >= src.size() ||
        !(src[i + 1] == '{' || (src[i + 1] >= 'a' && src[i + 1] <= 'z')))
    {
      out += src[i++];
      continue;
    }
    std::string value;
    i = read_variable(src, i, vars, value);
    for (const char c : value)
    {
      if (std::string_view("\\^$.|?*+()[]{}-").find(c) != std::string_view::npos)
        out += '\\';
      out += c;
    }
  }
  return out;
}

std::string printable(std::string_view bytes)
{
  static const char digits[] = "0123456789ABCDEF";
  const bool text = natter::proto::is_valid_text(bytes);
  std::string out;
  for (const char ch : bytes)
  {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\t')
      out += "\\t";
    else if (c == '\\')
      out += "\\\\";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\n')
      out += "\\n";
    else if (c == 0)
      out += "\\0";
    else if ((c >= 0x20 && c < 0x7F) || (text && c >= 0x80))
      out += ch;
    else
    {
      out += "\\x";
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

} // namespace natter::conform
