#include "natter/bench/report.hpp"

#include <algorithm>
#include <cstdio>

namespace natter::bench
{

void report::number(std::string key, std::string label, double value, int precision,
                    std::string unit)
{
  char shown[64];
  char json[64];
  std::snprintf(shown, sizeof shown, "%.*f", precision, value);
  std::snprintf(json, sizeof json, "%.*f", precision < 3 ? 3 : precision, value);
  if (precision == 0 && value == static_cast<double>(static_cast<long long>(value)))
    std::snprintf(json, sizeof json, "%lld", static_cast<long long>(value));
  std::string s = shown;
  if (!unit.empty())
    s += " " + unit;
  rows_.push_back({std::move(key), std::move(label), std::move(s), json});
}

void report::text(std::string key, std::string label, std::string value)
{
  std::string json = "\"";
  for (const char c : value)
  {
    if (c == '"' || c == '\\')
      json += '\\';
    if (static_cast<unsigned char>(c) >= 0x20)
      json += c;
  }
  json += '"';
  rows_.push_back({std::move(key), std::move(label), std::move(value), std::move(json)});
}

void report::print(bool json) const
{
  if (json)
  {
    std::printf("{\"mode\": \"%s\"", mode_.c_str());
    for (const row& r : rows_)
      std::printf(", \"%s\": %s", r.key.c_str(), r.json.c_str());
    std::printf("}\n");
  }
  else
  {
    std::size_t width = 0;
    for (const row& r : rows_)
      width = std::max(width, r.label.size());
    std::printf("natter-bench %s\n", mode_.c_str());
    for (const row& r : rows_)
      std::printf("  %-*s  %s\n", static_cast<int>(width), r.label.c_str(), r.shown.c_str());
  }
  std::fflush(stdout);
}

void report_cpu(report& r, const cpu_meter& m)
{
  const double wall = m.wall_seconds() > 0 ? m.wall_seconds() : 1;
  r.number("bench_cpu_pct", "natter-bench CPU", 100 * m.self_seconds() / wall, 1, "% of a core");
  if (m.server_seconds() >= 0)
    r.number("server_cpu_pct", "server CPU", 100 * m.server_seconds() / wall, 1, "% of a core");
}

void report_latency(report& r, const std::string& prefix, const std::string& what,
                    const latency_histogram& h)
{
  r.number(prefix + "_p50_ms", what + " p50", static_cast<double>(h.quantile(0.50)) / 1e6, 3, "ms");
  r.number(prefix + "_p99_ms", what + " p99", static_cast<double>(h.quantile(0.99)) / 1e6, 3, "ms");
  r.number(prefix + "_max_ms", what + " max", static_cast<double>(h.max()) / 1e6, 3, "ms");
}

} // namespace natter::bench
