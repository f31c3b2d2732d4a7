#include "natter/proto/reply.hpp"

#include "natter/proto/parse_error.hpp"

#include <gtest/gtest.h>

#include <chrono>
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

// N-HIST-4: RFC 3339, UTC, milliseconds, truncated (an id's time is when
// the server accepted it; it never shows a later millisecond).
TEST(Reply, MsgTime)
{
  using namespace std::chrono;
  auto text = [](system_clock::time_point t)
  {
    std::string out;
    append_msg_time(out, t);
    return out;
  };
  const sys_days dec1 = year(2026) / December / 1;
  EXPECT_EQ(text(system_clock::time_point{}), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(text(dec1 + hours(18) + minutes(30) + milliseconds(123)), "2026-12-01T18:30:00.123Z");
  EXPECT_EQ(text(dec1 + hours(23) + minutes(59) + seconds(59) + microseconds(999999)),
            "2026-12-01T23:59:59.999Z");
  EXPECT_EQ(text(sys_days(year(2028) / February / 29) + milliseconds(7)),
            "2028-02-29T00:00:00.007Z");
  EXPECT_EQ(text(system_clock::time_point{} - milliseconds(1)), "1969-12-31T23:59:59.999Z");
}

// The writer remembers the last second's text; any other second is written
// anew, earlier ones too.
TEST(Reply, MsgTimeWriterAcrossSeconds)
{
  using namespace std::chrono;
  msg_time_writer w;
  auto text = [&w](system_clock::time_point t)
  {
    char buf[msg_time_writer::size];
    w.write(buf, t);
    return std::string(buf, sizeof buf);
  };
  const auto t = sys_days(year(2026) / December / 31) + hours(23) + minutes(59) + seconds(59);
  EXPECT_EQ(text(t + milliseconds(998)), "2026-12-31T23:59:59.998Z");
  EXPECT_EQ(text(t + milliseconds(999)), "2026-12-31T23:59:59.999Z");
  EXPECT_EQ(text(t + seconds(1)), "2027-01-01T00:00:00.000Z");
  EXPECT_EQ(text(t + milliseconds(5)), "2026-12-31T23:59:59.005Z");
  EXPECT_EQ(text(system_clock::time_point{} - milliseconds(1001)), "1969-12-31T23:59:58.999Z");
  EXPECT_EQ(text(system_clock::time_point{} - milliseconds(1000)), "1969-12-31T23:59:59.000Z");
}

TEST(Reply, HistoryItem)
{
  using namespace std::chrono;
  std::string out;
  const auto t = sys_days(year(2026) / December / 1) + hours(18) + minutes(30) + milliseconds(124);
  append_history_item(out, 3, t, "alice", "third  one ");
  EXPECT_EQ(out, "212-3 2026-12-01T18:30:00.124Z alice third  one \r\n");
  EXPECT_EQ(out.size(), history_item_size(3, "alice", "third  one "));
  out.clear();
  append_history_item(out, ~std::uint64_t{0}, t, "n", "x");
  EXPECT_EQ(out, "212-18446744073709551615 2026-12-01T18:30:00.124Z n x\r\n");
  EXPECT_EQ(out.size(), history_item_size(~std::uint64_t{0}, "n", "x"));
  EXPECT_EQ(decimal_digits(0), 1u);
  EXPECT_EQ(decimal_digits(9), 1u);
  EXPECT_EQ(decimal_digits(10), 2u);
  EXPECT_EQ(decimal_digits(~std::uint64_t{0}), 20u);
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
