// Arbitrary octets through the client-line parser, in one piece and in chunks
// the input chooses. Checks: the same events however the stream is cut; every
// command satisfies the grammar (spec/natter.md sections 4-7); the parser
// never holds more than the line limit.
// Input: [limit selector] [split seed] [stream octets...]
#include "check.hpp"
#include "natter/proto/command_parser.hpp"
#include "natter/proto/server_line.hpp"
#include "support/parse_log.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace
{

using natter::fuzz::check;
using natter::proto::parse_event;

void check_event(const parse_event& ev, std::size_t max_line)
{
  if (ev.what == parse_event::kind::command)
  {
    const auto verb = natter::proto::verb_name(ev.cmd.type);
    check(!verb.empty(), "command has a known verb");
    check(natter::proto::is_valid_text(ev.cmd.arg), "argument is valid text");
    check(ev.cmd.arg.empty() || ev.cmd.arg.front() != ' ', "argument starts after the separator");
    check(verb.size() + 1 + ev.cmd.arg.size() + 1 <= max_line, "command fits the line limit");
    if (ev.cmd.type == natter::proto::command_type::nick)
      check(natter::proto::is_valid_nick(ev.cmd.arg), "NICK carries a valid nick");
  }
  else if (ev.what == parse_event::kind::error)
    check(natter::proto::is_valid_text(ev.token), "error token is valid text");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  if (size < 2)
    return 0;
  // Small limits reach the overlong paths; 0 keeps the default.
  const std::size_t max_line = data[0] == 0 ? natter::proto::default_max_line : 32u + data[0];
  const unsigned seed = data[1];
  const std::string_view stream(reinterpret_cast<const char*>(data + 2), size - 2);

  natter::proto::command_parser whole(max_line);
  std::vector<std::string> expected;
  whole.feed(stream,
             [&](const parse_event& ev)
             {
               check_event(ev, whole.max_line());
               expected.push_back(natter::test::render(ev));
             });
  check(whole.buffered() < whole.max_line(), "held octets stay under the limit");

  natter::proto::command_parser cut(max_line);
  natter::fuzz::splitter split(seed);
  std::vector<std::string> got;
  for (std::size_t at = 0; at < stream.size();)
  {
    const std::size_t n = std::min(split.next(seed % 2 ? 7 : 300), stream.size() - at);
    cut.feed(stream.substr(at, n),
             [&](const parse_event& ev)
             {
               check_event(ev, cut.max_line());
               got.push_back(natter::test::render(ev));
             });
    check(cut.buffered() < cut.max_line(), "held octets stay under the limit");
    at += n;
  }
  check(got == expected, "chunked feed gives the events of one feed");
  return 0;
}
