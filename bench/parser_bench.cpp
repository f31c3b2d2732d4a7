// Parser throughput on a realistic mix of client lines, against two baselines
// measured in the same run:
//  - MemchrSplit: find each LF with memchr and nothing else (the limit);
//  - GetlineSplit: std::getline + split into verb and argument, with a case-
//    insensitive verb lookup (what a user would write first).
// Run: build/bin/parser_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include "natter/proto/command_parser.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <sstream>
#include <string>

namespace
{

constexpr std::size_t read_size = 65536; // one socket read

// Mostly MSG lines of 20-200 octets (one in five with non-ASCII words), some
// PING/WHO/NICK, and a few errors (unknown verbs, invalid UTF-8, overlong
// lines); a quarter of the lines end in a bare LF.
std::string make_mix(std::size_t target, std::size_t& lines)
{
  std::mt19937 rng(42);
  const char* ascii[] = {"hello",    "world,", "natter", "chat", "the",    "line",
                         "protocol", "ok",     "is",     "a",    "server", "test",
                         "and",      "when",   "you",    "are",  "there?"};
  const char* utf8[] = {"gr\xC3\xBC\xC3\x9F",
                        "\xE2\x82\xAC",
                        "\xF0\x9F\x98\x80",
                        "caf\xC3\xA9",
                        "\xD0\xBF\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82",
                        "\xE6\x97\xA5\xE6\x9C\xAC"};
  std::string out;
  lines = 0;
  while (out.size() < target)
  {
    const unsigned pick = rng() % 100;
    if (pick < 85)
    {
      // One line in five carries some non-ASCII words.
      std::string text;
      const std::size_t len = 16 + rng() % 180;
      const bool intl = rng() % 5 == 0;
      while (text.size() < len)
      {
        if (intl && rng() % 3 == 0)
          text.append(utf8[rng() % std::size(utf8)]);
        else
          text.append(ascii[rng() % std::size(ascii)]);
        text.push_back(' ');
      }
      out.append("MSG ").append(text).append(rng() % 4 ? "\r\n" : "\n");
    }
    else if (pick < 92)
      out.append("PING ").append(std::to_string(rng())).append("\r\n");
    else if (pick < 95)
      out.append("NICK user").append(std::to_string(rng() % 1000)).append("\r\n");
    else if (pick < 97)
      out.append("WHO\r\n");
    else if (pick < 98)
      out.append("FROB something\r\n");
    else if (pick < 99)
      out.append("MSG bad \xC0\x80 text\r\n");
    else
      out.append("MSG ").append(1500, 'x').append("\r\n");
    ++lines;
  }
  return out;
}

const std::string& mix(std::size_t& lines)
{
  static std::size_t n = 0;
  static const std::string data = make_mix(8 << 20, n);
  lines = n;
  return data;
}

void BM_NatterParser(benchmark::State& state)
{
  std::size_t lines = 0;
  const std::string& data = mix(lines);
  natter::proto::command_parser parser;
  std::size_t commands = 0;
  for (auto _ : state)
  {
    for (std::size_t at = 0; at < data.size(); at += read_size)
    {
      std::string_view chunk(data.data() + at, std::min(read_size, data.size() - at));
      parser.feed(chunk, [&](const natter::proto::parse_event& ev)
                  { commands += ev.what == natter::proto::parse_event::kind::command; });
    }
  }
  benchmark::DoNotOptimize(commands);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * lines));
}
BENCHMARK(BM_NatterParser)->Unit(benchmark::kMillisecond);

void BM_MemchrSplit(benchmark::State& state)
{
  std::size_t lines = 0;
  const std::string& data = mix(lines);
  std::size_t found = 0;
  for (auto _ : state)
  {
    for (std::size_t at = 0; at < data.size(); at += read_size)
    {
      const char* p = data.data() + at;
      const char* const end = p + std::min(read_size, data.size() - at);
      while (const void* lf = std::memchr(p, '\n', static_cast<std::size_t>(end - p)))
      {
        ++found;
        p = static_cast<const char*>(lf) + 1;
      }
    }
  }
  benchmark::DoNotOptimize(found);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * lines));
}
BENCHMARK(BM_MemchrSplit)->Unit(benchmark::kMillisecond);

void BM_GetlineSplit(benchmark::State& state)
{
  std::size_t lines = 0;
  const std::string& data = mix(lines);
  std::size_t commands = 0;
  static const char* const verbs[] = {"NICK", "MSG", "ECHO", "PING", "WHO", "HELP", "QUIT"};
  for (auto _ : state)
  {
    std::istringstream in(data);
    std::string line;
    while (std::getline(in, line))
    {
      if (!line.empty() && line.back() == '\r')
        line.pop_back();
      if (line.size() > 1022)
        continue;
      const std::size_t sp = line.find(' ');
      std::string verb = line.substr(0, sp);
      std::transform(verb.begin(), verb.end(), verb.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      std::string arg = sp == std::string::npos ? std::string() : line.substr(sp + 1);
      for (const char* v : verbs)
        if (verb == v)
        {
          ++commands;
          break;
        }
      benchmark::DoNotOptimize(arg);
    }
  }
  benchmark::DoNotOptimize(commands);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * lines));
}
BENCHMARK(BM_GetlineSplit)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
