// Test helpers: run the command parser over a stream and render every event
// as one comparable string, so vectors and split tests compare plain lists.
#ifndef NATTER_TESTS_SUPPORT_PARSE_LOG_HPP
#define NATTER_TESTS_SUPPORT_PARSE_LOG_HPP

#include "natter/proto/command_parser.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace natter::test
{

/// "NICK alice", "E413", "E421 FOO", "T253 6": one string per event. A
/// TELL's text follows " :" ("TELL bob :hi"), a HISTORY's id "AFTER"
/// ("HISTORY AFTER 3"), and a TELL or HISTORY whose argument does not match
/// its rule has "?" after the verb ("HISTORY? last").
inline std::string render(const proto::parse_event& ev)
{
  using kind = proto::parse_event::kind;
  std::string s;
  switch (ev.what)
  {
  case kind::command:
    s.append(proto::verb_name(ev.cmd.type));
    if (!ev.cmd.valid)
      s.append("?");
    if (ev.cmd.after)
      s.append(" AFTER");
    if (!ev.cmd.arg.empty())
      s.append(" ").append(ev.cmd.arg);
    if (!ev.cmd.text.empty())
      s.append(" :").append(ev.cmd.text);
    break;
  case kind::error:
    s.append("E").append(std::to_string(proto::reply_code_for(ev.error)));
    if (!ev.token.empty())
      s.append(" ").append(ev.token);
    break;
  case kind::telnet:
    s.append("T").append(std::to_string(static_cast<int>(ev.telnet)));
    s.append(" ").append(std::to_string(ev.option));
    break;
  case kind::none: s.append("none"); break;
  }
  return s;
}

/// Feeds `chunks` in order to one parser and returns the rendered events.
inline std::vector<std::string> parse_chunks(const std::vector<std::string_view>& chunks,
                                             std::size_t max_line = proto::default_max_line)
{
  proto::command_parser parser(max_line);
  std::vector<std::string> out;
  for (std::string_view chunk : chunks)
    parser.feed(chunk, [&](const proto::parse_event& ev) { out.push_back(render(ev)); });
  return out;
}

/// Feeds `input` in one piece.
inline std::vector<std::string> parse_all(std::string_view input,
                                          std::size_t max_line = proto::default_max_line)
{
  return parse_chunks({input}, max_line);
}

/// Feeds `input` in pieces of `size` octets.
inline std::vector<std::string> parse_sized(std::string_view input, std::size_t size,
                                            std::size_t max_line = proto::default_max_line)
{
  std::vector<std::string_view> chunks;
  for (std::size_t i = 0; i < input.size(); i += size)
    chunks.push_back(input.substr(i, size));
  return parse_chunks(chunks, max_line);
}

} // namespace natter::test

#endif // NATTER_TESTS_SUPPORT_PARSE_LOG_HPP
