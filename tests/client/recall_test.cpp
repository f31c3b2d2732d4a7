// The conversation's private messages, room history and message ids
// (spec 7.10 TELL, 7.11 HISTORY, 7.12 IDS): what natter sends, how it
// numbers what it receives, and what it shows after a reconnection.
#include "natter/client/conversation.hpp"

#include "natter/client/format.hpp"

#include "support/greeting.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace natter::client
{
namespace
{

using lines = std::vector<std::string>;

/// HH:MM of a moment in UTC, so that what history shows does not depend on
/// the machine's time zone.
std::string utc_stamp(std::time_t at)
{
  std::tm utc{};
  gmtime_r(&at, &utc);
  return format_clock(utc);
}

/// "212-<id> 2026-12-01T18:<id>:00.123Z <nick> <text>": message `id` of
/// the room, said at 18:<id>.
std::string item(unsigned id, const std::string& nick, const std::string& text)
{
  char minute[3];
  std::snprintf(minute, sizeof minute, "%02u", id % 60);
  return "212-" + std::to_string(id) + " 2026-12-01T18:" + minute + ":00.123Z " + nick + " " + text;
}

/// The line natter shows for that message.
std::string shown_item(unsigned id, const std::string& nick, const std::string& text)
{
  char minute[3];
  std::snprintf(minute, sizeof minute, "%02u", id % 60);
  return "[18:" + std::string(minute) + "] <" + nick + "> " + text;
}

const std::string end_of_history = "212 end of history";

/// An interactive conversation: a screenful is 5 messages, and it catches
/// up after reconnections.
class Recall : public ::testing::Test
{
protected:
  Recall()
      : conv_(
            conversation::options{"alice", false, true, 0, 5, true},
            [] { return std::string("12:34"); }, {}, &utc_stamp)
  {
  }

  /// Lines sent since the last call (display is dropped).
  lines sent() { return conv_.take().send; }

  /// Display texts since the last call (sends are dropped).
  lines shown()
  {
    lines out;
    for (display_line& d : conv_.take().show)
      out.push_back(std::move(d.text));
    return out;
  }

  /// Connects, is greeted with `greeting`, registers, and returns what was
  /// sent after the NICK.
  lines register_with(const std::string& greeting = natter::test::greeting())
  {
    conv_.connected();
    conv_.server_line(greeting);
    EXPECT_EQ(sent(), lines{"NICK alice"});
    conv_.server_line("200 alice nick accepted");
    const effects e = conv_.take();
    return e.send;
  }

  /// First connection to a room whose messages 1 to `joined` were said
  /// before: after it, natter has seen up to `joined` in epoch "ep1".
  void first_connection(unsigned joined)
  {
    EXPECT_EQ(register_with(), (lines{"IDS", "HISTORY 5"}));
    conv_.server_line("213 ep1 " + std::to_string(joined) + " " + std::to_string(joined) +
                      " ids on");
    conv_.server_line(end_of_history);
    shown();
    ASSERT_EQ(conv_.last_id(), joined);
    ASSERT_EQ(conv_.epoch(), "ep1");
  }

  conversation conv_;
};

// A cluster's node that could not deliver what it missed says GAP (spec
// 17.5): natter counts what was lost, or says the history is gone.
TEST_F(Recall, AGapSaysHowManyMessagesWereLost)
{
  first_connection(3);
  conv_.server_line("MSG bob four");
  shown();
  conv_.server_line("GAP ep1 7");
  EXPECT_EQ(shown(), lines{"[12:34] * -- the server lost 3 messages of the room -- (ask /who for "
                           "who is here)"});
  conv_.server_line("MSG bob eight");
  shown();
  EXPECT_EQ(conv_.last_id(), 8u);
  conv_.server_line("GAP ep2 0");
  EXPECT_EQ(shown(), lines{"[12:34] * -- the server lost the room's history: earlier messages "
                           "are gone -- (ask /who for who is here)"});
  EXPECT_EQ(conv_.epoch(), "ep2");
  conv_.server_line("GAP not a gap");
  EXPECT_TRUE(shown().empty()); // an event of a later version, ignored (N-EVENT-3)
}

// "/tell NICK TEXT (and /msg NICK TEXT as an alias) [...] private lines shown
// distinctly, in both directions".
TEST_F(Recall, TellIsSentAndShownBothWays)
{
  register_with();
  conv_.user_line("/tell bob are you there?");
  effects e = conv_.take();
  EXPECT_EQ(e.send, lines{"TELL bob are you there?"});
  // N-TELL-4: the server sends nothing back, so natter shows the line.
  ASSERT_EQ(e.show.size(), 1u);
  EXPECT_EQ(e.show[0].text, "[12:34] -> *bob* are you there?");
  conv_.user_line("/msg Bob  two  spaces");
  EXPECT_EQ(sent(), lines{"TELL Bob two  spaces"});
  conv_.server_line("TELL bob yes, here");
  EXPECT_EQ(shown(), lines{"[12:34] *bob* yes, here"});
}

// "reports a 434 no such nick answer clearly as an error tied to that tell".
TEST_F(Recall, NoSuchNickNamesTheTellItAnswers)
{
  first_connection(0);
  conv_.user_line("/tell bob first");
  conv_.user_line("/tell carol second");
  conv_.user_line("/who");
  sent();
  // The TELL to bob went through unanswered; the 434 is carol's.
  conv_.server_line("434 carol no such nick");
  EXPECT_EQ(
      shown(),
      lines{"[12:34] ! not delivered to carol: nobody here has that nick (you said: second)"});
  conv_.server_line("211 0 users in the room");
  EXPECT_EQ(shown(), lines{"[12:34] * 0 users in the room"});
  EXPECT_FALSE(conv_.waiting());
  // A 434 for a nick no TELL named answers nothing.
  conv_.server_line("434 dave no such nick");
  EXPECT_EQ(shown(), lines{"[12:34] ! 434 dave no such nick"});
}

// "Only send IDS/TELL/HISTORY when the server's greeting advertises them;
// an old server without adverts must still work exactly as today, and
// /tell against it gives a clear local error."
TEST_F(Recall, AServerWithoutAdvertsGetsNoneOfThem)
{
  EXPECT_TRUE(register_with("220 natter/1 ready").empty());
  conv_.user_line("/tell bob hi");
  effects e = conv_.take();
  EXPECT_TRUE(e.send.empty());
  ASSERT_EQ(e.show.size(), 1u);
  EXPECT_EQ(e.show[0].text, "[12:34] ! not sent: this server does not offer private messages (no "
                            "tell=1 in its greeting)");
  conv_.user_line("/history");
  e = conv_.take();
  EXPECT_TRUE(e.send.empty());
  EXPECT_EQ(e.show.at(0).text,
            "[12:34] ! not sent: this server keeps no history (no history= in its greeting)");
  // Own messages are shown as they are sent, as always.
  conv_.user_line("hello");
  e = conv_.take();
  EXPECT_EQ(e.send, lines{"MSG hello"});
  EXPECT_EQ(e.show.at(0).text, "[12:34] <alice> hello");
}

// "On connecting, show the last screenful of history (dimmed, marked as
// earlier [...])"; live messages that come meanwhile follow it.
TEST_F(Recall, FirstConnectionShowsAScreenfulMarkedAsEarlier)
{
  EXPECT_EQ(register_with(), (lines{"IDS", "HISTORY 5"}));
  // Message 3 was said after alice registered, before her IDS: live.
  conv_.server_line("MSG bob live one");
  conv_.server_line("213 ep1 2 3 ids on");
  conv_.server_line(item(1, "bob", "first"));
  conv_.server_line(item(2, "carol", "second"));
  EXPECT_EQ(shown(), (lines{"[12:34] * -- earlier messages --", shown_item(1, "bob", "first"),
                            shown_item(2, "carol", "second")}));
  conv_.server_line(end_of_history);
  EXPECT_EQ(shown(), (lines{"[12:34] * -- now --", "[12:34] <bob> live one"}));
  EXPECT_EQ(conv_.last_id(), 3u);
  conv_.server_line("MSG bob live two");
  EXPECT_EQ(shown(), lines{"[12:34] <bob> live two"});
  EXPECT_EQ(conv_.last_id(), 4u);
}

TEST_F(Recall, AnEmptyRoomShowsNoSeparators)
{
  register_with();
  conv_.server_line("213 ep1 0 0 ids on");
  conv_.server_line(end_of_history);
  EXPECT_TRUE(shown().empty());
}

// "after IDS the server echoes the client's own MSGs back, so the client
// must stop showing its own messages locally at send time once IDS is on,
// or it will show them twice"; they are numbered with the rest.
TEST_F(Recall, OwnMessagesAreShownOnceWhenTheServerSendsThemBack)
{
  conv_.connected();
  conv_.server_line(natter::test::greeting());
  conv_.user_line("said early"); // held until registered
  sent();
  conv_.server_line("200 alice nick accepted");
  // IDS goes before the held line, so no MSG of ours precedes the 213.
  EXPECT_EQ(sent(), (lines{"IDS", "HISTORY 5", "MSG said early"}));
  conv_.server_line("213 ep1 7 7 ids on");
  conv_.server_line(end_of_history);
  EXPECT_TRUE(shown().empty()) << "not shown at send time";
  conv_.server_line("MSG alice said early");
  EXPECT_EQ(shown(), lines{"[12:34] <alice> said early"});
  EXPECT_EQ(conv_.last_id(), 8u);
  conv_.user_line("again");
  effects e = conv_.take();
  EXPECT_EQ(e.send, lines{"MSG again"});
  EXPECT_TRUE(e.show.empty());
  conv_.server_line("MSG bob in between");
  conv_.server_line("MSG alice again");
  EXPECT_EQ(shown(), (lines{"[12:34] <bob> in between", "[12:34] <alice> again"}));
  EXPECT_EQ(conv_.last_id(), 10u);
}

// A server that advertises history and then refuses IDS does not send our
// messages back: they are shown after all, late but once.
TEST_F(Recall, OwnMessagesAreShownWhenIdsIsRefused)
{
  register_with();
  conv_.user_line("mine");
  EXPECT_TRUE(shown().empty());
  conv_.server_line("421 IDS unknown command");
  EXPECT_EQ(shown(), (lines{"[12:34] <alice> mine", "[12:34] ! 421 IDS unknown command"}));
  conv_.user_line("shown at once");
  EXPECT_EQ(shown(), lines{"[12:34] <alice> shown at once"});
}

// "after a reconnection, show exactly the missed messages [...] then a line
// saying how many were missed".
TEST_F(Recall, ReconnectionShowsExactlyWhatWasMissed)
{
  first_connection(2);
  conv_.server_line("MSG bob three"); // 3
  shown();
  conv_.disconnected();
  EXPECT_EQ(register_with(), (lines{"IDS", "HISTORY AFTER 3"}));
  // 4 and 5 were said while away; 6 after the new 200.
  conv_.server_line("MSG carol six");
  conv_.server_line("213 ep1 5 6 ids on");
  conv_.server_line(item(4, "bob", "four"));
  conv_.server_line(item(5, "carol", "five"));
  conv_.server_line(end_of_history);
  EXPECT_EQ(shown(), (lines{"[12:34] * -- missed while you were away --",
                            shown_item(4, "bob", "four"), shown_item(5, "carol", "five"),
                            "[12:34] * -- now: missed 2 messages, 2 shown above --",
                            "[12:34] <carol> six"}));
  EXPECT_EQ(conv_.last_id(), 6u);
}

TEST_F(Recall, ReconnectionWithNothingMissedSaysSo)
{
  first_connection(4);
  conv_.disconnected();
  EXPECT_EQ(register_with(), (lines{"IDS", "HISTORY AFTER 4"}));
  conv_.server_line("213 ep1 4 4 ids on");
  conv_.server_line(end_of_history);
  EXPECT_EQ(shown(), lines{"[12:34] * no messages missed while you were away"});
}

// "or that some were lost (the gap, with its exact size when known)":
// the reply's first id is above the last seen + 1.
TEST_F(Recall, AGapBeforeTheFirstIdIsCountedExactly)
{
  first_connection(4);
  conv_.disconnected();
  register_with();
  conv_.server_line("213 ep1 9 9 ids on");
  conv_.server_line(item(8, "bob", "eight"));
  conv_.server_line(item(9, "bob", "nine"));
  conv_.server_line(end_of_history);
  EXPECT_EQ(shown(),
            (lines{"[12:34] * -- missed while you were away --",
                   "[12:34] ! 3 messages lost here: the server no longer keeps them",
                   shown_item(8, "bob", "eight"), shown_item(9, "bob", "nine"),
                   "[12:34] ! -- now: missed 5 messages, 2 shown above, 3 lost (the server keeps "
                   "only the last 100) --"}));
  EXPECT_EQ(conv_.last_id(), 9u);
}

// "When [...] the reply is empty and <joined> is above <last>, the messages
// in between are no longer kept" (spec 7.12).
TEST_F(Recall, AnEmptyReplyBelowJoinedIsAllGap)
{
  first_connection(4);
  conv_.disconnected();
  core::config keeps_none;
  keeps_none.history = 0;
  register_with(natter::test::greeting(keeps_none));
  conv_.server_line("213 ep1 7 7 ids on");
  conv_.server_line(end_of_history);
  EXPECT_EQ(shown(), lines{"[12:34] ! -- now: missed 3 messages, 3 lost (the server keeps only "
                           "the last 0) --"});
  EXPECT_EQ(conv_.last_id(), 7u);
}

// "compares epochs (a different epoch means the ids no longer apply: fetch
// plain HISTORY and say so)".
TEST_F(Recall, ANewEpochFetchesEverythingKept)
{
  first_connection(4);
  conv_.disconnected();
  EXPECT_EQ(register_with(), (lines{"IDS", "HISTORY AFTER 4"}));
  conv_.server_line("213 ep2 3 3 ids on");
  const effects e = conv_.take();
  EXPECT_EQ(e.send, lines{"HISTORY"});
  ASSERT_EQ(e.show.size(), 1u);
  EXPECT_EQ(e.show[0].text, "[12:34] * the server has restarted: what was said between your "
                            "leaving and its restart is unknown");
  // The answer to HISTORY AFTER 4 counts in the new epoch: not shown.
  conv_.server_line(end_of_history);
  EXPECT_TRUE(shown().empty());
  conv_.server_line(item(2, "bob", "two"));
  conv_.server_line(item(3, "bob", "three"));
  conv_.server_line(end_of_history);
  EXPECT_EQ(shown(), (lines{"[12:34] * -- said since the server restarted --",
                            "[12:34] ! 1 message lost here: the server no longer keeps it",
                            shown_item(2, "bob", "two"), shown_item(3, "bob", "three"),
                            "[12:34] ! -- now: since the restart missed 3 messages, 2 shown "
                            "above, 1 lost (the server keeps only the last 100) --"}));
  EXPECT_EQ(conv_.epoch(), "ep2");
  EXPECT_EQ(conv_.last_id(), 3u);
}

// Live messages held back while catching up are not shown when the
// connection drops before the history came: the next connection fetches
// them, so none is shown twice and none is missing.
TEST_F(Recall, ALostConnectionWhileCatchingUpLosesNothing)
{
  first_connection(2);
  conv_.disconnected();
  register_with();
  conv_.server_line("MSG bob four");
  conv_.server_line("213 ep1 3 4 ids on");
  conv_.server_line(item(3, "bob", "three"));
  EXPECT_EQ(shown(),
            (lines{"[12:34] * -- missed while you were away --", shown_item(3, "bob", "three")}));
  conv_.disconnected();
  EXPECT_EQ(conv_.last_id(), 3u);
  EXPECT_EQ(register_with(), (lines{"IDS", "HISTORY AFTER 3"}));
  conv_.server_line("213 ep1 4 4 ids on");
  conv_.server_line(item(4, "bob", "four"));
  conv_.server_line(end_of_history);
  const lines after = shown();
  EXPECT_EQ(std::count(after.begin(), after.end(), shown_item(4, "bob", "four")), 1);
  EXPECT_EQ(after.back(), "[12:34] * -- now: missed 1 message, 1 shown above --");
}

// "bound what a multi-line reply may hold [...] a 212 multi-line reply must
// be bounded the same way"; a line that is not a history item, or is out of
// order, or is newer than the 213 said (N-HIST-5), is not shown.
TEST_F(Recall, AHistoryReplyIsBoundedAndChecked)
{
  register_with();
  conv_.server_line("213 ep1 9 9 ids on");
  conv_.server_line(item(1, "bob", "one"));
  conv_.server_line("212-2 yesterday bob forged time");
  conv_.server_line(item(1, "bob", "again one"));   // not newer
  conv_.server_line(item(10, "bob", "from later")); // above joined
  conv_.server_line("212-3 2026-12-01T18:03:00.123Z 9nick bad nick");
  for (unsigned id = 4; id <= 9; ++id)
    conv_.server_line(item(id, "bob", "n" + std::to_string(id)));
  conv_.server_line(end_of_history);
  const lines got = shown();
  // HISTORY 5 asked for 5: the separator, 5 messages, the closing line.
  ASSERT_EQ(got.size(), 7u);
  EXPECT_EQ(got[1], shown_item(1, "bob", "one"));
  EXPECT_EQ(got[5], shown_item(7, "bob", "n7"));
  EXPECT_EQ(got[6], "[12:34] * -- now (and 6 lines not shown) --");
}

// "a 212/213 that the client never asked for must be ignored".
TEST_F(Recall, UnaskedHistoryAndIdsRepliesChangeNothing)
{
  EXPECT_TRUE(register_with("220 natter/1 line=1024 tell=1 ready").empty());
  conv_.server_line("213 ep9 50 50 ids on");
  EXPECT_EQ(shown(),
            lines{"[12:34] * ignored a reply to nothing natter sent: 213 ep9 50 50 ids on"});
  EXPECT_EQ(conv_.epoch(), "");
  conv_.server_line(item(1, "bob", "forged"));
  conv_.server_line(end_of_history);
  EXPECT_EQ(shown(), lines{"[12:34] * ignored a reply to nothing natter sent: 212 end of history"});
  // IDS is still off: our own messages are shown at once.
  conv_.user_line("mine");
  EXPECT_EQ(shown(), lines{"[12:34] <alice> mine"});
}

TEST_F(Recall, HistoryCommand)
{
  first_connection(0);
  conv_.user_line("/history 3");
  EXPECT_EQ(sent(), lines{"HISTORY 3"});
  conv_.server_line(end_of_history);
  EXPECT_EQ(shown(), lines{"[12:34] * no earlier messages are kept"});
  conv_.user_line("/history");
  EXPECT_EQ(sent(), lines{"HISTORY"});
  conv_.user_line("/history many");
  EXPECT_EQ(shown(), lines{"[12:34] ! usage: /history [N], N a number from 1 to 999999999"});
}

// Pipe mode asks for nothing: its output stays what it always was.
TEST(PipeRecall, PipeModeSendsNoIdsNorHistory)
{
  conversation conv(conversation::options{"bot", false, false, 50});
  conv.connected();
  conv.server_line(natter::test::greeting());
  EXPECT_EQ(conv.take().send, lines{"NICK bot"});
  conv.server_line("200 bot nick accepted");
  EXPECT_EQ(conv.take().send, lines{});
}

} // namespace
} // namespace natter::client
