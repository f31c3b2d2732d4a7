// natterd --metrics (spec 13.2): every scrape is parsed by Prometheus's
// own parser (tests/server/parse_metrics.py, on Debian's
// python3-prometheus-client, run by /usr/bin/python3), and the values it
// reads are held to what the test's clients did. Clients are synchronised
// with PING/PONG before each scrape, so every count is settled.
#include "natterd_process.hpp"
#include "tls_client.hpp"

#include "support/test_pki.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace natter::test
{
namespace
{

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using samples = std::map<std::string, double>;

/// An HTTP answer: the status line, the header lines, the body.
struct http_answer
{
  std::string status;
  std::vector<std::string> headers;
  std::string body;
};

/// Sends `request` to the metrics port and reads the answer until natterd
/// closes the connection.
http_answer http(unsigned short port, const std::string& request)
{
  client c("127.0.0.1", port);
  c.send(request);
  http_answer a;
  a.status = c.line();
  for (std::string h = c.line(); !h.empty() && h != "<closed>" && h != "<timeout>"; h = c.line())
    a.headers.push_back(h);
  a.body = c.read_bytes(std::size_t{1} << 24);
  return a;
}

http_answer get(unsigned short port, const std::string& path = "/metrics")
{
  return http(port, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n");
}

/// GET /metrics, held to the format's HTTP side, and parsed.
samples scrape(const natterd_process& d)
{
  const http_answer a = get(d.metrics_port());
  EXPECT_EQ(a.status, "HTTP/1.1 200 OK");
  EXPECT_NE(
      std::find(a.headers.begin(), a.headers.end(), "Content-Type: text/plain; version=0.0.4"),
      a.headers.end());
  return parsed_metrics(a.body);
}

/// The sample `key` (a failure when it is missing).
double at(const samples& s, const std::string& key)
{
  const auto it = s.find(key);
  EXPECT_NE(it, s.end()) << key << " is not in the exposition";
  return it == s.end() ? -1 : it->second;
}

/// The sample `key`, scraped until it is `want` (for up to 2 s). Octets
/// are counted, and queued output released, once the socket took them: a
/// client can read them, and scrape, before the thread that wrote them has
/// added them up.
double eventually(const natterd_process& d, const std::string& key, double want,
                  std::chrono::milliseconds limit = 2s)
{
  double got = -1;
  for (const auto until = steady::now() + limit; steady::now() < until;
       std::this_thread::sleep_for(10ms))
    if ((got = at(scrape(d), key)) == want)
      break;
  return got;
}

double by_service(const samples& s, const std::string& name, const std::string& svc)
{
  return at(s, name + "{service=\"" + svc + "\"}");
}

double by_code(const samples& s, int code)
{
  return at(s, "natter_error_replies_total{code=\"" + std::to_string(code) + "\"}");
}

// N clients over two worker threads register and send M messages in all;
// every count is exact once each has had its PONG [N-METRICS-2, N-METRICS-3,
// N-METRICS-4].
TEST(Metrics, CountsWhatClientsDid)
{
  natterd_process d({"--metrics", "0", "--rate", "0", "--threads", "2"});
  constexpr int n = 5;
  constexpr int per_client = 7;
  std::vector<client> cs;
  double to_server = 0;   // octets the clients sent
  double from_server = 0; // octets they received
  double lines_to_clients = 0;
  for (int i = 0; i < n; ++i)
  {
    const std::string nick = "u" + std::to_string(i);
    cs.push_back(registered(d.chat_port(), nick));
    to_server += static_cast<double>(("NICK " + nick + "\r\n").size());
    from_server += static_cast<double>(d.greeting().size() + 2 +
                                       ("200 " + nick + " nick accepted\r\n").size());
    lines_to_clients += 2;
  }
  const auto take = [&](client& c)
  {
    to_server += 11; // PING sync
    const std::vector<std::string> got = c.sync();
    for (const std::string& l : got)
      from_server += static_cast<double>(l.size() + 2);
    from_server += 11; // PONG sync
    lines_to_clients += static_cast<double>(got.size() + 1);
  };
  // Each sends its messages, then its PONG says they reached the room and
  // every event is queued; last, everyone reads all it was sent.
  for (int i = 0; i < n; ++i)
  {
    std::string batch;
    for (int k = 0; k < per_client; ++k)
      batch += "MSG hello " + std::to_string(k) + "\r\n";
    cs[i].send(batch);
    to_server += static_cast<double>(batch.size());
    take(cs[i]);
  }
  for (client& c : cs)
    take(c);

  // The clients have read everything; the threads that wrote it may still
  // be adding up the octets and releasing the queues they held.
  const double sent = eventually(d, "natter_sent_bytes_total{service=\"chat\"}", from_server);
  eventually(d, "natter_send_queue_bytes", 0);
  eventually(d, "natter_client_send_queue_bytes_bucket{le=\"0\"}", n);
  const samples s = scrape(d);
  constexpr int m = n * per_client;
  EXPECT_EQ(at(s, "natter_clients_registered"), n);
  EXPECT_EQ(at(s, "natter_room_messages_total"), m);
  EXPECT_EQ(at(s, "natter_history_messages"), m);
  // NICK, the messages and two PINGs each.
  EXPECT_EQ(at(s, "natter_lines_received_total"), n + m + 2 * n);
  // Greeting, 200, the JOINs of those after it, the others' messages, PONGs.
  EXPECT_EQ(at(s, "natter_lines_sent_total"), lines_to_clients);
  EXPECT_EQ(lines_to_clients, 2 * n + n * (n - 1) / 2 + m * (n - 1) + 2 * n);
  EXPECT_EQ(by_service(s, "natter_connections", "chat"), n);
  EXPECT_EQ(by_service(s, "natter_connections_accepted_total", "chat"), n);
  EXPECT_EQ(by_service(s, "natter_connections", "echo"), 0);
  EXPECT_EQ(by_service(s, "natter_received_bytes_total", "chat"), to_server);
  EXPECT_EQ(sent, from_server);
  EXPECT_EQ(by_service(s, "natter_sent_bytes_total", "chat"), from_server);
  // Everything was read: no connection has output pending.
  EXPECT_EQ(at(s, "natter_send_queue_bytes"), 0);
  EXPECT_EQ(at(s, "natter_client_send_queue_bytes_count"), n);
  EXPECT_EQ(at(s, "natter_client_send_queue_bytes_bucket{le=\"0\"}"), n);
  EXPECT_EQ(at(s, "natter_client_send_queue_bytes_bucket{le=\"+Inf\"}"), n);
  EXPECT_EQ(at(s, "natter_send_queue_drops_total"), 0);
  EXPECT_EQ(by_code(s, 503), 0);
  // Only a node of a cluster has the cluster's metrics (N-METRICS-7).
  EXPECT_EQ(s.count("natter_cluster_connected"), 0u);

  // Errors are counted by code, and a client that leaves is no longer open.
  cs[0].send("FROB\r\nMSG\r\nNICK 9bad\r\nNICK u1\r\nTELL nobody hi\r\n");
  EXPECT_EQ(cs[0].sync(),
            (std::vector<std::string>{"421 FROB unknown command", "400 MSG missing or bad argument",
                                      "432 invalid nick", "433 u1 nick already in use",
                                      "434 nobody no such nick"}));
  cs[1].send("QUIT\r\n");
  EXPECT_EQ(cs[1].line(), "221 goodbye");
  EXPECT_TRUE(cs[1].closed_within(5s));
  client fresh("127.0.0.1", d.chat_port());
  EXPECT_EQ(fresh.line(), d.greeting());
  fresh.send("MSG too soon\r\n");
  EXPECT_EQ(fresh.sync(), std::vector<std::string>{"401 register first with NICK"});
  cs[2].sync();
  const samples after = scrape(d);
  for (const int code : {421, 400, 432, 433, 434, 401})
    EXPECT_EQ(by_code(after, code), 1) << code;
  EXPECT_EQ(by_code(after, 524), 0);
  EXPECT_EQ(at(after, "natter_clients_registered"), n - 1);
  // n - 1 and the fresh one, once natterd closed u1's connection (after
  // its linger, which the client's close ends).
  cs[1].shutdown_send();
  EXPECT_EQ(eventually(d, "natter_connections{service=\"chat\"}", n), n);
  EXPECT_EQ(by_service(after, "natter_connections_accepted_total", "chat"), n + 1);
}

// --max-clients reached: the 503 is counted under its code; echo and flood
// control are counted too [N-METRICS-3].
TEST(Metrics, RefusalsEchoAndFloodControlAreCounted)
{
  natterd_process d({"--metrics", "0", "--max-clients", "1", "--rate", "50"});
  client first = registered(d.chat_port(), "first");
  client second("127.0.0.1", d.chat_port());
  EXPECT_EQ(second.line(), "503 server full");
  EXPECT_TRUE(second.closed_within(5s));
  // 120 lines at once: the burst of 100 goes at once, then reading pauses.
  std::string pings;
  for (int i = 0; i < 120; ++i)
    pings += "PING " + std::to_string(i) + "\r\n";
  first.send(pings);
  for (int i = 0; i < 120; ++i)
    ASSERT_EQ(first.line(), "PONG " + std::to_string(i));
  client echo("127.0.0.1", d.echo_port());
  echo.send("ping me back");
  EXPECT_EQ(echo.read_bytes(12), "ping me back");

  const samples s = scrape(d);
  EXPECT_EQ(by_code(s, 503), 1);
  EXPECT_EQ(by_service(s, "natter_connections_accepted_total", "chat"), 2);
  EXPECT_EQ(by_service(s, "natter_connections", "chat"), 1);
  EXPECT_GE(at(s, "natter_flood_pauses_total"), 1);
  EXPECT_EQ(by_service(s, "natter_connections", "echo"), 1);
  EXPECT_EQ(by_service(s, "natter_connections_accepted_total", "echo"), 1);
  EXPECT_EQ(by_service(s, "natter_received_bytes_total", "echo"), 12);
  EXPECT_EQ(eventually(d, "natter_sent_bytes_total{service=\"echo\"}", 12), 12);
  EXPECT_EQ(at(s, "natter_clients_registered"), 1);
}

// A slow consumer dropped with 524 is counted as a drop and under 524; the
// histogram sees its queue grow first [N-METRICS-3].
TEST(Metrics, SlowConsumerDropIsCounted)
{
  natterd_process d({"--metrics", "0", "--rate", "0", "--max-sendq", "200000"});
  client slow("127.0.0.1", d.chat_port(), 4096);
  slow.send("NICK slow\r\n");
  client fast = registered(d.chat_port(), "fast");
  client talker = registered(d.chat_port(), "talker");
  const std::string text(900, 'm');
  bool quit_seen = false;
  double most_pending = 0;
  for (int round = 0; round < 100 && !quit_seen; ++round)
  {
    std::string batch;
    for (int i = 0; i < 100; ++i)
      batch += "MSG " + text + "\r\n";
    talker.send(batch);
    talker.sync();
    for (const auto& l : fast.sync())
      quit_seen = quit_seen || l == "QUIT slow send queue exceeded";
    if (!quit_seen)
      most_pending = std::max(most_pending, at(scrape(d), "natter_client_send_queue_bytes_sum"));
  }
  ASSERT_TRUE(quit_seen);
  const samples s = scrape(d);
  EXPECT_EQ(at(s, "natter_send_queue_drops_total"), 1);
  EXPECT_EQ(by_code(s, 524), 1);
  EXPECT_EQ(at(s, "natter_clients_registered"), 2);
  EXPECT_GT(most_pending, 16 * 1024) << "the slow one's queue showed before the drop";
}

class MetricsTls : public ::testing::Test
{
protected:
  test_pki pki;
  issued pair = pki.issue("natterd");
  // notAfter of `pair`: issued now, from an hour ago, for a day.
  const long expires = static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count()) +
                       86400 - 3600;
};

// The TLS port's connections, a failed handshake, the certificate's
// expiry and its reloads by result [N-METRICS-3].
TEST_F(MetricsTls, HandshakesCertificateAndReloads)
{
  natterd_process d({"--metrics", "0", "--tls-port", "0", "--tls-cert", pair.cert.string(),
                     "--tls-key", pair.key.string()});
  tls_client::settings trust;
  trust.ca = pki.ca_cert().string();
  tls_client alice(d.tls_port(), trust);
  ASSERT_TRUE(alice.established()) << alice.error();
  EXPECT_EQ(alice.line(), d.greeting());
  alice.send("NICK alice\r\n");
  EXPECT_EQ(alice.line(), "200 alice nick accepted");
  // Plain text on the TLS port: an alert and the close.
  client plain("127.0.0.1", d.tls_port());
  plain.send("NICK mallory\r\n");
  EXPECT_TRUE(plain.closed_within(5s));
  EXPECT_EQ(alice.sync(), std::vector<std::string>{});

  samples s = scrape(d);
  EXPECT_EQ(at(s, "natter_tls_handshake_failures_total"), 1);
  EXPECT_EQ(by_service(s, "natter_connections", "tls"), 1);
  EXPECT_EQ(by_service(s, "natter_connections_accepted_total", "tls"), 2);
  EXPECT_GT(by_service(s, "natter_received_bytes_total", "tls"), 0);
  EXPECT_GT(by_service(s, "natter_sent_bytes_total", "tls"), 0);
  EXPECT_EQ(at(s, "natter_clients_registered"), 1);
  EXPECT_NEAR(at(s, "natter_tls_certificate_expiry_timestamp_seconds"), expires, 120);
  EXPECT_EQ(at(s, "natter_tls_certificate_reloads_total{result=\"ok\"}"), 0);
  EXPECT_EQ(at(s, "natter_tls_certificate_reloads_total{result=\"failed\"}"), 0);

  // A renewal valid for a week: served after SIGHUP, and its expiry shows.
  test_pki::leaf week;
  week.valid_for = std::chrono::hours(24 * 7);
  pki.issue("natterd", week);
  d.signal(SIGHUP);
  EXPECT_EQ(eventually(d, "natter_tls_certificate_reloads_total{result=\"ok\"}", 1, 10s), 1);
  s = scrape(d);
  EXPECT_NEAR(at(s, "natter_tls_certificate_expiry_timestamp_seconds"), expires - 86400 + 7 * 86400,
              120);
  // A key that does not match: the failure is counted, the pair kept.
  pki.write_unrelated_key(pair.key);
  d.signal(SIGHUP);
  EXPECT_EQ(eventually(d, "natter_tls_certificate_reloads_total{result=\"failed\"}", 1, 10s), 1);
  EXPECT_EQ(at(scrape(d), "natter_tls_certificate_reloads_total{result=\"ok\"}"), 1);
  EXPECT_EQ(alice.sync(), std::vector<std::string>{});
}

// Only GET (or HEAD) /metrics is served; other paths 404, other methods
// 405, a request that is not HTTP 400, a head over 8 KiB 431; the port is
// not a chat port [N-METRICS-2, N-METRICS-5, N-METRICS-6].
TEST(Metrics, ThePortSpeaksOnlyHttp)
{
  natterd_process d({"--metrics", "0"});
  EXPECT_NE(d.metrics_port(), d.chat_port());
  EXPECT_EQ(d.metrics_address(), "127.0.0.1:" + std::to_string(d.metrics_port()));
  EXPECT_EQ(get(d.metrics_port(), "/other").status, "HTTP/1.1 404 Not Found");
  EXPECT_EQ(get(d.metrics_port(), "/").status, "HTTP/1.1 404 Not Found");
  EXPECT_EQ(get(d.metrics_port(), "/metrics/x").status, "HTTP/1.1 404 Not Found");
  const http_answer post =
      http(d.metrics_port(), "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(post.status, "HTTP/1.1 405 Method Not Allowed");
  EXPECT_NE(std::find(post.headers.begin(), post.headers.end(), "Allow: GET, HEAD"),
            post.headers.end());
  const http_answer head = http(d.metrics_port(), "HEAD /metrics HTTP/1.0\r\n\r\n");
  EXPECT_EQ(head.status, "HTTP/1.1 200 OK");
  EXPECT_EQ(head.body, "");
  const http_answer query = get(d.metrics_port(), "/metrics?name[]=natter_connections");
  EXPECT_EQ(query.status, "HTTP/1.1 200 OK");
  EXPECT_FALSE(parsed_metrics(query.body).empty());
  // A chat client on the metrics port gets HTTP, not a greeting.
  {
    client chat("127.0.0.1", d.metrics_port());
    chat.send("NICK bob\r\n");
    EXPECT_EQ(chat.line(), "HTTP/1.1 400 Bad Request");
  }
  EXPECT_EQ(http(d.metrics_port(), "GET /metrics\r\n\r\n").status, "HTTP/1.1 400 Bad Request");
  const std::string big =
      "GET /metrics HTTP/1.1\r\nX-Padding: " + std::string(9000, 'p') + "\r\n\r\n";
  EXPECT_EQ(http(d.metrics_port(), big).status, "HTTP/1.1 431 Request Header Fields Too Large");
  // And a chat client on the chat port still gets its greeting.
  client real("127.0.0.1", d.chat_port());
  EXPECT_EQ(real.line(), d.greeting());
}

// At most 4 scrapers at once: a fifth is told 503; one that sends nothing
// is closed after 5 s, and its place is free again [N-METRICS-6].
TEST(Metrics, ScrapersAreBoundedAndTimedOut)
{
  natterd_process d({"--metrics", "0"});
  std::vector<client> idle;
  for (int i = 0; i < 4; ++i)
    idle.emplace_back("127.0.0.1", d.metrics_port());
  EXPECT_EQ(get(d.metrics_port()).status, "HTTP/1.1 503 Service Unavailable");
  // One leaves (natterd sees its end and closes it): a scrape fits again.
  idle.back().shutdown_send();
  EXPECT_TRUE(idle.back().closed_within(5s));
  EXPECT_EQ(get(d.metrics_port()).status, "HTTP/1.1 200 OK");
  // One that sends nothing is closed at its read timeout.
  const auto start = steady::now();
  EXPECT_TRUE(idle.front().closed_within(10s));
  EXPECT_GE(steady::now() - start, 3s);
}

// Where it listens: a bare port or :PORT is loopback, an address is used as
// given; off by default; never a chat port [N-METRICS-1].
TEST(Metrics, AddressesAndRefusals)
{
  {
    natterd_process d;
    EXPECT_EQ(d.metrics_port(), 0);
  }
  {
    natterd_process d({"--metrics", ":0"});
    EXPECT_EQ(d.metrics_address(), "127.0.0.1:" + std::to_string(d.metrics_port()));
  }
  {
    natterd_process d({"--metrics", "[::1]:0"});
    EXPECT_EQ(d.metrics_address(), "[::1]:" + std::to_string(d.metrics_port()));
    client c("::1", d.metrics_port());
    c.send("GET /metrics HTTP/1.0\r\n\r\n");
    EXPECT_EQ(c.line(), "HTTP/1.1 200 OK");
  }
  run_result r = run_natterd("--chat-port 7777 --echo-port off --metrics 127.0.0.2:7777");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("--metrics"), std::string::npos) << r.output;
  for (const char* bad : {"localhost:9100", "::1:9100", "1.2.3.4:", "99999", "[::1]"})
  {
    r = run_natterd(std::string("--chat-port 0 --echo-port off --metrics ") + bad);
    EXPECT_EQ(r.status, 2) << bad << ": " << r.output;
    EXPECT_NE(r.output.find("--metrics"), std::string::npos) << r.output;
  }
}

} // namespace
} // namespace natter::test
