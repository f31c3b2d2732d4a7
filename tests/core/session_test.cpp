// Session and room logic driven in memory, with no sockets: each client is
// a core::connection (natterd's own state machine) whose socket takes
// everything it is given, and time is passed in.
#include "natter/core/connection.hpp"

#include "natter/core/room.hpp"
#include "support/core_client.hpp"

#include "support/greeting.hpp"
#include "support/netkit_captures.hpp"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

namespace
{

using namespace natter::core;
using namespace std::chrono_literals;

using natter::test::fast;
using natter::test::join;
using natter::test::lines;
using natter::test::t0;
using client = natter::test::core_client;

// Flood control at 10 lines a second with a bucket of `burst`, and an idle
// timeout.
config paced(double burst, std::chrono::milliseconds idle)
{
  config c;
  c.rate = 10;
  c.burst = burst;
  c.idle_timeout = idle;
  return c;
}

// A soft mark of 1000 octets, which a few dozen ECHO replies pass.
config soft_marked()
{
  config c = fast();
  c.soft_sendq = 1000;
  return c;
}

/// `count` ECHO commands, sent at once.
std::string echoes(int count)
{
  std::string many;
  for (int i = 0; i < count; ++i)
    many += "ECHO 0123456789\n";
  return many;
}

TEST(Session, GreetsAndRegisters)
{
  room r(fast());
  client a(r);
  EXPECT_EQ(a.read(), lines{natter::test::greeting(r.settings())});
  a.send("NICK alice\r\n");
  EXPECT_EQ(a.read(), lines{"200 alice nick accepted"});
  EXPECT_EQ(r.size(), 1u);
}

// N-CONN-11: "The server MUST advertise each key of this table, once, with
// the value it applies to the connection".
TEST(Session, GreetsWithTheAdvertsOfItsRoom)
{
  config c = paced(50, 3s);
  c.max_line = 64;
  c.registration_timeout = 2500ms;
  room r(c);
  client a(r);
  EXPECT_EQ(a.read(), lines{"220 natter/1 line=64 nick=16 rate=10 burst=50 sendq=1048576 reg=2.5 "
                            "idle=3 history=100 tell=1 ready"});
  a.send("ECHO " + std::string(57, 'x') + "\r\n"); // 64 octets: at the limit
  a.send("ECHO " + std::string(58, 'x') + "\r\n");
  EXPECT_EQ(a.read(), (lines{"ECHO " + std::string(57, 'x'), "413 line too long"}));
}

TEST(Session, JoinMsgRenameQuitReachTheOthers)
{
  room r(fast());
  client a(r), b(r);
  a.send("NICK alice\n");
  b.send("NICK bob\n");
  a.read();
  b.read();
  a.send("MSG hello there\n");
  EXPECT_EQ(a.read(), lines{});
  EXPECT_EQ(b.read(), lines{"MSG alice hello there"});
  a.send("NICK Alice\n");
  EXPECT_EQ(a.read(), lines{"200 Alice nick accepted"});
  EXPECT_EQ(b.read(), lines{"NICK alice Alice"});
  a.send("NICK Alice\n");
  EXPECT_EQ(a.read(), lines{"200 Alice nick accepted"});
  EXPECT_EQ(b.read(), lines{});
  a.send("QUIT bye all\nMSG not processed\n");
  EXPECT_EQ(a.read(), lines{"221 goodbye"});
  EXPECT_TRUE(a.s.output().finished());
  EXPECT_EQ(b.read(), lines{"QUIT Alice bye all"});
  EXPECT_EQ(r.size(), 1u);
}

TEST(Session, JoinSeenByEarlierMembersOnly)
{
  room r(fast());
  client a(r), b(r);
  a.send("NICK alice\n");
  a.read();
  b.read();
  b.send("NICK bob\n");
  EXPECT_EQ(a.read(), lines{"JOIN bob"});
  EXPECT_EQ(b.read(), lines{"200 bob nick accepted"});
}

TEST(Session, NickErrors)
{
  room r(fast());
  client a(r), b(r);
  a.send("NICK alice\n");
  b.read();
  b.send("NICK ALICE\nNICK\nNICK 1abc\n");
  EXPECT_EQ(b.read(), (lines{"433 ALICE nick already in use", "400 NICK missing or bad argument",
                             "432 invalid nick"}));
}

// A rename frees the old nick and takes the new one, both ignoring case;
// a change of case only is a rename too, and keeps the nick taken.
TEST(Session, RenameMovesTheNickIgnoringCase)
{
  room r(fast());
  client a(r), b(r), c(r);
  a.send("NICK alice\n");
  b.send("NICK bob\n");
  a.read();
  b.read();
  c.read();
  a.send("NICK Alice\n");
  EXPECT_EQ(a.read(), lines{"200 Alice nick accepted"});
  EXPECT_EQ(b.read(), lines{"NICK alice Alice"});
  c.send("NICK ALICE\n");
  EXPECT_EQ(c.read(), lines{"433 ALICE nick already in use"});
  a.send("NICK carol\n");
  a.read();
  b.read();
  c.send("NICK ALICE\nNICK CAROL\nWHO\n");
  EXPECT_EQ(c.read(), (lines{"200 ALICE nick accepted", "433 CAROL nick already in use",
                             "211-ALICE", "211-bob", "211-carol", "211 3 users in the room"}));
}

TEST(Session, CommandsBeforeRegistration)
{
  room r(fast());
  client a(r);
  a.read();
  a.send("MSG hi\nMSG\nWHO\nECHO x y\nECHO\nPING t\nPING\nFOO bar\n");
  EXPECT_EQ(a.read(), (lines{"401 register first with NICK", "401 register first with NICK",
                             "401 register first with NICK", "ECHO x y", "ECHO", "PONG t", "PONG",
                             "421 FOO unknown command"}));
}

TEST(Session, MsgWithoutTextIs400)
{
  room r(fast());
  client a(r);
  a.send("NICK a\nMSG\nMSG    \n");
  EXPECT_EQ(a.read(),
            (lines{natter::test::greeting(r.settings()), "200 a nick accepted",
                   "400 MSG missing or bad argument", "400 MSG missing or bad argument"}));
}

TEST(Session, WhoIsSortedWithoutCase)
{
  room r(fast());
  client a(r), b(r), c(r);
  a.send("NICK bob\n");
  b.send("NICK Alice\n");
  c.send("NICK carol\n");
  c.read();
  c.send("WHO\n");
  EXPECT_EQ(c.read(), (lines{"211-Alice", "211-bob", "211-carol", "211 3 users in the room"}));
}

TEST(Session, HelpEndsWith214)
{
  room r(fast());
  client a(r);
  a.read();
  a.send("help\n");
  const lines got = a.read();
  ASSERT_EQ(got.size(), 11u);
  EXPECT_EQ(got.front(), "214-NICK <nick>");
  EXPECT_EQ(got.back(), "214 end of help");
}

TEST(Session, HttpRequestLineIsRefused)
{
  room r(fast());
  client a(r);
  a.read();
  a.send("POST /x HTTP/1.1\r\nHost: y\r\n\r\nNICK evil\n");
  EXPECT_EQ(a.read(), lines{"500 this port speaks natter, a line-based chat protocol"});
  EXPECT_TRUE(a.s.output().finished());
  EXPECT_EQ(r.size(), 0u);
}

TEST(Session, HttpDetectedAcrossReadsEvenWhenOverlong)
{
  room r(fast());
  client a(r);
  a.read();
  a.send("GE");
  a.send("T /" + std::string(5000, 'x') + " HTTP/1.1\r\n");
  EXPECT_EQ(a.read(), lines{"500 this port speaks natter, a line-based chat protocol"});
}

// Sends `chunks` as a new client's first octets and expects them refused as
// an HTTP request: `answer` (telnet answers, if any), the 500 line, the
// connection closing, and nobody registered.
void expect_refused_as_http(const std::vector<std::string>& chunks, const std::string& answer = "")
{
  room r(fast());
  client a(r);
  a.read();
  for (const std::string& chunk : chunks)
    a.send(chunk);
  EXPECT_EQ(a.read(), lines{answer + "500 this port speaks natter, a line-based chat protocol"})
      << chunks.front();
  EXPECT_TRUE(a.s.output().finished());
  EXPECT_EQ(r.size(), 0u);
}

// The check reads the line as framing sees it: telnet sequences before or
// inside the method name do not hide it, and the line is not executed.
// [N-CONN-2]
TEST(Session, TelnetDoesNotHideAnHttpRequestLine)
{
  expect_refused_as_http({"\xff\xf1GET / HTTP/1.1\r\n"});
  expect_refused_as_http({"G\xff\xff\xff\xfa\x18x\xff\xf0"
                          "ET / HTTP/1.1\r\n"});
  expect_refused_as_http({"PU\xff\xfd\x01T /x HTTP/1.1\r\nNICK evil\n"}, "\xff\xfc\x01");
}

// An invalid octet before any method could match ends the check: the rest
// of a long line is read at full speed, not an octet at a time.
TEST(Session, InvalidFirstLineIsNotHttp)
{
  room r(fast());
  client a(r);
  a.read();
  a.send("G\x80" + std::string(500, 'x') + "\nPING 1\n");
  EXPECT_EQ(a.read(), (lines{"415 invalid text: not UTF-8 or a control character", "PONG 1"}));
}

// Lines that N-CMD-1 ignores are not the first line: an HTTP client may
// send an empty line before its request (RFC 9112, section 2.2), and the
// request is refused all the same. [N-CONN-15]
TEST(Session, IgnoredLinesBeforeAnHttpRequestDoNotHideIt)
{
  expect_refused_as_http({"\r\nGET / HTTP/1.1\r\n"});
  expect_refused_as_http({"\n\r\n   \r\nPOST /x HTTP/1.1\r\n\r\nNICK evil\n"});
  expect_refused_as_http({"\r\n\xff\xf1\r\nG", "ET / HTTP/1.1\r\n"});
}

// Once a line that is not ignored has been seen, the check is over.
TEST(Session, ALineThatIsNotIgnoredEndsTheHttpCheck)
{
  room r(fast());
  client a(r);
  a.read();
  a.send("\r\nPING 1\r\nGET / HTTP/1.1\r\n");
  EXPECT_EQ(a.read(), (lines{"PONG 1", "421 GET unknown command"}));
}

TEST(Session, GetAloneIsAnUnknownCommand)
{
  room r(fast());
  client a(r);
  a.read();
  a.send("GET\n  x\n");
  EXPECT_EQ(a.read(), (lines{"421 GET unknown command", "421  unknown command"}));
}

TEST(Session, HalfCloseStillAnswersCompleteLines)
{
  room r(fast());
  client a(r), b(r);
  b.send("NICK b\n");
  b.read();
  a.send("NICK a\nPING 1\nPING 2");
  a.c.end_of_input(t0);
  EXPECT_EQ(a.read(),
            (lines{natter::test::greeting(r.settings()), "200 a nick accepted", "PONG 1"}));
  EXPECT_TRUE(a.s.output().finished());
  EXPECT_EQ(b.read(), (lines{"JOIN a", "QUIT a connection closed"}));
}

TEST(Session, TlsHelloIsRefused)
{
  room r(fast());
  client a(r);
  a.read();
  a.send(std::string_view("\x16\x03\x01\x02\x00\x01", 6));
  EXPECT_EQ(a.read(), lines{"500 this port speaks natter, a line-based chat protocol"});
}

TEST(Session, TelnetTimingMarkIsAnswered)
{
  room r(fast());
  client a(r);
  a.read();
  a.send("\xff\xf4\xff\xfd\x06PING\xff\xfd\x06 x\n");
  EXPECT_EQ(a.raw, "");
  a.read();
  EXPECT_EQ(a.raw, "");
  std::array<piece, 4> pieces;
  a.send("\xff\xfd\x06");
  ASSERT_EQ(a.c.peek(pieces, 100), 1u);
  EXPECT_EQ(std::string_view(pieces[0].data, pieces[0].size), "\xff\xfb\x06");
}

// Section 6.4: what netkit telnet sends for a line typed with characters
// that contain 0x83, 0x8F, 0x9A or 0x9C is relayed as typed, and every IAC
// DO TIMING-MARK in it answered, in stream order [N-TELNET-18] [N-TELNET-8].
TEST(Session, NetkitTelnetLineIsRelayedIntact)
{
  for (const natter::test::netkit_capture& capture : natter::test::netkit_captures)
  {
    room r(fast());
    client a(r), b(r);
    a.send("NICK alice\n");
    b.send("NICK bob\n");
    a.read();
    b.read();
    const std::string octets = natter::test::read_capture(capture);
    ASSERT_FALSE(octets.empty()) << capture.file;
    a.send(octets + "PING after\r\n");
    std::string answers;
    for (int i = 0; i < capture.timing_marks; ++i)
      answers += "\xFF\xFB\x06";
    EXPECT_EQ(a.read(), lines{answers + "PONG after"}) << capture.file;
    const std::string typed = capture.typed;
    EXPECT_EQ(b.read(), lines{"MSG alice " + typed.substr(4)}) << capture.file;
  }
}

// An IP inside a character that makes it invalid is refused with the line,
// and does not discard it: E0 83 is an overlong form [N-TELNET-18] [N-ENC-1].
TEST(Session, IpInsideCharacterCanMakeTheLineInvalid)
{
  room r(fast());
  client a(r);
  a.read();
  a.send("ECHO \xE0\xFF\xF4\xFF\xFD\x06PING x\r\nECHO \xC3\xA9\xFF\xF4PING y\r\n");
  EXPECT_EQ(a.read(), (lines{"\xFF\xFB\x06"
                             "415 invalid text: not UTF-8 or a control character",
                             "PONG y"}));
}

TEST(Session, RegistrationTimeoutIsAbsolute)
{
  config c = fast();
  c.registration_timeout = 10s;
  room r(c);
  client a(r);
  a.read();
  a.send("PING x\n", t0 + 9s);
  a.tick(t0 + 9s);
  EXPECT_EQ(a.read(), lines{"PONG x"});
  EXPECT_EQ(a.s.deadline(), t0 + 10s);
  a.tick(t0 + 10s);
  EXPECT_EQ(a.read(), lines{"522 registration timeout"});
  EXPECT_EQ(a.s.next_wait(), session::wait::closed);
}

TEST(Session, IdleTimeoutTellsTheOthers)
{
  config c = fast();
  c.idle_timeout = 5s;
  room r(c);
  client a(r), b(r);
  a.send("NICK a\n");
  b.send("NICK b\n", t0 + 4s);
  a.read();
  b.read();
  a.tick(t0 + 5s);
  b.tick(t0 + 5s);
  EXPECT_EQ(a.read(), lines{"523 idle timeout"});
  EXPECT_EQ(b.read(), lines{"QUIT a idle timeout"});
}

TEST(Session, ConnectionClosedTellsTheOthers)
{
  room r(fast());
  client a(r), b(r);
  a.send("NICK a\n");
  b.send("NICK b\n");
  b.read();
  a.c.failed();
  EXPECT_EQ(b.read(), lines{"QUIT a connection closed"});
  EXPECT_EQ(r.size(), 1u);
}

// Input held back by flood control is not idleness: the idle time runs
// again only once the session has caught up. [N-CONN-10]
TEST(Session, IdleTimeWaitsForHeldInput)
{
  room r(paced(5, 1s));
  client a(r);
  a.read();
  std::string many = "NICK a\n";
  for (int i = 0; i < 24; ++i)
    many += "PING " + std::to_string(i) + "\n";
  a.send(many);                   // 25 lines: 5 now, then 10 a second, at most 5 at a time
  EXPECT_EQ(a.read().size(), 5u); // 200 and PONG 0..3
  EXPECT_EQ(a.s.deadline(), time_point::max()); // registered, and its input is held
  for (int step = 1; step <= 3; ++step)
  {
    const time_point now = t0 + step * 500ms;
    a.tick(now); // past the idle time of the last octet from 1 s on
    a.tick(now);
    const lines got = a.read();
    ASSERT_EQ(got.size(), 5u);
    EXPECT_EQ(got.back(), "PONG " + std::to_string(3 + 5 * step));
  }
  a.tick(t0 + 2s); // the rest: caught up at 2 s
  EXPECT_EQ(a.read().back(), "PONG 23");
  EXPECT_EQ(a.s.deadline(), t0 + 3s);
  a.tick(t0 + 2900ms);
  EXPECT_EQ(a.read(), lines{});
  a.tick(t0 + 3s);
  EXPECT_EQ(a.read(), lines{"523 idle timeout"});
}

TEST(Session, FloodControlPausesWithoutDropping)
{
  config c;
  c.rate = 10;
  c.burst = 5;
  room r(c);
  client a(r);
  a.read();
  std::string many;
  for (int i = 0; i < 8; ++i)
    many += "PING " + std::to_string(i) + "\n";
  a.send(many);
  EXPECT_EQ(a.read().size(), 5u);
  EXPECT_EQ(a.s.next_wait(), session::wait::rate);
  EXPECT_EQ(a.s.resume_at(), t0 + 100ms);
  a.tick(t0 + 100ms);
  EXPECT_EQ(a.read(), lines{"PONG 5"});
  a.tick(t0 + 300ms);
  EXPECT_EQ(a.read(), (lines{"PONG 6", "PONG 7"}));
  EXPECT_EQ(a.s.next_wait(), session::wait::input);
}

// N-FLOOD-1: empty and refused lines cost a token like any other line.
TEST(Session, EmptyAndRefusedLinesCostTokens)
{
  config c;
  c.rate = 10;
  c.burst = 5;
  room r(c);
  client a(r);
  a.read();
  a.send("\n\n   \n\x01\nPING 1\nPING 2\n");
  // Four lines spent four tokens (the refused one got its 415); PING 1 took
  // the fifth, PING 2 waits.
  EXPECT_EQ(a.read(), (lines{"415 invalid text: not UTF-8 or a control character", "PONG 1"}));
  EXPECT_EQ(a.s.next_wait(), session::wait::rate);
  a.tick(t0 + 100ms);
  EXPECT_EQ(a.read(), lines{"PONG 2"});
}

TEST(Session, BytesWithoutNewlineCostTokens)
{
  config c;
  c.rate = 10;
  c.burst = 5;
  c.max_line = 100;
  room r(c);
  client a(r);
  a.send(std::string(1000, 'x'));
  EXPECT_EQ(a.s.next_wait(), session::wait::rate);
  EXPECT_GT(a.s.pending(), 400u);
}

TEST(Session, NonReaderStopsBeingRead)
{
  room r(soft_marked());
  client a(r);
  a.send(echoes(1000));
  EXPECT_EQ(a.s.next_wait(), session::wait::output);
  EXPECT_LT(a.s.output().bytes(), 1100u);
  // As the client reads, the rest is processed, a soft mark at a time.
  const lines got = a.read();
  ASSERT_EQ(got.size(), 1001u); // the greeting and every ECHO
  EXPECT_EQ(got.back(), "ECHO 0123456789");
  EXPECT_EQ(a.s.next_wait(), session::wait::input);
}

// Not reading, the connection waits for a wake-up: natterd keeps it alive
// until one comes, whether or not a write of its own is pending (a cluster
// node wakes writers only once a whole read of the log is delivered).
TEST(Connection, NotReadingItIsHeldUntilAWakeUp)
{
  room r(soft_marked());
  client a(r);
  a.send(echoes(1000));
  connection::next n = a.c.step(t0);
  EXPECT_FALSE(n.read);
  EXPECT_TRUE(n.hold);
  a.read();
  n = a.c.step(t0);
  EXPECT_TRUE(n.read);
  EXPECT_FALSE(n.hold);
  // Closing, it waits for its flush deadline: the timer keeps it, so a
  // server stopping at its own deadline frees it with the timer's wait.
  a.send("QUIT\r\n");
  n = a.c.step(t0);
  EXPECT_FALSE(n.read);
  EXPECT_FALSE(n.hold);
  EXPECT_EQ(n.wake_at, t0 + connection::flush_deadline);
}

TEST(Session, SlowConsumerIsDroppedOthersKeepEverything)
{
  config c = fast();
  c.max_sendq = 10000;
  room r(c);
  client slow(r), fast_one(r), talker(r);
  slow.send("NICK slow\n");
  fast_one.send("NICK fast\n");
  talker.send("NICK talker\n");
  fast_one.read();
  std::size_t got = 0;
  for (int i = 0; i < 500; ++i)
  {
    talker.send("MSG message number " + std::to_string(i) + "\n");
    for (const auto& l : fast_one.read())
      if (l.starts_with("MSG"))
        ++got;
  }
  EXPECT_EQ(got, 500u);
  EXPECT_TRUE(slow.s.output().closing());
  EXPECT_EQ(r.size(), 2u);
  const lines tail = slow.read();
  EXPECT_EQ(tail.back(), "524 send queue exceeded");
  talker.send("WHO\n");
  EXPECT_EQ(talker.read().back(), "211 2 users in the room");
}

// N-SLOW-4: an unregistered client that never reads is a candidate too, and
// the clients that keep up are not dropped for bytes they cannot free; the
// ballast, already closing, is not chosen again (N-SLOW-9).
TEST(Session, TotalSendqDropsTheUnregisteredBallastNotTheReaders)
{
  config c = fast();
  c.max_total_sendq = 20000;
  room r(c);
  client ballast(r);
  const std::string echo = "ECHO " + std::string(900, 'b') + "\n";
  for (int i = 0; i < 40 && !ballast.s.output().closing(); ++i)
    ballast.send(echo);
  EXPECT_TRUE(ballast.s.output().closing());
  client alice(r), bob(r);
  alice.send("NICK alice\n");
  bob.send("NICK bob\n");
  EXPECT_EQ(alice.read(),
            (lines{natter::test::greeting(r.settings()), "200 alice nick accepted", "JOIN bob"}));
  EXPECT_FALSE(alice.s.output().closing());
  EXPECT_FALSE(bob.s.output().closing());
  EXPECT_EQ(ballast.read().back(), "524 send queue exceeded");
}

TEST(Session, TotalSendqDropsTheLargestQueue)
{
  config c = fast();
  c.max_total_sendq = 5000;
  room r(c);
  client a(r), b(r), talker(r);
  a.send("NICK a\n");
  b.send("NICK b\n");
  talker.send("NICK t\n");
  b.read();
  talker.read();
  lines seen;
  for (int i = 0; i < 200 && !a.s.output().closing(); ++i)
  {
    talker.send("MSG 0123456789012345678901234567890123456789\n");
    for (auto& l : b.read())
      seen.push_back(l);
  }
  EXPECT_TRUE(a.s.output().closing());
  EXPECT_FALSE(b.s.output().closing());
  EXPECT_EQ(seen.back(), "QUIT a send queue exceeded");
}

TEST(Session, NickRaceHasOneWinner)
{
  room r(fast());
  std::vector<std::unique_ptr<client>> cs;
  for (int i = 0; i < 10; ++i)
    cs.push_back(std::make_unique<client>(r));
  int won = 0;
  for (auto& c : cs)
  {
    c->read();
    c->send("NICK same\n");
    if (c->read().front().starts_with("200"))
      ++won;
  }
  EXPECT_EQ(won, 1);
}

// A room whose log has small chunks, so that a few lines cross them.
config small_chunks()
{
  config c = fast();
  c.log_chunk = 256;
  return c;
}

/// A writer whose socket takes nothing: it looks, and writes 0.
void write_nothing(client& c)
{
  std::array<piece, 8> pieces;
  if (c.c.peek(pieces, 1 << 20) > 0)
    c.c.wrote(0, t0);
}

const std::string text100(100, 't');

// The room's log keeps a chunk only while a reader still needs it: a member
// that only talks (and so is sent nothing) steps over its own events.
// [N-SLOW-7]
TEST(Session, AMemberWhoOnlyTalksHoldsOnlyTheTail)
{
  room r(small_chunks());
  client a(r), b(r);
  join(a, "alice");
  join(b, "bob");
  a.read();
  for (int i = 0; i < 200; ++i)
  {
    b.send("MSG " + text100 + "\n");
    EXPECT_EQ(a.read().size(), 1u);
  }
  EXPECT_EQ(r.log().chunks(), 1u);
}

// A dropped slow consumer gives back all it held but its final line.
// [N-SLOW-6], [N-SLOW-7]
TEST(Session, ADroppedNonReaderHoldsNoChunk)
{
  config c = small_chunks();
  c.max_sendq = 4096;
  room r(c);
  client a(r), b(r), z(r);
  join(a, "alice");
  join(b, "bob");
  join(z, "zed");
  a.read();
  bool dropped = false;
  for (int i = 0; i < 400; ++i)
  {
    b.send("MSG " + text100 + "\n");
    write_nothing(z);
    for (const auto& l : a.read())
      dropped = dropped || l == "QUIT zed send queue exceeded";
    b.read();
  }
  EXPECT_TRUE(dropped);
  EXPECT_TRUE(z.s.output().closing());
  EXPECT_EQ(z.s.output().bytes(), std::string("524 send queue exceeded\r\n").size());
  EXPECT_EQ(r.log().chunks(), 1u);
  EXPECT_EQ(r.total_sendq().value(), z.s.output().bytes());
}

// A member that talks while an event waits for it (its socket is full)
// would hold every chunk its own messages go into; once they fill a chunk,
// the waiting event is copied out and the chunks go. [N-SLOW-7]
TEST(Session, AMemberThatTalksWithoutReadingHoldsNoBacklog)
{
  const config c = small_chunks();
  room r(c);
  client a(r), z(r);
  join(a, "alice");
  join(z, "zed");
  a.read();
  a.send("MSG for zed, never read\n");
  for (int i = 0; i < 400; ++i)
  {
    z.send("MSG " + text100 + "\n");
    write_nothing(z);
    EXPECT_EQ(a.read().size(), 1u);
  }
  EXPECT_LE(r.log().chunks(), 3u);
  EXPECT_LT(z.s.output().own_events_held(), c.log_chunk + c.max_line);
  // What z was sent still arrives, once, when it reads again.
  EXPECT_EQ(z.read(), lines{"MSG alice for zed, never read"});
  EXPECT_EQ(r.total_sendq().value(), 0u);
}

// After a final line went out, the connection shuts down its sending side,
// drains input for a second and then closes: not a reset, which could
// destroy that line. [N-CONN-9]
TEST(Connection, AfterQuitItLingersThenCloses)
{
  room r(fast());
  client a(r);
  a.send("QUIT\n");
  EXPECT_EQ(a.read(), (lines{natter::test::greeting(r.settings()), "221 goodbye"}));
  connection::next n = a.c.step(t0);
  EXPECT_TRUE(n.shutdown_send);
  EXPECT_TRUE(n.read); // drained, not processed
  EXPECT_FALSE(n.close);
  EXPECT_EQ(n.wake_at, t0 + connection::linger_time);
  a.send("PING ignored\n");
  EXPECT_EQ(a.read(), lines{});
  a.tick(t0 + connection::linger_time);
  n = a.c.step(t0 + connection::linger_time);
  EXPECT_TRUE(n.close);
  EXPECT_FALSE(n.reset);
  EXPECT_TRUE(a.c.over());
}

// A dropped client that never reads is reset at its flush deadline: its
// 524 cannot leave, and a plain close would leave it to the kernel.
// [N-SLOW-6]
TEST(Connection, ADroppedNonReaderIsResetAtItsFlushDeadline)
{
  config c = fast();
  c.max_sendq = 2048;
  room r(c);
  client a(r), z(r);
  join(a, "alice");
  join(z, "zed");
  a.read();
  for (int i = 0; i < 40 && !z.s.output().closing(); ++i)
  {
    a.send("MSG " + text100 + "\n");
    write_nothing(z);
  }
  ASSERT_TRUE(z.s.output().closing());
  connection::next n = z.c.step(t0);
  EXPECT_FALSE(n.close);
  EXPECT_EQ(n.wake_at, t0 + connection::flush_deadline);
  z.tick(t0 + connection::flush_deadline - 1ms);
  EXPECT_FALSE(z.c.step(t0 + connection::flush_deadline - 1ms).close);
  z.tick(t0 + connection::flush_deadline);
  n = z.c.step(t0 + connection::flush_deadline);
  EXPECT_TRUE(n.close);
  EXPECT_TRUE(n.reset);
  EXPECT_EQ(z.c.reason(), close_reason::sendq_exceeded);
}

// One timer serves every deadline: the flood-control pause, then the idle
// timeout once the held input is processed.
TEST(Connection, OneTimerForEveryDeadline)
{
  room r(paced(2, 5s));
  client a(r);
  a.read();
  a.send("PING 1\nPING 2\nPING 3\n");
  EXPECT_EQ(a.read(), (lines{"PONG 1", "PONG 2"}));
  EXPECT_EQ(a.c.step(t0).wake_at, t0 + 100ms); // the pause, not the idle time
  EXPECT_FALSE(a.c.step(t0).read);
  a.tick(t0 + 100ms);
  EXPECT_EQ(a.read(t0 + 100ms), lines{"PONG 3"});
  const connection::next n = a.c.step(t0 + 100ms);
  EXPECT_TRUE(n.read);
  EXPECT_EQ(n.wake_at, t0 + 100ms + 5s);
}

// A write asks for the time only when it lets a session held at the soft
// mark read again, so natterd reads no clock on any other write.
TEST(Connection, AWriteReadsTheClockOnlyWhenTheSessionResumes)
{
  room r(soft_marked());
  client a(r);
  int reads = 0;
  const auto clock = [&reads]
  {
    ++reads;
    return t0;
  };
  std::array<piece, 8> pieces;
  const auto write_all = [&]
  {
    const std::size_t count = a.c.peek(pieces, 4096);
    std::size_t n = 0;
    for (std::size_t i = 0; i < count; ++i)
      n += pieces[i].size;
    return a.c.wrote(n, clock);
  };
  EXPECT_EQ(write_all(), 0u); // the greeting
  EXPECT_EQ(reads, 0);
  a.send(echoes(200));
  ASSERT_EQ(a.s.next_wait(), session::wait::output);
  write_all();
  EXPECT_EQ(reads, 1);
}

// After a write, step() answers what it answered before unless the session
// resumed reading or the outbox is closing; step_due() says which, so that
// natterd need not ask step() after every write.
TEST(Connection, AStepIsDueAfterAWriteOnlyWhenItCanAnswerOtherwise)
{
  config c = fast();
  c.max_sendq = 2048;
  room r(c);
  client a(r), b(r), z(r);
  EXPECT_TRUE(a.c.step_due()); // never asked
  join(a, "alice");
  join(b, "bob");
  join(z, "zed");
  b.read();
  EXPECT_TRUE(b.c.step_due()); // input since
  const connection::next before = b.c.step(t0);
  EXPECT_FALSE(b.c.step_due());
  a.send("MSG hello\n");
  EXPECT_EQ(b.read(), (lines{"MSG alice hello"}));
  EXPECT_FALSE(b.c.step_due());
  EXPECT_EQ(b.c.step(t0 + 1s), before);
  // Dropped by the room, from the sender's side: closing.
  z.c.step(t0);
  for (int i = 0; i < 40 && !z.s.output().closing(); ++i)
  {
    a.send("MSG " + text100 + "\n");
    write_nothing(z);
  }
  ASSERT_TRUE(z.s.output().closing());
  EXPECT_TRUE(z.c.step_due());
  EXPECT_EQ(z.c.step(t0).wake_at, t0 + connection::flush_deadline);
  EXPECT_TRUE(z.c.step_due()); // as long as it is closing
}

TEST(Connection, AStepIsDueWhenAWriteResumesTheSession)
{
  room r(soft_marked());
  client a(r);
  a.send(echoes(200));
  ASSERT_EQ(a.s.next_wait(), session::wait::output);
  EXPECT_FALSE(a.c.step(t0).read);
  write_nothing(a);
  EXPECT_FALSE(a.c.step_due()); // nothing taken, nothing resumed
  a.read();
  EXPECT_TRUE(a.c.step_due());
  EXPECT_TRUE(a.c.step(t0).read);
}

} // namespace
