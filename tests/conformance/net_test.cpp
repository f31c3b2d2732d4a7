// The runner's sockets (conformance/runner/net.hpp) against a loopback peer
// the test controls: writing without reading ends in a stall when the peer
// reads nothing, at the limit when it reads everything, and in a failure
// when it resets the connection.
#include "net.hpp"

#include "support/loopback_listener.hpp"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

namespace
{

using natter::conform::clock;
using natter::conform::tcp_socket;
using end = tcp_socket::stall_result::end;
using namespace std::chrono_literals;

using listener = natter::test::loopback_listener;

/// A client socket connected to `l`, and the server's end of it.
struct connection
{
  explicit connection(const listener& l)
  {
    EXPECT_EQ(client.connect("127.0.0.1", l.port(), clock::now() + 5s), "");
    server = l.accept();
  }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection() { ::close(server); }

  tcp_socket client;
  int server = -1;
};

TEST(ConformNet, WritesStallWhenThePeerReadsNothing)
{
  listener l;
  connection c(l);
  const auto r =
      c.client.write_until_stalled("\r\n", std::size_t{256} << 20, 200ms, clock::now() + 20s);
  EXPECT_EQ(r.how, end::stalled);
  EXPECT_GT(r.written, 0U);
  EXPECT_LT(r.written, std::size_t{256} << 20);
}

TEST(ConformNet, WritesReachTheLimitWhenThePeerReadsAndRepeatTheUnit)
{
  listener l;
  connection c(l);
  constexpr std::size_t limit = 3 * 65536 + 7; // several chunks, and not whole ones
  std::string got;
  std::thread reader(
      [&]
      {
        char buf[65536];
        for (ssize_t n = 1; n > 0 && got.size() < limit;)
        {
          n = ::recv(c.server, buf, sizeof buf, 0);
          if (n > 0)
            got.append(buf, static_cast<std::size_t>(n));
        }
      });
  const auto r = c.client.write_until_stalled("abc", limit, 2s, clock::now() + 20s);
  reader.join();
  EXPECT_EQ(r.how, end::limit);
  EXPECT_EQ(r.written, limit);
  ASSERT_EQ(got.size(), limit);
  for (std::size_t k = 0; k < got.size(); ++k)
    ASSERT_EQ(got[k], "abc"[k % 3]) << "octet " << k;
}

TEST(ConformNet, WritesEndInAFailureWhenThePeerResets)
{
  listener l;
  connection c(l);
  const linger reset{1, 0};
  ::setsockopt(c.server, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  ::close(c.server);
  c.server = -1;
  const auto r = c.client.write_until_stalled("x", std::size_t{256} << 20, 2s, clock::now() + 20s);
  EXPECT_EQ(r.how, end::failed);
}

} // namespace
