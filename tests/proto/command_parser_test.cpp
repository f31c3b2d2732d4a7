#include "natter/proto/command_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace natter::proto
{
namespace
{

std::vector<std::string> events(std::string_view input, std::size_t max_line = 1024)
{
  command_parser parser(max_line);
  std::vector<std::string> out;
  parser.feed(input, [&](const parse_event& ev) {
    switch (ev.what)
    {
    case parse_event::kind::command:
      out.push_back(std::string(verb_name(ev.cmd.type)) + "|" + std::string(ev.cmd.arg));
      break;
    case parse_event::kind::error:
      out.push_back("E" + std::to_string(reply_code_for(ev.error)) + "|" + std::string(ev.token));
      break;
    case parse_event::kind::telnet:
      out.push_back("T" + std::to_string(static_cast<int>(ev.telnet)) + "|" +
                    std::to_string(ev.option));
      break;
    case parse_event::kind::none:
      break;
    }
  });
  return out;
}

using v = std::vector<std::string>;

TEST(CommandParser, ParsesBasicCommands)
{
  EXPECT_EQ(events("NICK alice\r\nMSG hello world\nPING x\r\n"),
            (v{"NICK|alice", "MSG|hello world", "PING|x"}));
}

} // namespace
} // namespace natter::proto
