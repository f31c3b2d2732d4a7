#include "natter/client/nick.hpp"

#include "natter/proto/server_line.hpp"

#include <gtest/gtest.h>

namespace natter::client
{
namespace
{

// Issue 4: "nick from $USER (made valid: invalid characters dropped, cut to
// 16, a letter prepended if needed)".

TEST(SanitizeNick, KeepsAValidUser)
{
  EXPECT_EQ(sanitize_nick("alice"), "alice");
  EXPECT_EQ(sanitize_nick("Bob_the-2nd"), "Bob_the-2nd");
}

TEST(SanitizeNick, DropsInvalidCharacters)
{
  EXPECT_EQ(sanitize_nick("j.doe"), "jdoe");
  EXPECT_EQ(sanitize_nick("ann@host name"), "annhostname");
  EXPECT_EQ(sanitize_nick("zo\xC3\xA9"), "zo");
}

TEST(SanitizeNick, PrependsALetter)
{
  EXPECT_EQ(sanitize_nick("1user"), "n1user");
  EXPECT_EQ(sanitize_nick("_x"), "n_x");
}

TEST(SanitizeNick, CutsToSixteen)
{
  EXPECT_EQ(sanitize_nick("abcdefghijklmnopqrstuvwxyz"), "abcdefghijklmnop");
  EXPECT_EQ(sanitize_nick("9bcdefghijklmnopqrst"), "n9bcdefghijklmno");
}

TEST(SanitizeNick, EmptyBecomesGuest)
{
  EXPECT_EQ(sanitize_nick(""), "guest");
  EXPECT_EQ(sanitize_nick("..."), "guest");
}

TEST(SanitizeNick, ResultIsAlwaysValid)
{
  for (const char* user : {"", "a", "1", "-", "root", "x y", "\x01\x02", "0123456789012345678",
                           "UPPER", "ünïcode", "a-b_c"})
    EXPECT_TRUE(proto::is_valid_nick(sanitize_nick(user))) << user;
}

// Issue 4: "On 433 at registration the client tries NAME_, NAME2, ..."
TEST(NickCandidate, Sequence)
{
  EXPECT_EQ(nick_candidate("alice", 0), "alice");
  EXPECT_EQ(nick_candidate("alice", 1), "alice_");
  EXPECT_EQ(nick_candidate("alice", 2), "alice2");
  EXPECT_EQ(nick_candidate("alice", 3), "alice3");
  EXPECT_EQ(nick_candidate("alice", 42), "alice42");
}

TEST(NickCandidate, StaysWithinTheLimit)
{
  const std::string base = "abcdefghijklmnop"; // 16
  EXPECT_EQ(nick_candidate(base, 1), "abcdefghijklmno_");
  EXPECT_EQ(nick_candidate(base, 2), "abcdefghijklmno2");
  EXPECT_EQ(nick_candidate(base, 10), "abcdefghijklmn10");
  for (unsigned i = 0; i < 200; ++i)
    EXPECT_TRUE(proto::is_valid_nick(nick_candidate(base, i))) << i;
}

} // namespace
} // namespace natter::client
