// natter-conform: holds a natter server to spec/natter.md, case by case.
// Point it at any server that claims to speak natter (h2spec style):
//   natter-conform --host H --port P [--echo-port E|off] [CASE_FILE_OR_DIR...]
// It reads the server's limits from the adverts of its first connection's
// greeting; flags tell it what no advert says (settings.hpp).
// It prints one line per case, the transcript of each failure, a summary
// per spec section and "N passed, N failed"; --tap prints TAP instead.
#include "case_file.hpp"
#include "engine.hpp"
#include "matcher.hpp"
#include "settings.hpp"
#include "spread.hpp"

#include "natter/tls/context.hpp"

#include <CLI/CLI.hpp>
#include <openssl/ssl.h>

#include <fnmatch.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

namespace
{

/// The TLS client configurations of --tls (engine.hpp, tls_offers).
class tls_clients
{
public:
  tls_clients(const std::string& ca_file, bool insecure)
      : usual_({!insecure, ca_file}), no_alpn_({!insecure, ca_file}), tls11_({false, {}})
  {
    SSL_CTX_set_alpn_protos(no_alpn_.native(), nullptr, 0);
    // TLS 1.1 needs security level 0 and its ciphers (OpenSSL 3 refuses it
    // by default): a client that offers it and nothing later.
    SSL_CTX* old = tls11_.native();
    SSL_CTX_set_min_proto_version(old, TLS1_1_VERSION);
    SSL_CTX_set_max_proto_version(old, TLS1_1_VERSION);
    SSL_CTX_set_security_level(old, 0);
    SSL_CTX_set_cipher_list(old, "ALL:@SECLEVEL=0");
  }

  natter::conform::tls_offers offers() const
  {
    return {usual_.native(), no_alpn_.native(), tls11_.native()};
  }

private:
  natter::tls::client_context usual_;
  natter::tls::client_context no_alpn_;
  natter::tls::client_context tls11_;
};

using natter::conform::case_result;
using natter::conform::test_case;

std::string default_cases_dir(const char* argv0)
{
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec)
    exe = fs::path(argv0);
  const fs::path installed =
      exe.parent_path().parent_path() / "share" / "natter" / "conformance" / "cases";
  if (fs::is_directory(installed, ec))
    return installed.string();
  return NATTER_CONFORMANCE_CASES_DIR;
}

bool selected(const test_case& tc, const std::vector<std::string>& globs)
{
  if (globs.empty())
    return true;
  const std::string base = std::filesystem::path(tc.file).filename().string();
  for (const std::string& g : globs)
  {
    auto hit = [&](const std::string& s) { return ::fnmatch(g.c_str(), s.c_str(), 0) == 0; };
    if (hit(tc.id) || hit(tc.title) || hit(base))
      return true;
    for (const std::string& r : tc.requirements)
      if (hit(r))
        return true;
  }
  return false;
}

std::string joined_ids(const test_case& tc)
{
  std::string out;
  for (const std::string& r : tc.requirements)
    out += (out.empty() ? "[" : " [") + r + "]";
  return out;
}

std::string random_salt()
{
  std::random_device rd;
  static const char letters[] = "abcdefghijklmnopqrstuvwxyz";
  std::string s;
  for (int k = 0; k < 2; ++k)
    s += letters[rd() % 26];
  return s;
}

void print_failure_detail(const test_case& tc, const case_result& r, bool tap)
{
  const std::string pad = tap ? "  # " : "       ";
  std::printf("%sat %s:%d: %s\n", pad.c_str(), tc.file.c_str(), r.line != 0 ? r.line : tc.line,
              r.reason.c_str());
  std::size_t start = 0;
  while (start < tc.quote.size())
  {
    const std::size_t nl = tc.quote.find('\n', start);
    std::printf("%s> %s\n", pad.c_str(), tc.quote.substr(start, nl - start).c_str());
    start = nl == std::string::npos ? tc.quote.size() : nl + 1;
  }
  for (const std::string& d : r.details)
    std::printf("%s%s\n", pad.c_str(), d.c_str());
  std::printf("%stranscript:\n", pad.c_str());
  const std::size_t from = r.transcript.size() > 30 ? r.transcript.size() - 30 : 0;
  if (from != 0)
    std::printf("%s  ... (%zu earlier lines)\n", pad.c_str(), from);
  for (std::size_t k = from; k < r.transcript.size(); ++k)
    std::printf("%s  %s\n", pad.c_str(), r.transcript[k].c_str());
}

} // namespace

int main(int argc, char** argv)
{
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"natter-conform: conformance suite for natter servers (spec/natter.md)"};
  natter::conform::run_options opt;
  std::string echo_port = "7";
  std::vector<std::string> globs;
  std::vector<std::string> paths;
  bool list = false;
  bool tap = false;
  bool verbose = false;
  unsigned jobs = 16;
  long timeout_ms = 3000;
  long max_line = 0;
  long idle_timeout_s = 0;
  long max_wait_s = 5;
  long echo_idle_s = 0;
  long settle_ms = 300;
  std::vector<std::string> sources;
  std::string peer;
  bool no_skip = false;
  bool tls = false;
  std::string tls_ca;
  bool tls_insecure = false;
  app.add_option("--host", opt.host, "server host name or address")->capture_default_str();
  app.add_option("--port", opt.port, "chat port")->capture_default_str();
  app.add_option("--peer", peer,
                 "HOST:PORT of another node of the server's cluster: every multi-client case "
                 "runs with its clients spread over the two, alternating (client 1 on --host, "
                 "client 2 on the peer, ...); its greeting's adverts must be the same");
  app.add_option("--echo-port", echo_port, "echo port, or 'off' to skip the echo cases")
      ->capture_default_str();
  app.add_option("--filter", globs,
                 "run only cases whose id, title, file name or a requirement ID matches this "
                 "glob (repeatable)");
  app.add_flag("--list", list, "list the selected cases without running them");
  app.add_flag("--tap", tap, "print TAP version 13 instead of the plain report");
  app.add_option("--timeout", timeout_ms, "bound of every single wait, in milliseconds")
      ->capture_default_str()
      ->check(CLI::Range(50L, 600000L));
  app.add_option("--max-line", max_line,
                 "the server's line limit L, in octets: must agree with its line advert; "
                 "without either, 1024")
      ->check(CLI::Range(32L, 1L << 24));
  app.add_option("--idle-timeout", idle_timeout_s,
                 "the server's idle timeout in seconds: must agree with its idle advert "
                 "(0: none)")
      ->check(CLI::Range(0L, 3600L));
  app.add_option("--max-wait", max_wait_s,
                 "the longest timeout (idle, registration, echo idle) a case may wait out, in "
                 "seconds; cases that need a longer one are skipped")
      ->capture_default_str()
      ->check(CLI::Range(1L, 600L));
  app.add_option("--max-per-ip", opt.max_per_ip,
                 "the server's per-address limit P (0: none); the cases of the limit need it and "
                 "--source")
      ->check(CLI::Range(0L, 1000L));
  app.add_option("--source", sources,
                 "a local address, or a range A-B of IPv4 addresses, that the server counts "
                 "against its per-address limit (natterd over loopback: 127.0.0.2 and up, "
                 "started with --no-loopback-exempt); repeatable");
  app.add_option("--echo-idle-timeout", echo_idle_s,
                 "the echo service's idle timeout in seconds, for its case")
      ->check(CLI::Range(1L, 3600L));
  app.add_option("--settle", settle_ms,
                 "how long a case that shows something does not arrive (a 'nothing' step) "
                 "waits before its final barriers, in milliseconds; 0: not at all")
      ->capture_default_str()
      ->check(CLI::Range(0L, 5000L));
  app.add_flag("--tls", tls,
               "every chat connection speaks TLS (--port is the server's TLS port), and the "
               "cases of TLS run; the cases about the plain port are skipped");
  auto* ca = app.add_option("--tls-ca", tls_ca,
                            "with --tls: verify the server's certificate against the CA "
                            "certificates of this PEM file (default: the system's store)")
                 ->needs("--tls");
  app.add_flag("--tls-insecure", tls_insecure, "with --tls: do not verify the server's certificate")
      ->needs("--tls")
      ->excludes(ca);
  app.add_flag("--defaults", opt.defaults,
               "the server runs with natterd's defaults: run the cases that hold it to them");
  app.add_flag("--no-skip", no_skip, "a case that is skipped fails the run");
  app.add_option("--jobs", jobs, "cases run at the same time")
      ->capture_default_str()
      ->check(CLI::Range(1U, 256U));
  app.add_flag("-v,--verbose", verbose, "print the transcript of passing cases too");
  app.add_option("cases", paths,
                 "case files or directories (default: the installed or in-tree cases)");
  CLI11_PARSE(app, argc, argv);

  opt.timeout = std::chrono::milliseconds(timeout_ms);
  opt.max_wait = std::chrono::seconds(max_wait_s);
  opt.settle = std::chrono::milliseconds(settle_ms);
  opt.echo_idle_timeout = std::chrono::seconds(echo_idle_s);
  opt.salt = random_salt();
  natter::conform::told_settings told;
  if (app.count("--max-line") != 0)
    told.max_line = max_line;
  if (app.count("--idle-timeout") != 0)
    told.idle_timeout = std::chrono::seconds(idle_timeout_s);
  try
  {
    for (const std::string& s : sources)
      for (std::string& a : natter::conform::parse_sources(s))
        opt.sources.push_back(std::move(a));
  }
  catch (const natter::conform::case_error& e)
  {
    std::fprintf(stderr, "natter-conform: %s\n", e.what());
    return 2;
  }
  if (!peer.empty())
  {
    try
    {
      natter::conform::address a = natter::conform::parse_address(peer);
      opt.peer_host = std::move(a.host);
      opt.peer_port = a.port;
    }
    catch (const natter::conform::case_error& e)
    {
      std::fprintf(stderr, "natter-conform: --peer: %s\n", e.what());
      return 2;
    }
  }
  if (echo_port == "off")
    opt.echo = false;
  else
  {
    try
    {
      const unsigned long p = std::stoul(echo_port);
      if (p == 0 || p > 65535)
        throw std::out_of_range("port");
      opt.echo_port = static_cast<std::uint16_t>(p);
    }
    catch (const std::exception&)
    {
      std::fprintf(stderr, "natter-conform: --echo-port takes a port number or 'off'\n");
      return 2;
    }
  }
  if (paths.empty())
    paths.push_back(default_cases_dir(argv[0]));
  std::optional<tls_clients> clients;
  if (tls)
  {
    try
    {
      opt.tls = clients.emplace(tls_ca, tls_insecure).offers();
    }
    catch (const natter::tls::error& e)
    {
      std::fprintf(stderr, "natter-conform: --tls-ca: %s\n", e.what());
      return 2;
    }
  }

  std::vector<test_case> all;
  try
  {
    all = natter::conform::load_cases(paths);
  }
  catch (const natter::conform::case_error& e)
  {
    std::fprintf(stderr, "natter-conform: %s\n", e.what());
    return 2;
  }
  std::vector<const test_case*> cases;
  for (const test_case& tc : all)
    if (selected(tc, globs))
      cases.push_back(&tc);

  if (list)
  {
    for (const test_case* tc : cases)
      std::printf("%-8s %s %s  (%s:%d)\n", tc->id.c_str(), tc->title.c_str(),
                  joined_ids(*tc).c_str(), tc->file.c_str(), tc->line);
    std::printf("%zu cases\n", cases.size());
    return 0;
  }

  // The server's limits, from the greeting of a first connection.
  std::vector<std::string> notes;
  {
    std::string error;
    const auto greeting = natter::conform::first_line(opt, error);
    if (!greeting)
    {
      std::fprintf(stderr, "natter-conform: %s\n", error.c_str());
      return 1;
    }
    const auto errors = natter::conform::apply_greeting(*greeting, told, opt, notes);
    for (const std::string& e : errors)
      std::fprintf(stderr, "natter-conform: %s\n", e.c_str());
    if (!errors.empty())
      return 2;
  }
  // The peer serves the same room: it must say the same of its settings,
  // or the cases' expectations (read from the first greeting) do not hold
  // for its clients.
  if (opt.peer_port != 0)
  {
    natter::conform::run_options at_peer = opt;
    at_peer.host = opt.peer_host;
    at_peer.port = opt.peer_port;
    std::string error;
    const auto greeting = natter::conform::first_line(at_peer, error);
    if (!greeting)
    {
      std::fprintf(stderr, "natter-conform: --peer: %s\n", error.c_str());
      return 1;
    }
    std::vector<std::string> ignored;
    at_peer.adverts.clear();
    natter::conform::apply_greeting(*greeting, told, at_peer, ignored);
    if (at_peer.adverts != opt.adverts)
    {
      std::fprintf(stderr,
                   "natter-conform: --peer: its adverts differ from the main address's: "
                   "%s against %s\n",
                   natter::conform::describe(at_peer).c_str(),
                   natter::conform::describe(opt).c_str());
      return 2;
    }
  }

  // Cases run on a pool of threads, then the cases marked "alone" one at a
  // time with nothing else running (they load the shared room enough to
  // disturb other cases); results print in suite order as soon as every
  // earlier case has finished.
  std::vector<std::optional<case_result>> results(cases.size());
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::size_t> shared;
  std::vector<std::size_t> alone;
  for (std::size_t k = 0; k < cases.size(); ++k)
    (cases[k]->alone ? alone : shared).push_back(k);
  auto run_one = [&](std::size_t k)
  {
    case_result r = natter::conform::run_case(*cases[k], opt, static_cast<unsigned>(k));
    const std::lock_guard lock(mu);
    results[k] = std::move(r);
    cv.notify_all();
  };
  std::thread scheduler(
      [&]
      {
        std::atomic<std::size_t> next{0};
        std::vector<std::thread> pool;
        const unsigned workers = static_cast<unsigned>(
            std::min<std::size_t>(jobs, std::max<std::size_t>(shared.size(), 1)));
        for (unsigned w = 0; w < workers; ++w)
          pool.emplace_back(
              [&]
              {
                for (std::size_t k = next++; k < shared.size(); k = next++)
                  run_one(shared[k]);
              });
        for (std::thread& t : pool)
          t.join();
        for (const std::size_t k : alone)
          run_one(k);
      });

  if (tap)
    std::printf("TAP version 13\n1..%zu\n", cases.size());
  std::printf("%sserver: %s\n", tap ? "# " : "", natter::conform::describe(opt).c_str());
  for (const std::string& n : notes)
    std::printf("%snote: %s\n", tap ? "# " : "", n.c_str());
  struct tally
  {
    int passed = 0;
    int failed = 0;
    int skipped = 0;
  };
  std::vector<std::string> section_order;
  std::map<std::string, tally> sections;
  tally total;
  for (std::size_t k = 0; k < cases.size(); ++k)
  {
    case_result r;
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return results[k].has_value(); });
      r = std::move(*results[k]);
    }
    const test_case& tc = *cases[k];
    if (!sections.count(tc.section))
      section_order.push_back(tc.section);
    tally& s = sections[tc.section];
    const std::string name = tc.id + " " + tc.title + " " + joined_ids(tc);
    switch (r.what)
    {
    case case_result::status::pass:
      ++s.passed, ++total.passed;
      if (tap)
        std::printf("ok %zu - %s\n", k + 1, name.c_str());
      else
        std::printf("ok   %s\n", name.c_str());
      if (verbose)
        print_failure_detail(tc, r, tap);
      break;
    case case_result::status::fail:
      ++s.failed, ++total.failed;
      if (tap)
        std::printf("not ok %zu - %s\n", k + 1, name.c_str());
      else
        std::printf("FAIL %s\n", name.c_str());
      print_failure_detail(tc, r, tap);
      break;
    case case_result::status::skip:
      ++s.skipped, ++total.skipped;
      if (tap)
        std::printf("ok %zu - %s # SKIP %s\n", k + 1, name.c_str(), r.reason.c_str());
      else
        std::printf("skip %s (%s)\n", name.c_str(), r.reason.c_str());
      break;
    }
    std::fflush(stdout);
  }
  scheduler.join();

  const char* pre = tap ? "# " : "";
  std::printf("%s\n%sBy spec section:\n", tap ? "#" : "", pre);
  for (const std::string& sec : section_order)
  {
    const tally& s = sections[sec];
    std::printf("%s  %-36s %3d passed, %d failed%s\n", pre, sec.c_str(), s.passed, s.failed,
                s.skipped != 0 ? (", " + std::to_string(s.skipped) + " skipped").c_str() : "");
  }
  std::printf("%s%d passed, %d failed", pre, total.passed, total.failed);
  if (total.skipped != 0)
    std::printf(", %d skipped", total.skipped);
  std::printf("\n");
  if (no_skip && total.skipped != 0)
  {
    std::printf("%s--no-skip: %d selected cases did not run\n", pre, total.skipped);
    return 1;
  }
  return total.failed == 0 ? 0 : 1;
}
