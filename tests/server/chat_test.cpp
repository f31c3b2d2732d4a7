// The chat service over real loopback sockets: every command, reply and
// event of spec/natter.md section 7, pipelining, chunking, ordering, races.
#include "natterd_process.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <thread>

using namespace std::string_literals;

namespace
{

using namespace natter::test;
using lines = std::vector<std::string>;

const std::vector<std::string> no_flood{"--rate", "0"};

TEST(Chat, TranscriptOfEveryCommand)
{
  natterd_process d(no_flood);
  client alice("127.0.0.1", d.chat_port());
  EXPECT_EQ(alice.line(), d.greeting()); // [N-CONN-1]
  alice.send("WHO\r\nMSG hi\r\nNICK\r\nNICK 9lives\r\nnick alice\r\n");
  EXPECT_EQ(alice.sync(), (lines{"401 register first with NICK", "401 register first with NICK",
                                 "400 NICK missing or bad argument", "432 invalid nick",
                                 "200 alice nick accepted"}));
  client bob = registered(d.chat_port(), "Bob");
  EXPECT_EQ(alice.sync(), lines{"JOIN Bob"}); // [N-NICK-8]
  bob.send("NICK ALICE\r\n");
  EXPECT_EQ(bob.sync(), lines{"433 ALICE nick already in use"});
  alice.send("MSG\r\nmsg   hello,  world\r\n");
  EXPECT_EQ(alice.sync(), lines{"400 MSG missing or bad argument"});
  EXPECT_EQ(bob.sync(), lines{"MSG alice hello,  world"}); // [N-MSG-3]
  alice.send("NICK alice\r\nNICK Alice\r\n");
  EXPECT_EQ(alice.sync(), (lines{"200 alice nick accepted", "200 Alice nick accepted"}));
  EXPECT_EQ(bob.sync(), lines{"NICK alice Alice"}); // [N-NICK-9], [N-NICK-11]
  alice.send("WHO\r\nECHO a  b\r\nECHO\r\nPING\r\nJOIN #x\r\n");
  EXPECT_EQ(alice.sync(), (lines{"211-Alice", "211-Bob", "211 2 users in the room", "ECHO a  b",
                                 "ECHO", "PONG", "421 JOIN unknown command"}));
  alice.send("HELP\r\n");
  const lines help = alice.sync();
  ASSERT_EQ(help.size(), 11u);
  EXPECT_EQ(help.back(), "214 end of help");
  bob.send("QUIT gone fishing\r\nMSG never\r\n");
  EXPECT_EQ(bob.line(), "221 goodbye");
  EXPECT_TRUE(bob.closed_within(std::chrono::seconds(5))); // [N-QUIT-1]
  EXPECT_EQ(alice.sync(), lines{"QUIT Bob gone fishing"});
  client carol = registered(d.chat_port(), "bob"); // the nick is free [N-QUIT-4]
  carol.send("quit\r\n");
  EXPECT_EQ(carol.line(), "221 goodbye");
  EXPECT_EQ(alice.sync(), (lines{"JOIN bob", "QUIT bob"}));
}

// N-CONN-11: "The server MUST advertise each key of this table, once, with
// the value it applies to the connection": natterd's flags, as written.
TEST(Chat, GreetingAdvertisesTheFlags)
{
  natterd_process d({"--max-line", "64", "--rate", "0.5", "--max-sendq", "70000",
                     "--registration-timeout", "1.25", "--idle-timeout", "30", "--history", "7"});
  EXPECT_EQ(d.greeting(), "220 natter/1 line=64 nick=16 rate=0.5 burst=100 sendq=70000 reg=1.25 "
                          "idle=30 history=7 tell=1 ready"); // [N-CONN-17]
  client a("127.0.0.1", d.chat_port());
  EXPECT_EQ(a.line(), d.greeting());
  // Milliseconds as written: 1.001 s is not 1000.9999 ms cut to 1000.
  natterd_process off({"--rate", "0", "--registration-timeout", "0", "--idle-timeout", "1.001"});
  client b("127.0.0.1", off.chat_port());
  EXPECT_EQ(b.line(), "220 natter/1 line=1024 nick=16 rate=0 burst=100 sendq=1048576 reg=0 "
                      "idle=1.001 history=100 tell=1 ready");
}

TEST(Chat, InvalidTextAndOverlongLines)
{
  natterd_process d({"--rate", "0", "--max-line", "64"});
  client a = registered(d.chat_port(), "a");
  a.send(std::string(100, 'x') + "\r\nECHO \xc0\xaf\r\nECHO \xed\xa0\x80\r\nECHO \x1b[2J\r\n"
                                 "ECHO \xc2\x85\r\nECHO a\0b\r\n"s);
  EXPECT_EQ(a.sync(),
            (lines{"413 line too long", "415 invalid text: not UTF-8 or a control character",
                   "415 invalid text: not UTF-8 or a control character",
                   "415 invalid text: not UTF-8 or a control character",
                   "415 invalid text: not UTF-8 or a control character",
                   "415 invalid text: not UTF-8 or a control character"}));
}

TEST(Chat, PipelinedCommandsInOnePacket)
{
  natterd_process d(no_flood);
  client b = registered(d.chat_port(), "b");
  client a("127.0.0.1", d.chat_port());
  a.send("NICK a\r\nMSG one\r\nMSG two\nECHO x\r\nPING p\r\n");
  EXPECT_EQ(a.line(), d.greeting());
  EXPECT_EQ(a.sync("p"), (lines{"200 a nick accepted", "ECHO x"}));
  EXPECT_EQ(b.sync(), (lines{"JOIN a", "MSG a one", "MSG a two"}));
}

TEST(Chat, OneByteAtATime)
{
  natterd_process d(no_flood);
  client b = registered(d.chat_port(), "b");
  client a("127.0.0.1", d.chat_port());
  const std::string script = "NICK a\r\nMSG h\xc3\xa9llo\r\n\xff\xfd\x06PING 1\r\n";
  for (char c : script)
    a.send(std::string(1, c));
  EXPECT_EQ(a.line(), d.greeting());
  EXPECT_EQ(a.line(), "200 a nick accepted");
  EXPECT_EQ(a.read_bytes(3), "\xff\xfb\x06"); // IAC WILL TIMING-MARK
  EXPECT_EQ(a.line(), "PONG 1");
  EXPECT_EQ(b.sync(), (lines{"JOIN a", "MSG a h\xc3\xa9llo"}));
}

TEST(Chat, TelnetSplitAtEveryByteIsRemoved)
{
  natterd_process d(no_flood);
  client a = registered(d.chat_port(), "a");
  const std::string line = "EC\xff\xfb\x01HO \xff\xfa\x18\x01\n\xff\xf0x\r\n";
  for (std::size_t cut = 1; cut < line.size(); ++cut)
  {
    a.send(line.substr(0, cut));
    a.send(line.substr(cut));
  }
  lines got = a.sync();
  // The first WILL ECHO is refused once with DONT ECHO; the rest is silent.
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.front(), "\xff\xfe\x01"
                         "ECHO x");
  got.erase(got.begin());
  EXPECT_EQ(got, lines(line.size() - 2, "ECHO x"));
}

TEST(Chat, TenAndAFewHundredClients)
{
  natterd_process d(no_flood);
  for (int n : {2, 10, 200})
  {
    std::vector<client> cs;
    for (int i = 0; i < n; ++i)
      cs.push_back(registered(d.chat_port(), "u" + std::to_string(n) + "_" + std::to_string(i)));
    cs[0].send("MSG from the first\r\n");
    cs[0].sync();
    for (int i = 1; i < n; ++i)
    {
      const lines got = cs[i].sync();
      ASSERT_FALSE(got.empty());
      EXPECT_EQ(got.back(), "MSG u" + std::to_string(n) + "_0 from the first");
    }
    cs[n - 1].send("WHO\r\n");
    EXPECT_EQ(cs[n - 1].sync().back(), "211 " + std::to_string(n) + " users in the room");
  }
}

TEST(Chat, ThousandMessagesArriveInOrder)
{
  natterd_process d(no_flood);
  client a = registered(d.chat_port(), "a");
  client b = registered(d.chat_port(), "b");
  client c = registered(d.chat_port(), "c");
  std::string batch;
  for (int i = 0; i < 1000; ++i)
    batch += "MSG " + std::to_string(i) + "\r\n";
  a.send(batch);
  a.sync();
  for (client* r : {&b, &c})
  {
    lines got = r->sync();
    while (!got.empty() && !got.front().starts_with("MSG a "))
      got.erase(got.begin());
    ASSERT_EQ(got.size(), 1000u);
    for (int i = 0; i < 1000; ++i)
      ASSERT_EQ(got[static_cast<std::size_t>(i)], "MSG a " + std::to_string(i));
  }
}

TEST(Chat, HundredClientsRaceForOneNick)
{
  natterd_process d(no_flood);
  std::vector<client> cs;
  for (int i = 0; i < 100; ++i)
  {
    cs.emplace_back("127.0.0.1", d.chat_port());
    EXPECT_EQ(cs.back().line(), d.greeting());
  }
  // All NICKs in flight before any reply is read.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back(
        [&cs, t]
        {
          for (std::size_t i = static_cast<std::size_t>(t); i < cs.size(); i += 4)
            cs[i].send("NICK same\r\n");
        });
  for (auto& t : threads)
    t.join();
  int won = 0;
  int lost = 0;
  for (auto& c : cs)
  {
    const std::string l = c.line();
    won += l == "200 same nick accepted";
    lost += l == "433 same nick already in use";
  }
  EXPECT_EQ(won, 1); // [N-NICK-5]
  EXPECT_EQ(lost, 99);
}

TEST(Chat, HttpRequestIsRefused)
{
  natterd_process d;
  client web("127.0.0.1", d.chat_port());
  web.send("POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\nNICK evil\r\nMSG hi\r\n");
  EXPECT_EQ(web.line(), d.greeting());
  EXPECT_EQ(web.line(), "500 this port speaks natter, a line-based chat protocol");
  EXPECT_TRUE(web.closed_within(std::chrono::seconds(5)));
  client probe = registered(d.chat_port(), "evil"); // never registered
}

TEST(Chat, TlsClientHelloIsRefused)
{
  natterd_process d;
  client tls("127.0.0.1", d.chat_port());
  tls.send(std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 11));
  EXPECT_EQ(tls.line(), d.greeting());
  EXPECT_EQ(tls.line(), "500 this port speaks natter, a line-based chat protocol");
  EXPECT_TRUE(tls.closed_within(std::chrono::seconds(5)));
}

TEST(Chat, Ipv6AndIpv4OnTheDefaultBind)
{
  natterd_process d(no_flood);
  client a = registered(d.chat_port(), "four", "127.0.0.1");
  client b = registered(d.chat_port(), "six", "::1");
  b.send("MSG over v6\r\n");
  b.sync();
  EXPECT_EQ(a.sync(), (lines{"JOIN six", "MSG six over v6"}));
}

TEST(Chat, RandomBytesFromManyClientsLeaveOthersServed)
{
  natterd_process d(no_flood);
  client watcher = registered(d.chat_port(), "watcher");
  const long rss_before = d.rss_kib();
  std::mt19937 rng(42);
  std::vector<client> noisy;
  for (int i = 0; i < 20; ++i)
    noisy.emplace_back("127.0.0.1", d.chat_port());
  for (int round = 0; round < 20; ++round)
    for (auto& c : noisy)
    {
      std::string junk(4096, '\0');
      for (char& ch : junk)
        ch = static_cast<char>(rng());
      c.try_send(junk);
    }
  // One 16 MiB line with no LF from one more client: discarded, not held.
  client big("127.0.0.1", d.chat_port());
  const std::string chunk(1 << 16, 'y');
  for (int i = 0; i < 256; ++i)
    big.send(chunk);
  big.send("\r\nPING done\r\n");
  EXPECT_EQ(big.line(), d.greeting());
  EXPECT_EQ(big.line(), "413 line too long");
  EXPECT_EQ(big.line(), "PONG done");
  watcher.send("WHO\r\n");
  EXPECT_EQ(watcher.sync().back(), "211 1 users in the room");
  NATTER_EXPECT_RSS_GROWTH_BELOW(d, rss_before, 32 * 1024);
}

} // namespace
