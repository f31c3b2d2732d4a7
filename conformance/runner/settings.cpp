#include "settings.hpp"

#include "line_regex.hpp"
#include "matcher.hpp"
#include "pump.hpp"

#include "natter/proto/greeting.hpp"

#include <arpa/inet.h>

#include <cmath>

namespace natter::conform
{

namespace
{

using std::chrono::milliseconds;

/// The value of the advert `key` of the first greeting, if it sent one.
const std::string* advert(const run_options& opt, std::string_view key)
{
  for (const auto& [k, v] : opt.adverts)
    if (k == key)
      return &v;
  return nullptr;
}

/// An advert as a number, if it is one.
std::optional<double> number(const run_options& opt, std::string_view key)
{
  const std::string* v = advert(opt, key);
  return v != nullptr ? proto::advert_number(*v) : std::nullopt;
}

/// An advert of seconds as milliseconds, if it is a number.
std::optional<milliseconds> duration(const run_options& opt, std::string_view key)
{
  const auto s = number(opt, key);
  if (!s || *s > 1e9)
    return std::nullopt;
  return milliseconds(std::llround(*s * 1000));
}

std::string seconds(milliseconds d)
{
  const long long ms = d.count();
  std::string out = std::to_string(ms / 1000);
  if (ms % 1000 != 0)
  {
    std::string frac = std::to_string(1000 + ms % 1000).substr(1);
    while (frac.back() == '0')
      frac.pop_back();
    out += "." + frac;
  }
  return out + " s";
}

/// Why a case that waits out the `what` ("idle timeout") of `value` cannot
/// run, or "": `unknown` when it is zero (none, or not known), else when it
/// is longer than --max-wait or not whole seconds (as ${T} and ${R} are).
std::string wait_reason(const std::string& what, milliseconds value, const std::string& unknown,
                        const run_options& opt)
{
  if (value.count() == 0)
    return unknown;
  if (value > opt.max_wait)
    return "the " + what + " is " + seconds(value) + ", longer than --max-wait " +
           seconds(opt.max_wait);
  if (value.count() % 1000 != 0)
    return "the " + what + " is " + seconds(value) + ", not a whole number of seconds";
  return {};
}

/// wait_reason() for a timeout the greeting advertises as `key`; `without`
/// is why the case cannot run when it does not.
std::string advertised_wait_reason(const std::string& what, std::string_view key,
                                   milliseconds value, const std::string& without,
                                   const run_options& opt)
{
  const std::string* v = advert(opt, key);
  return wait_reason(what, value,
                     v != nullptr
                         ? "the server has no " + what + " (" + std::string(key) + "=" + *v + ")"
                         : without,
                     opt);
}

/// Why the condition `c` (is_setting_condition) does not hold, or "".
std::string unmet(const std::string& c, const run_options& opt)
{
  if (c == "defaults")
    return opt.defaults ? std::string()
                        : "holds the server to natterd's defaults, and the runner was not told "
                          "it runs with them (--defaults)";
  const std::size_t op = c.find_first_of("=>");
  const std::string key = c.substr(0, op);
  const double want = *proto::advert_number(c.substr(op + 1));
  std::optional<double> have;
  std::string shown;
  if (key == "max-per-ip")
  {
    if (opt.max_per_ip < 0)
      return "needs " + c + ", and the per-address limit is not known (--max-per-ip)";
    have = static_cast<double>(opt.max_per_ip);
    shown = "--max-per-ip " + std::to_string(opt.max_per_ip);
  }
  else
  {
    const std::string* v = advert(opt, key);
    if (v == nullptr)
      return "needs " + c + ", and the server does not advertise " + key;
    have = proto::advert_number(*v);
    shown = "the server advertises " + key + "=" + *v;
  }
  const bool ok = have && (c[op] == '=' ? *have == want : *have > want);
  return ok ? std::string() : "needs " + c + ", and " + shown;
}

} // namespace

std::optional<std::string> first_line(const run_options& opt, std::string& error)
{
  pump conn;
  const auto deadline = clock::now() + opt.timeout;
  error = conn.connect(opt.host, opt.port, deadline, 0, {}, opt.tls.usual);
  if (!error.empty())
    return std::nullopt;
  std::string& got = conn.received();
  for (;;)
  {
    if (const std::size_t lf = got.find('\n'); lf != std::string::npos)
    {
      got.resize(lf > 0 && got[lf - 1] == '\r' ? lf - 1 : lf);
      return got;
    }
    if (got.size() > 4096 || clock::now() >= deadline ||
        conn.wait_for_input(deadline) != arrival::octets)
      break;
  }
  error = got.empty() ? "the chat service sent no line within " +
                            std::to_string(opt.timeout.count()) + " ms"
                      : "the chat service's first line does not end: " + printable(got);
  return std::nullopt;
}

std::vector<std::string> apply_greeting(std::string_view greeting, const told_settings& told,
                                        run_options& opt, std::vector<std::string>& notes)
{
  std::vector<std::string> errors;
  const proto::greeting g = proto::parse_greeting(greeting);
  if (g.what != proto::greeting::status::ok)
    notes.push_back("the first greeting is not one by the rule of section 9.1, so no advert is "
                    "used: " +
                    printable(greeting));
  else
    for (const proto::advert& a : g.adverts)
      if (advert(opt, a.key) == nullptr)
        opt.adverts.emplace_back(a.key, a.value);

  namespace key = proto::advert_key;
  const auto line = number(opt, key::line);
  const bool line_ok = line && *line >= 32 && *line <= (1L << 24) && *line == std::floor(*line);
  if (line_ok && told.max_line && static_cast<long>(*line) != *told.max_line)
    errors.push_back("--max-line " + std::to_string(*told.max_line) +
                     " disagrees with the server's advert line=" + *advert(opt, key::line));
  if (line_ok)
    opt.max_line = static_cast<long>(*line);
  else
  {
    opt.max_line = told.max_line.value_or(1024);
    notes.push_back("no usable line advert: L is " + std::to_string(opt.max_line) +
                    (told.max_line ? " (--max-line)" : " (natterd's default; --max-line sets it)"));
  }

  const auto idle = duration(opt, key::idle);
  if (idle && told.idle_timeout && *idle != *told.idle_timeout)
    errors.push_back("--idle-timeout " + seconds(*told.idle_timeout) +
                     " disagrees with the server's advert idle=" + *advert(opt, key::idle));
  opt.idle_timeout = idle ? *idle : told.idle_timeout.value_or(milliseconds(0));
  opt.registration_timeout = duration(opt, key::reg).value_or(milliseconds(0));
  return errors;
}

std::string describe(const run_options& opt)
{
  std::string out;
  for (const auto& [k, v] : opt.adverts)
    out += (out.empty() ? "" : " ") + k + "=" + v;
  out = out.empty() ? "no adverts" : out + " (advertised)";
  std::string told;
  if (opt.max_per_ip >= 0)
    told += " max-per-ip=" + std::to_string(opt.max_per_ip);
  if (!opt.sources.empty())
    told += " sources=" + opt.sources.front() +
            (opt.sources.size() > 1 ? "-" + opt.sources.back() : std::string());
  if (opt.echo_idle_timeout.count() != 0)
    told += " echo-idle=" + seconds(opt.echo_idle_timeout);
  if (opt.defaults)
    told += " defaults";
  if (opt.peer_port != 0)
    told += " peer=" + opt.peer_host + ":" + std::to_string(opt.peer_port);
  return "L=" + std::to_string(opt.max_line) + "; " + out + (told.empty() ? "" : ";" + told);
}

bool is_setting_condition(std::string_view condition)
{
  static const line_regex form(R"([a-z][a-z0-9-]*[=>][0-9]+(\.[0-9]+)?)");
  return condition == "defaults" || form.matches(condition);
}

std::string skip_reason(const test_case& tc, const run_options& opt)
{
  if (tc.needs_echo && !opt.echo)
    return "needs the echo service (--echo-port)";
  if (tc.tls && opt.tls.usual == nullptr)
    return "a case of TLS: needs --tls";
  if (tc.plain && opt.tls.usual != nullptr)
    return "about the plain port only: not over TLS (--tls)";
  namespace key = proto::advert_key;
  std::string why;
  if (tc.needs_idle_timeout)
    why = advertised_wait_reason("idle timeout", key::idle, opt.idle_timeout,
                                 "needs the server's idle timeout (no idle advert; --idle-timeout)",
                                 opt);
  if (why.empty() && tc.needs_registration_timeout)
    why = advertised_wait_reason("registration timeout", key::reg, opt.registration_timeout,
                                 "needs the server's registration timeout (no reg advert)", opt);
  if (why.empty() && tc.needs_echo_idle_timeout)
    why = wait_reason("echo idle timeout", opt.echo_idle_timeout,
                      "needs the echo service's idle timeout (--echo-idle-timeout)", opt);
  if (!why.empty())
    return why;
  for (const std::string& c : tc.requires_settings)
    if (why = unmet(c, opt); !why.empty())
      return why;
  if (tc.needs_max_per_ip && opt.max_per_ip < 0)
    return "needs the per-address limit (--max-per-ip)";
  if (static_cast<std::size_t>(tc.needs_sources) > opt.sources.size())
    return "needs " + std::to_string(tc.needs_sources) + " source address" +
           (tc.needs_sources == 1 ? "" : "es") +
           " that the per-address limit counts (--source), and has " +
           std::to_string(opt.sources.size());
  return {};
}

std::vector<std::string> parse_sources(const std::string& spec)
{
  const std::size_t dash = spec.find('-');
  const std::string first = spec.substr(0, dash);
  const std::string last = dash == std::string::npos ? first : spec.substr(dash + 1);
  in_addr a{};
  in_addr b{};
  if (::inet_pton(AF_INET, first.c_str(), &a) != 1 || ::inet_pton(AF_INET, last.c_str(), &b) != 1)
    throw case_error("--source takes an IPv4 address or a range A-B: '" + spec + "'");
  const std::uint32_t from = ntohl(a.s_addr);
  const std::uint32_t to = ntohl(b.s_addr);
  if (to < from || to - from >= 256)
    throw case_error("--source " + spec + ": a range goes up, over at most 256 addresses");
  std::vector<std::string> out;
  for (std::uint32_t k = from; k <= to; ++k)
  {
    in_addr x{htonl(k)};
    char text[INET_ADDRSTRLEN];
    out.emplace_back(::inet_ntop(AF_INET, &x, text, sizeof text));
  }
  return out;
}

} // namespace natter::conform
