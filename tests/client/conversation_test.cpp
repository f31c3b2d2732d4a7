#include "natter/client/conversation.hpp"

#include "support/greeting.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace natter::client
{
namespace
{

using lines = std::vector<std::string>;
using clock = std::chrono::steady_clock;

/// A conversation with a fixed clock, and helpers to read its effects.
class Conversation : public ::testing::Test
{
protected:
  explicit Conversation(bool show_own = true, std::size_t confirm_every = 0)
      : conv_(
            conversation::options{"alice", false, show_own, confirm_every},
            [] { return std::string("12:34"); }, [this] { return now_; })
  {
  }

  /// Effects since the last call.
  effects take() { return conv_.take(); }

  /// Lines sent since the last call (display is dropped).
  lines sent() { return take().send; }

  /// Display texts since the last call (sends are dropped).
  lines shown()
  {
    lines out;
    for (display_line& d : take().show)
      out.push_back(std::move(d.text));
    return out;
  }

  /// Connects, is greeted with `greeting` and registers as `nick`.
  void register_as(const std::string& nick = "alice",
                   const std::string& greeting = natter::test::greeting())
  {
    conv_.connected();
    conv_.server_line(greeting);
    conv_.server_line("200 " + nick + " nick accepted");
    take();
  }

  clock::time_point now_{};
  conversation conv_;
};

TEST_F(Conversation, RegistersOnConnect)
{
  conv_.connected();
  EXPECT_EQ(sent(), lines{"NICK alice"});
  conv_.server_line(natter::test::greeting());
  conv_.server_line("200 alice nick accepted");
  const effects e = take();
  EXPECT_TRUE(conv_.registered());
  EXPECT_TRUE(e.nick_changed);
  ASSERT_EQ(e.show.size(), 1u);
  EXPECT_EQ(e.show[0].what, display_line::kind::status);
}

// Issue 4: "On 433 at registration the client tries NAME_, NAME2, ... and
// says so."
TEST_F(Conversation, TriesOtherNicksWhenTaken)
{
  conv_.connected();
  take();
  conv_.server_line("433 alice nick already in use");
  effects e = take();
  EXPECT_EQ(e.send, lines{"NICK alice_"});
  ASSERT_EQ(e.show.size(), 1u);
  EXPECT_EQ(e.show[0].text, "[12:34] * nick alice is taken; trying alice_");
  conv_.server_line("433 alice_ nick already in use");
  EXPECT_EQ(sent(), lines{"NICK alice2"});
  conv_.server_line("433 alice2 nick already in use");
  EXPECT_EQ(sent(), lines{"NICK alice3"});
  conv_.server_line("200 alice3 nick accepted");
  take();
  EXPECT_EQ(conv_.nick(), "alice3");
  EXPECT_TRUE(conv_.registered());
}

TEST_F(Conversation, GivesUpAfterTooManyTakenNicks)
{
  conv_.connected();
  take();
  std::optional<int> code;
  for (unsigned i = 0; i < conversation::max_nick_attempts && !code; ++i)
  {
    conv_.server_line("433 " + conv_.nick() + " nick already in use");
    code = take().exit_code;
  }
  EXPECT_EQ(code, 1);
}

TEST_F(Conversation, HoldsMessagesUntilRegistered)
{
  conv_.connected();
  conv_.message("early bird");
  EXPECT_EQ(sent(), lines{"NICK alice"});
  conv_.server_line("433 alice nick already in use");
  EXPECT_EQ(sent(), lines{"NICK alice_"});
  conv_.server_line("200 alice_ nick accepted");
  EXPECT_EQ(sent(), lines{"MSG early bird"});
}

TEST_F(Conversation, IncomingMessage)
{
  register_as();
  conv_.server_line("MSG bob hi alice");
  const effects e = take();
  ASSERT_EQ(e.show.size(), 1u);
  EXPECT_EQ(e.show[0].what, display_line::kind::chat);
  EXPECT_EQ(e.show[0].text, "[12:34] <bob> hi alice");
}

// Issue 4: "your own messages shown the same way once sent".
TEST_F(Conversation, OwnMessageIsShownOnceSent)
{
  register_as();
  conv_.user_line("hello");
  const effects e = take();
  EXPECT_EQ(e.send, lines{"MSG hello"});
  ASSERT_EQ(e.show.size(), 1u);
  EXPECT_EQ(e.show[0].text, "[12:34] <alice> hello");
}

TEST_F(Conversation, Events)
{
  register_as();
  conv_.server_line("JOIN bob");
  conv_.server_line("NICK bob robert");
  conv_.server_line("QUIT robert gone fishing");
  conv_.server_line("QUIT carol");
  conv_.server_line("ECHO ping pong");
  EXPECT_EQ(shown(), (lines{"[12:34] * bob joined", "[12:34] * bob is now known as robert",
                            "[12:34] * robert left (gone fishing)", "[12:34] * carol left",
                            "[12:34] * echo: ping pong"}));
}

TEST_F(Conversation, ServerErrorsShowCodeAndText)
{
  register_as();
  conv_.server_line("421 unknown command");
  const effects e = take();
  ASSERT_EQ(e.show.size(), 1u);
  EXPECT_EQ(e.show[0].what, display_line::kind::error);
  EXPECT_EQ(e.show[0].text, "[12:34] ! 421 unknown command");
}

TEST_F(Conversation, EscapesFromTheServerAreStripped)
{
  register_as();
  conv_.server_line("MSG bob \x1b[2Jgotcha");
  const lines out = shown();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].find('\x1b'), std::string::npos);
}

TEST_F(Conversation, WhoIsCollectedIntoOneLine)
{
  register_as();
  conv_.user_line("/who");
  EXPECT_EQ(sent(), lines{"WHO"});
  conv_.server_line("211-alice");
  conv_.server_line("211-bob");
  EXPECT_TRUE(shown().empty());
  conv_.server_line("211 2 users in the room");
  EXPECT_EQ(shown(), lines{"[12:34] * 2 users in the room: alice bob"});
}

TEST_F(Conversation, RenameAfterRegistration)
{
  register_as();
  conv_.user_line("/nick bob");
  EXPECT_EQ(sent(), lines{"NICK bob"});
  conv_.server_line("433 bob nick already in use");
  effects e = take();
  EXPECT_TRUE(e.send.empty()) << "no retry after registration";
  ASSERT_EQ(e.show.size(), 1u);
  EXPECT_EQ(e.show[0].text, "[12:34] ! 433 bob nick already in use");
  conv_.user_line("/nick carol");
  take();
  conv_.server_line("200 carol nick accepted");
  e = take();
  EXPECT_TRUE(e.nick_changed);
  EXPECT_EQ(conv_.nick(), "carol");
  ASSERT_EQ(e.show.size(), 1u);
  EXPECT_EQ(e.show[0].text, "[12:34] * you are now known as carol");
}

TEST_F(Conversation, PingShowsRoundTrip)
{
  register_as();
  conv_.user_line("/ping");
  const lines out = sent();
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].starts_with("PING "));
  now_ += std::chrono::microseconds(12500);
  conv_.server_line("PONG " + out[0].substr(5));
  EXPECT_EQ(shown(), lines{"[12:34] * pong from server: 12.5 ms"});
}

TEST_F(Conversation, UnknownCommandSendsNothing)
{
  register_as();
  conv_.user_line("/frobnicate now");
  const effects e = take();
  EXPECT_TRUE(e.send.empty());
  ASSERT_EQ(e.show.size(), 1u);
  EXPECT_EQ(e.show[0].what, display_line::kind::error);
}

TEST_F(Conversation, RawAndEcho)
{
  register_as();
  conv_.user_line("/raw HELP");
  conv_.user_line("/echo hi there");
  conv_.user_line("/echo");
  EXPECT_EQ(sent(), (lines{"HELP", "ECHO hi there", "ECHO"}));
}

TEST_F(Conversation, LocalChecksBeforeSending)
{
  register_as();
  conv_.user_line(std::string(1024, 'x'));
  conv_.message("bell\x07");
  const effects e = take();
  EXPECT_TRUE(e.send.empty());
  EXPECT_EQ(e.show.size(), 2u);
  conv_.message(std::string(1024 - 6, 'x')); // "MSG " + text + CRLF == 1024
  EXPECT_EQ(sent().size(), 1u);
}

// N-CONN-11, N-CONN-13: the line limit is the `line` advert of the
// connection's greeting; a line that would not fit is refused here, with
// the limit named, rather than answered 413 by the server.
TEST_F(Conversation, UsesTheAdvertisedLineLimit)
{
  natter::core::config small;
  small.max_line = 64;
  register_as("alice", natter::test::greeting(small));
  EXPECT_EQ(conv_.line_limit(), 64u);
  conv_.message(std::string(64 - 6, 'x'));
  EXPECT_EQ(sent(), lines{"MSG " + std::string(58, 'x')});
  conv_.message(std::string(64 - 5, 'x'));
  conv_.user_line("/echo " + std::string(64 - 6, 'y'));
  conv_.user_line("/raw " + std::string(64 - 1, 'z'));
  const effects e = take();
  EXPECT_TRUE(e.send.empty());
  lines errors;
  for (const display_line& d : e.show)
    if (d.what == display_line::kind::error)
      errors.push_back(d.text);
  EXPECT_EQ(errors, (lines{"[12:34] ! not sent: 59 bytes of MSG text, and this server takes lines "
                           "of up to 64 bytes: at most 58",
                           "[12:34] ! not sent: 58 bytes of ECHO text, and this server takes "
                           "lines of up to 64 bytes: at most 57",
                           "[12:34] ! not sent: 63 bytes of line, and this server takes lines of "
                           "up to 64 bytes: at most 62"}));
}

// N-CONN-13: "MUST ignore an advert whose key it does not know, and MUST NOT
// require any advert: a client that finds no line advert [...] assumes the
// smallest line limit, 32 octets".
TEST_F(Conversation, WithoutALineAdvertTheLimitIs32)
{
  register_as("alice", "220 natter/1 ready");
  EXPECT_EQ(conv_.line_limit(), 32u);
  conv_.message(std::string(26, 'x'));
  EXPECT_EQ(sent(), lines{"MSG " + std::string(26, 'x')});
  conv_.message(std::string(27, 'x'));
  EXPECT_TRUE(sent().empty());

  conv_.disconnected();
  register_as("alice", "220 natter/1 motd=hi line=2048 nick=16 x-later=a,b:c ready");
  EXPECT_EQ(conv_.line_limit(), 2048u);
  conv_.disconnected();
  conv_.connected(); // the limit is the new connection's, not the last one's
  EXPECT_EQ(conv_.line_limit(), 32u);
}

// A line typed while offline is held, then measured against the limit of
// the connection it goes out on.
TEST_F(Conversation, HeldLinesMeetTheLimitOfTheirConnection)
{
  conv_.message(std::string(500, 'x'));
  take();
  conv_.connected();
  conv_.server_line(natter::test::greeting());
  conv_.server_line("200 alice nick accepted");
  EXPECT_EQ(sent(), (lines{"NICK alice", "MSG " + std::string(500, 'x')}));
  conv_.disconnected();
  conv_.message(std::string(40, 'y'));
  take();
  conv_.connected();
  EXPECT_EQ(sent(), lines{"NICK alice"});
  conv_.server_line("220 natter/1 line=40 ready");
  conv_.server_line("200 alice nick accepted");
  const effects e = take();
  EXPECT_TRUE(e.send.empty());
  ASSERT_EQ(e.show.size(), 2u);
  EXPECT_EQ(e.show[1].text, "[12:34] ! not sent: 40 bytes of MSG text, and this server takes "
                            "lines of up to 40 bytes: at most 34");
}

TEST_F(Conversation, HelpShowsTheServersLimits)
{
  conv_.user_line("/help");
  lines help = shown();
  EXPECT_EQ(help.back(), "[12:34] * server limits: known once connected");
  register_as();
  conv_.user_line("/help");
  help = shown();
  EXPECT_EQ(help.back(), "[12:34] * server natter/1: lines of up to 1024 bytes (1018 of message "
                         "text), nicks of up to 16 characters, 20 lines a second after a burst "
                         "of 100, up to 1048576 bytes of output held for you, registration "
                         "within 60 s, no idle timeout, keeps the last 100 messages (/history), "
                         "private messages (/tell)");
  conv_.disconnected();
  register_as("alice", "220 natter/1 rate=0 reg=0 idle=2.5 later=1 ready");
  conv_.user_line("/help");
  EXPECT_EQ(shown().back(), "[12:34] * server natter/1: lines of up to 32 bytes (26 of message "
                            "text), assumed: the server advertises no limit, no flood control, "
                            "no registration timeout, idle timeout 2.5 s");
}

// Issue 4: "At end of input the client waits until the server has processed
// everything it sent (a PING barrier), sends QUIT, and exits 0."
TEST_F(Conversation, EndOfInputIsABarrierThenQuit)
{
  register_as();
  conv_.message("one");
  conv_.message("two");
  conv_.input_ended();
  EXPECT_EQ(sent(), (lines{"MSG one", "MSG two", "PING " + std::string(eof_barrier_token)}));
  conv_.server_line("PONG " + std::string(eof_barrier_token));
  const effects e = take();
  EXPECT_EQ(e.send, lines{"QUIT"});
  EXPECT_TRUE(e.quit_sent);
  conv_.server_line("221 goodbye");
  conv_.disconnected();
  EXPECT_EQ(take().exit_code, 0);
}

TEST_F(Conversation, EndOfInputBeforeRegistration)
{
  conv_.connected();
  conv_.message("hi");
  conv_.input_ended();
  EXPECT_EQ(sent(), lines{"NICK alice"});
  conv_.server_line("200 alice nick accepted");
  EXPECT_EQ(sent(), (lines{"MSG hi", "PING " + std::string(eof_barrier_token)}));
}

TEST_F(Conversation, BarrierIsRepeatedAfterReconnect)
{
  register_as();
  conv_.input_ended();
  take();
  conv_.disconnected();
  EXPECT_FALSE(take().exit_code);
  conv_.connected();
  EXPECT_EQ(sent(), lines{"NICK alice"});
  conv_.server_line("200 alice nick accepted");
  EXPECT_EQ(sent(), lines{"PING " + std::string(eof_barrier_token)});
}

TEST_F(Conversation, QuitWithReason)
{
  register_as();
  conv_.user_line("/quit bye all");
  const effects e = take();
  EXPECT_EQ(e.send, lines{"QUIT bye all"});
  EXPECT_TRUE(e.quit_sent);
  EXPECT_TRUE(conv_.quitting());
}

TEST_F(Conversation, QuitWhileOfflineExitsAtOnce)
{
  register_as();
  conv_.disconnected();
  take();
  conv_.quit({});
  const effects e = take();
  EXPECT_TRUE(e.send.empty());
  EXPECT_EQ(e.exit_code, 0);
}

// Issue 4: "reconnects [...] re-registering its nick".
TEST_F(Conversation, ReRegistersTheCurrentNickAfterReconnect)
{
  register_as();
  conv_.user_line("/nick bob");
  conv_.server_line("200 bob nick accepted");
  take();
  conv_.disconnected();
  conv_.user_line("while away");
  const effects e = take();
  EXPECT_TRUE(e.send.empty());
  ASSERT_EQ(e.show.size(), 1u);
  EXPECT_EQ(e.show[0].what, display_line::kind::status);
  conv_.connected();
  EXPECT_EQ(sent(), lines{"NICK bob"});
  conv_.server_line("200 bob nick accepted");
  EXPECT_EQ(sent(), lines{"MSG while away"});
}

// Spec 8.3: "A client MUST ignore an event whose name it does not know
// [N-EVENT-3]."
TEST_F(Conversation, UnknownEventsAreIgnored)
{
  register_as();
  conv_.server_line("TOPIC the new topic");
  conv_.server_line("AWAY bob");
  conv_.server_line("X-FUTURE");
  const effects e = take();
  EXPECT_TRUE(e.show.empty()) << e.show.front().text;
  EXPECT_TRUE(e.send.empty());
  // A known event without its arguments is still a broken line.
  conv_.server_line("JOIN");
  const lines out = shown();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NE(out[0].find("unexpected line"), std::string::npos);
}

// Spec 8.1: "A client MUST handle a reply code it does not know by its first
// digit [N-REPLY-9]."
TEST_F(Conversation, UnknownCodesByTheirClass)
{
  register_as();
  conv_.user_line("/raw FUTURE one");
  conv_.user_line("/raw FUTURE two");
  conv_.user_line("/raw FUTURE three");
  take();
  conv_.server_line("250 future success code");
  conv_.server_line("450 future client error");
  conv_.server_line("550 future closing reason");
  const effects e = take();
  ASSERT_EQ(e.show.size(), 3u);
  EXPECT_EQ(e.show[0].what, display_line::kind::event);
  EXPECT_EQ(e.show[0].text, "[12:34] * 250 future success code");
  EXPECT_EQ(e.show[1].what, display_line::kind::error);
  EXPECT_EQ(e.show[2].what, display_line::kind::error);
  EXPECT_FALSE(e.exit_code);
}

TEST_F(Conversation, UnparseableServerLineIsShownSafely)
{
  register_as();
  conv_.server_line("garbage \x1b[31m here");
  const effects e = take();
  ASSERT_EQ(e.show.size(), 1u);
  EXPECT_EQ(e.show[0].what, display_line::kind::error);
  EXPECT_EQ(e.show[0].text.find('\x1b'), std::string::npos);
}

// Issue 19, 7: "Act on a reply only when it answers a command the client
// sent."
TEST_F(Conversation, UnaskedNickAcceptedChangesNothing)
{
  register_as();
  conv_.server_line("200 admin nick accepted");
  const effects e = take();
  EXPECT_FALSE(e.nick_changed);
  EXPECT_EQ(conv_.nick(), "alice");
  ASSERT_EQ(e.show.size(), 1u);
  EXPECT_EQ(e.show[0].what, display_line::kind::status);
  EXPECT_EQ(e.show[0].text,
            "[12:34] * ignored a reply to nothing natter sent: 200 admin nick accepted");
  conv_.user_line("hi");
  EXPECT_EQ(shown(), lines{"[12:34] <alice> hi"});
}

TEST_F(Conversation, UnaskedGoodbyeDoesNotEndTheSession)
{
  register_as();
  conv_.server_line("221 goodbye");
  take();
  EXPECT_FALSE(conv_.quitting());
  conv_.disconnected();
  EXPECT_FALSE(take().exit_code) << "a lost connection, not a quit";
}

TEST_F(Conversation, UnaskedRefusalDoesNotRetryTheNick)
{
  register_as();
  conv_.server_line("433 alice nick already in use");
  const effects e = take();
  EXPECT_TRUE(e.send.empty());
  EXPECT_FALSE(e.exit_code);
  EXPECT_EQ(conv_.nick(), "alice");
}

TEST_F(Conversation, UnaskedWhoIsIgnored)
{
  register_as();
  conv_.server_line("211-mallory");
  conv_.server_line("211-eve");
  EXPECT_TRUE(take().show.empty());
  conv_.user_line("/who");
  take();
  conv_.server_line("211-alice");
  conv_.server_line("211 1 users in the room");
  EXPECT_EQ(shown(), lines{"[12:34] * 1 users in the room: alice"});
}

// Issue 19, 2: "bound what a multi-line reply may hold".
TEST_F(Conversation, WhoReplyIsBounded)
{
  register_as();
  conv_.user_line("/who");
  take();
  for (std::size_t i = 0; i < conversation::max_who_nicks + 5; ++i)
    conv_.server_line("211-n" + std::to_string(i));
  conv_.server_line("211-" + std::string(60000, 'w')); // no nick: not kept
  EXPECT_TRUE(take().show.empty());
  conv_.server_line("211 10006 users in the room");
  const lines out = shown();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].starts_with("[12:34] * 10006 users in the room: n0 n1 n2 ")) << out[0];
  EXPECT_TRUE(out[0].ends_with(" n9999 (and 6 more lines not shown)"));
  EXPECT_LT(out[0].size(), 100000u);
}

// Spec 4.3: the server sends "what answers [lines] (replies, and the `ECHO`
// and `PONG` events) in the same order [N-FRAME-14]", and 7.3: "On success
// the server MUST send nothing to the sender [N-MSG-4]". So an answer
// passes over the MSGs before its command: they went through.
TEST_F(Conversation, AnswersPassOverMessages)
{
  register_as();
  conv_.user_line("one");
  conv_.user_line("two");
  conv_.user_line("/nick bob");
  conv_.user_line("three");
  take();
  conv_.server_line("415 invalid text"); // answers "one"
  conv_.server_line("200 bob nick accepted");
  EXPECT_EQ(conv_.nick(), "bob");
  conv_.server_line("200 carol nick accepted"); // "three" asked for no nick
  EXPECT_EQ(conv_.nick(), "bob");
  conv_.user_line("/ping");
  const lines ping = sent();
  ASSERT_EQ(ping.size(), 1u);
  conv_.server_line("PONG " + ping[0].substr(5));
  EXPECT_EQ(shown().back(), "[12:34] * pong from server: 0.0 ms");
}

// Issue 19, 7: "While not registered, typed lines that are not sent must be
// reported as not sent."
TEST_F(Conversation, TypedLinesNotSentAreReported)
{
  conv_.connected();
  take();
  conv_.user_line("are you there?");
  effects e = take();
  EXPECT_TRUE(e.send.empty());
  ASSERT_EQ(e.show.size(), 1u);
  EXPECT_EQ(e.show[0].text,
            "[12:34] * not sent yet, held until the server accepts the nick: are you there?");
  conv_.quit({});
  e = take();
  EXPECT_EQ(e.send, lines{"QUIT"});
  ASSERT_EQ(e.show.size(), 1u);
  EXPECT_EQ(e.show[0].what, display_line::kind::error);
  EXPECT_EQ(e.show[0].text, "[12:34] ! not sent: 1 line held while not registered");
}

class PipeConversation : public Conversation
{
protected:
  PipeConversation() : Conversation(false, 3) {}
};

TEST_F(PipeConversation, OwnMessagesAreNotShown)
{
  register_as();
  conv_.message("quiet");
  const effects e = take();
  EXPECT_EQ(e.send, lines{"MSG quiet"});
  EXPECT_TRUE(e.show.empty());
}

// Pipe mode confirms what it sent with a PING every so many messages: input
// is paced by the answers, and natter knows when the server stops giving
// them (issue 19, 4).
TEST_F(PipeConversation, ConfirmsMessagesWithPings)
{
  register_as();
  EXPECT_FALSE(conv_.waiting());
  conv_.message("one");
  conv_.message("two");
  EXPECT_EQ(sent(), (lines{"MSG one", "MSG two"}));
  EXPECT_FALSE(conv_.waiting()) << "a MSG that succeeds is not answered";
  conv_.message("three");
  const std::string ping = "PING " + std::string(confirm_token) + "1";
  EXPECT_EQ(sent(), (lines{"MSG three", ping}));
  EXPECT_EQ(conv_.pings_awaited(), 1u);
  EXPECT_TRUE(conv_.waiting());
  const std::uint64_t before = conv_.answers();
  conv_.server_line("211-noise"); // answers nothing: no progress
  EXPECT_EQ(conv_.answers(), before);
  conv_.server_line("PONG " + ping.substr(5));
  const effects e = take();
  EXPECT_TRUE(e.show.empty()) << "nothing to show";
  EXPECT_EQ(conv_.pings_awaited(), 0u);
  EXPECT_FALSE(conv_.waiting());
  EXPECT_EQ(conv_.answers(), before + 1);
}

TEST_F(PipeConversation, WaitsForRegistration)
{
  conv_.connected();
  EXPECT_TRUE(conv_.waiting());
  conv_.message("held");
  EXPECT_EQ(conv_.held_lines(), 1u);
  conv_.server_line("200 alice nick accepted");
  EXPECT_FALSE(conv_.waiting());
  EXPECT_EQ(conv_.held_lines(), 0u);
}

} // namespace
} // namespace natter::client
