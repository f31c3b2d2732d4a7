// natterd's log (README "natterd's log"): on the systemd journal, which
// natterd knows by $JOURNAL_STREAM naming the device and inode of its
// stderr, each line starts with its syslog priority and carries neither a
// time nor natterd's name; anywhere else, "natterd: <level>: <text>".
#include "natter/server/log.hpp"
#include "natterd_process.hpp"

#include "support/test_pki.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <new>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace natter::test
{
namespace
{

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

std::vector<std::string> lines_of(const std::string& text)
{
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    out.push_back(l);
  return out;
}

// Waits, boundedly, until the log holds `text` (a log line has no reply to
// wait for).
bool logged(const natterd_process& d, const std::string& text)
{
  for (const auto until = steady::now() + 10s; steady::now() < until;
       std::this_thread::sleep_for(20ms))
    if (d.log().find(text) != std::string::npos)
      return true;
  return false;
}

// A client that resets its connection on close (SO_LINGER 0).
void reset(client& c)
{
  const linger l{1, 0};
  ::setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

// What nothing caught ends natterd with one line that says why, written
// without allocating; a failed allocation is "out of memory" (fatal by
// design: the service manager restarts natterd). Here in a child process
// (a death test), the exception thrown on a thread of its own, as on an I/O
// thread.
TEST(FatalLog, AnUncaughtFailedAllocationSaysOutOfMemoryAndAborts)
{
  testing::FLAGS_gtest_death_test_style = "threadsafe";
  ::unsetenv("JOURNAL_STREAM");
  EXPECT_EXIT(
      {
        natter::server::install_fatal_handler();
        std::thread([] { throw std::bad_alloc(); }).join();
      },
      testing::KilledBySignal(SIGABRT), "natterd: fatal: out of memory\n");
  EXPECT_EXIT(
      {
        natter::server::install_fatal_handler();
        std::thread([] { throw std::runtime_error("the room's lock is broken"); }).join();
      },
      testing::KilledBySignal(SIGABRT), "natterd: fatal: the room's lock is broken\n");
}

TEST(JournalLog, LinesCarryTheirPriorityAndNoTime)
{
  test_pki pki;
  const issued pair = pki.issue("natterd");
  natterd_process d({"--log-level", "debug", "--max-clients", "1", "--tls-port", "0", "--tls-cert",
                     pair.cert.string(), "--tls-key", pair.key.string()},
                    0, true, true);
  {
    client a = registered(d.chat_port(), "a"); // info: connected
    // natterd's own limit reached: a warning, logged before the 503 goes.
    client b("127.0.0.1", d.chat_port());
    EXPECT_EQ(b.line(), "503 server full");
    reset(a); // debug: the read fails
  }
  ASSERT_TRUE(logged(d, "disconnected")) << d.log();
  // A key that does not match: the reload fails, an error.
  pki.write_unrelated_key(pair.key);
  d.signal(SIGHUP);
  ASSERT_TRUE(logged(d, "(failure 1)")) << d.log();
  const std::string log = d.log();
  EXPECT_NE(log.find("<6>info: chat 127.0.0.1:"), std::string::npos) << log;
  EXPECT_NE(log.find("<4>warn: chat 127.0.0.1:"), std::string::npos) << log;
  EXPECT_NE(log.find(" refused: server full\n"), std::string::npos) << log;
  EXPECT_NE(log.find("<7>debug: read failed: "), std::string::npos) << log;
  EXPECT_NE(log.find("<3>error: tls: reload (SIGHUP) failed"), std::string::npos) << log;
  // Every line: the priority its level has, its level, then the text
  // (which starts with a word, not a time or a date).
  const std::regex line(R"(^<([3467])>(debug|info|warn|error): [a-zA-Z]+[ :].*$)");
  const std::map<std::string, std::string> priority{
      {"debug", "7"}, {"info", "6"}, {"warn", "4"}, {"error", "3"}};
  for (const std::string& l : lines_of(log))
  {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(l, m, line)) << l;
    EXPECT_EQ(m[1], priority.at(m[2])) << l;
  }
}

// $JOURNAL_STREAM set, but for another file (stdout's journal stream, or
// one a parent had): stderr is not the journal, and the log is as ever.
TEST(JournalLog, AStreamOfAnotherFileIsNotTheJournal)
{
  struct stat st
  {
  };
  ASSERT_EQ(::stat(NATTERD_PATH, &st), 0);
  const std::string other = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  struct restore
  {
    std::string was;
    bool had;
    ~restore() { had ? ::setenv("JOURNAL_STREAM", was.c_str(), 1) : ::unsetenv("JOURNAL_STREAM"); }
  } guard{std::getenv("JOURNAL_STREAM") ? std::getenv("JOURNAL_STREAM") : "",
          std::getenv("JOURNAL_STREAM") != nullptr};
  ::setenv("JOURNAL_STREAM", other.c_str(), 1);
  natterd_process d({"--log-level", "info"}, 0, true);
  {
    client a = registered(d.chat_port(), "a");
  }
  ASSERT_TRUE(logged(d, "disconnected")) << d.log();
  const std::regex line(R"(^natterd: (debug|info|warn|error): .*$)");
  const auto all = lines_of(d.log());
  ASSERT_FALSE(all.empty());
  for (const std::string& l : all)
    EXPECT_TRUE(std::regex_match(l, line)) << l;
  EXPECT_EQ(all.front().find("natterd: info: chat 127.0.0.1:"), 0u) << d.log();
}

} // namespace
} // namespace natter::test
