#include "natter/proto/reply.hpp"

#include "natter/proto/parse_error.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace natter::proto
{
namespace
{

// spec/replies.tsv is the one table of codes; reply.cpp must hold the same rows.
TEST(Reply, TableAgreesWithSpecTsv)
{
  std::ifstream in(NATTER_SOURCE_DIR "/spec/replies.tsv");
  ASSERT_TRUE(in) << "spec/replies.tsv not found";
  std::vector<std::string> spec_rows;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line[0] != '#' && line.rfind("code\t", 0) != 0)
      spec_rows.push_back(line);

  std::vector<std::string> code_rows;
  for (const reply_info& r : reply_table())
    code_rows.push_back(std::to_string(static_cast<int>(r.code)) + "\t" + std::string(r.name) +
                        "\t" + std::string(r.text));
  EXPECT_EQ(code_rows, spec_rows);
}

TEST(Reply, Formats)
{
  std::string out;
  append_reply(out, reply_code::who, "bob", true);
  append_reply(out, reply_code::who, "1 users in the room");
  append_event(out, "QUIT", "bob");
  append_event(out, "NICK", "a", "b");
  EXPECT_EQ(out, "211-bob\r\n211 1 users in the room\r\nQUIT bob\r\nNICK a b\r\n");
}

// Code that compares received lines by name spells the code this way.
TEST(Reply, CodeDigits)
{
  for (const reply_info& r : reply_table())
    EXPECT_EQ(to_string(r.code), std::to_string(static_cast<int>(r.code)));
  EXPECT_EQ(to_string(reply_code::nick_accepted), "200");
  EXPECT_EQ(to_string(static_cast<reply_code>(299)), "299"); // a code this version does not know
}

TEST(Reply, ClassesAndErrorCodes)
{
  EXPECT_TRUE(closes_connection(reply_code::server_full));
  EXPECT_FALSE(closes_connection(reply_code::nick_in_use));
  EXPECT_TRUE(closes_connection(static_cast<reply_code>(599)));
  EXPECT_FALSE(closes_connection(static_cast<reply_code>(299)));
  EXPECT_EQ(reply_code_for(parse_error::line_too_long), 413);
  EXPECT_EQ(reply_code_for(parse_error::invalid_text), 415);
  EXPECT_EQ(reply_code_for(parse_error::unknown_command), 421);
  EXPECT_EQ(reply_code_for(parse_error::missing_argument), 400);
  EXPECT_EQ(reply_code_for(parse_error::invalid_nick), 432);
  EXPECT_EQ(make_error_code(parse_error::invalid_nick).category().name(),
            std::string("natter.proto"));
  EXPECT_EQ(make_error_code(parse_error::line_too_long).message(), "line too long");
}

} // namespace
} // namespace natter::proto
