// The step interpreter: walks a case's steps in order, checks that each
// step may be used where it stands, expands its arguments and hands it to
// the client it names (case_client.hpp), or plays it itself when it
// concerns several clients (`register`, `nothing`, `uncork A B`, the end of
// the case) or none (`repeat`, `mark`, `elapsed`, `udp-silent`).
#include "engine.hpp"

#include "case_client.hpp"
#include "checks.hpp"
#include "matcher.hpp"
#include "net.hpp"
#include "nicks.hpp"
#include "settings.hpp"
#include "spread.hpp"
#include "transcript.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace natter::conform
{

namespace
{

class case_runner final : public variables
{
public:
  case_runner(const test_case& tc, const run_options& opt, unsigned index)
      : tc_(tc), opt_(opt),
        nicks_(run_id(opt.salt, index)), ctx_{opt_, nicks_, log_, run_id(opt.salt, index), 0}
  {
    if (opt.peer_port != 0)
      on_peer_ = peer_clients(tc);
  }

  case_result run()
  {
    case_result result;
    const auto start = clock::now();
    if (std::string why = skip_reason(tc_, opt_); !why.empty())
    {
      result.what = case_result::status::skip;
      result.reason = std::move(why);
      return result;
    }
    try
    {
      run_steps(tc_.steps);
      current_line_ = 0;
      final_check();
    }
    catch (const failure& f)
    {
      result.what = case_result::status::fail;
      result.reason = f.reason;
      result.details = f.details;
      result.line = current_line_;
    }
    catch (const violation& v)
    {
      result.what = case_result::status::fail;
      result.reason = "protocol violation [" + v.id + "]: " + v.what;
      result.line = current_line_;
    }
    catch (const case_error& e)
    {
      result.what = case_result::status::fail;
      result.reason = std::string("case error: ") + e.what();
      result.line = current_line_;
    }
    catch (const std::exception& e)
    {
      result.what = case_result::status::fail;
      result.reason = std::string("runner error: ") + e.what();
      result.line = current_line_;
    }
    clients_.clear(); // closes every connection
    result.transcript = log_.take();
    result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
    return result;
  }

  // ---- variables ----
  std::string nick(std::string_view name, std::size_t length) override
  {
    return nicks_.nick(name, length);
  }

  long counter() const override
  {
    if (counters_.empty())
      throw case_error("${i} outside a repeat");
    return counters_.back();
  }

  long max_line() const override { return opt_.max_line; }

  long idle_timeout() const override
  {
    if (opt_.idle_timeout.count() == 0)
      throw case_error("T: the server's idle timeout is not known (--idle-timeout)");
    return static_cast<long>(opt_.idle_timeout.count() / 1000);
  }

  long registration_timeout() const override
  {
    if (opt_.registration_timeout.count() == 0)
      throw case_error("R: the server's registration timeout is not known");
    return static_cast<long>(opt_.registration_timeout.count() / 1000);
  }

  long max_per_ip() const override
  {
    if (opt_.max_per_ip < 0)
      throw case_error("P: the server's per-address limit is not known (--max-per-ip)");
    return opt_.max_per_ip;
  }

private:
  /// The client of that name: its current connection, or a new one.
  case_client& get(const std::string& name)
  {
    for (auto& c : clients_)
      if (c->name() == name)
        return *c;
    clients_.push_back(fresh(name));
    return *clients_.back();
  }

  /// A new connection of the client of that name, on its address.
  std::unique_ptr<case_client> fresh(const std::string& name)
  {
    const bool peer = std::find(on_peer_.begin(), on_peer_.end(), name) != on_peer_.end();
    return std::make_unique<case_client>(name, ctx_, peer);
  }

  /// `connect`. A client whose connection is over may connect again,
  /// afresh, once every line of the old connection was expected.
  void connect(case_client& c, const step& st)
  {
    case_client* target = &c;
    if (c.connected())
    {
      if (!c.over())
        throw case_error(c.name() + " is already connected (expect 'closed' or 'close' it first)");
      c.expect_no_leftovers();
      const auto slot = std::find_if(clients_.begin(), clients_.end(),
                                     [&](const auto& p) { return p.get() == &c; });
      *slot = fresh(c.name()); // c is gone from here on
      target = slot->get();
    }
    using transport = case_client::transport;
    target->connect(st.arg == "raw", st.arg == "echo", static_cast<int>(st.count),
                    source(st.source),
                    st.arg == "no-alpn"     ? transport::no_alpn
                    : st.arg == "plaintext" ? transport::plaintext
                                            : transport::usual);
  }

  /// The `from K` address (skip_reason() saw that there are K); "" for 0.
  std::string source(int k) const
  {
    return k == 0 ? std::string() : opt_.sources.at(static_cast<std::size_t>(k - 1));
  }

  /// `open N from K`: N connections from source K, each greeted, kept open
  /// and silent until the case ends. Their names cannot be a case's.
  void open_crowd(const step& st)
  {
    const long n = st.arg.empty() ? st.count : eval_expr(st.arg, *this);
    if (n < 0 || n > 1000)
      throw case_error("open count " + std::to_string(n) + " is not 0 to 1000");
    for (long k = 1; k <= n; ++k)
    {
      clients_.push_back(std::make_unique<case_client>(
          "from" + std::to_string(st.source) + "#" + std::to_string(++opened_), ctx_));
      clients_.back()->connect(false, false, 0, source(st.source));
    }
  }

  /// `register`: the client's 200, then the JOIN at every client registered
  /// earlier that is still connected.
  void register_client(case_client& c, const step& st)
  {
    const std::string nick = expand(st.arg, *this);
    c.register_as(nick);
    for (auto& other : clients_)
      if (other.get() != &c && other->registered() && other->live())
        other->expect_join(nick);
  }

  /// `nothing`: barriers through every other live client (so every event
  /// their commands caused is queued), then nothing may come before the
  /// PONG of c's own barrier [N-FRAME-16].
  void expect_nothing(case_client& c)
  {
    if (!c.live())
      throw case_error(c.name() + ": 'nothing' needs a connected chat client that can still PING");
    for (auto& other : clients_)
      if (other.get() != &c && other->live())
        other->sync();
    c.expect_silence();
  }

  void action(case_client& c, const step& st)
  {
    const std::string& v = st.verb;
    if (v == "connect")
      connect(c, st);
    else if (v == "register")
      register_client(c, st);
    else if (v == "nothing")
      expect_nothing(c);
    else if (v == "sync")
      c.sync();
    else if (v == "closed")
      c.expect_closed();
    else if (v == "alpn")
    {
      if (!c.connected() || c.echo())
        throw case_error(c.name() + ": 'alpn' needs a chat client connected over TLS");
      c.expect_alpn(st.arg);
    }
    else if (v == "alert")
      c.expect_alert();
    else if (v == "refused")
    {
      if (c.connected())
        throw case_error(c.name() + ": 'refused' opens a connection of its own");
      c.expect_refused_old_tls();
    }
    else if (v == "close")
      c.close(st.arg == "reset");
    else if (v == "shutdown")
      c.shutdown();
    else if (v == "wait")
      std::this_thread::sleep_for(std::chrono::milliseconds(st.count));
    else if (v == "cork" || v == "uncork")
    {
      const bool on = v == "cork";
      if (c.corked() == on)
        throw case_error(c.name() + (on ? " is already corked" : " is not corked"));
      c.cork(on);
    }
    else if (v == "idle")
    {
      if (!c.live() && !(c.echo() && c.connected() && !c.over()))
        throw case_error(c.name() + ": 'idle' needs a connected chat client that can still PING, "
                                    "or a connected echo client");
      c.stay_idle();
    }
    else if (v == "reg-timeout")
    {
      if (!c.connected() || c.echo() || c.registered())
        throw case_error(c.name() + ": 'reg-timeout' needs a connected chat client that did "
                                    "not register");
      c.expect_registration_timeout();
    }
    else if (v == "adverts")
    {
      if (!c.connected() || c.echo())
        throw case_error(c.name() + ": 'adverts' needs a connected chat client");
      c.expect_adverts(expand(st.arg, *this));
    }
    else if (v == "skip")
    {
      if (c.skipping())
        throw case_error(c.name() + " is already skipping lines (end it with 'skipped N')");
      if (c.echo())
        throw case_error("skip is for chat clients");
      c.start_skipping(compile_pattern(st.arg, *this));
    }
    else if (v == "skipped")
    {
      if (!c.skipping())
        throw case_error(c.name() + ": 'skipped' without 'skip'");
      c.expect_skipped(st.arg.empty() ? st.count : eval_expr(st.arg, *this));
    }
    else if (v == "reply")
    {
      if (c.echo())
        throw case_error("reply is for chat clients");
      c.expect_reply(std::to_string(st.count), expand_words(st.arg, *this));
    }
    else if (v == "reset")
    {
      if (!c.connected() || c.closed_by_us())
        throw case_error(c.name() + ": 'reset within' needs a connection the case did not close");
      c.expect_reset(st.count);
    }
    else if (v == "backpressure")
      c.backpressure(st.arg.empty() ? std::string("x") : expand(st.arg, *this),
                     static_cast<std::size_t>(st.count));
  }

  /// `uncork A B ...`: the clients, each corked, write at the same moment.
  void uncork_all(const step& st)
  {
    std::vector<case_client*> clients;
    std::istringstream names(st.arg);
    for (std::string name; names >> name;)
    {
      case_client& c = get(name);
      if (!c.corked())
        throw case_error(name + " is not corked");
      clients.push_back(&c);
    }
    case_client::uncork_together(clients);
  }

  void run_steps(const std::vector<step>& steps)
  {
    for (const step& st : steps)
    {
      current_line_ = st.line;
      if (!st.client.empty() && get(st.client).corked() && st.what != step::kind::send_line &&
          st.what != step::kind::send_raw &&
          !(st.what == step::kind::action && st.verb == "uncork"))
        throw case_error(st.client + " is corked: only sends until 'uncork'");
      switch (st.what)
      {
      case step::kind::repeat:
      {
        const long count = st.arg.empty() ? st.count : eval_expr(st.arg, *this);
        if (count < 1 || count > 100000)
          throw case_error("repeat count " + std::to_string(count) + " is not 1 to 100000");
        for (long k = 1; k <= count; ++k)
        {
          counters_.push_back(k);
          run_steps(st.body);
          counters_.pop_back();
        }
        break;
      }
      case step::kind::mark: mark_ = clock::now(); break;
      case step::kind::uncork_all: uncork_all(st); break;
      case step::kind::elapsed:
      {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - mark_);
        const bool sooner = st.source == 1; // elapsed < MS
        if (sooner ? ms.count() >= st.count : ms.count() < st.count)
          throw failure{(sooner ? "already " : "only ") + std::to_string(ms.count()) +
                            " ms passed since the mark",
                        {std::string("expected: elapsed ") + (sooner ? "< " : ">= ") +
                         std::to_string(st.count)}};
        break;
      }
      case step::kind::open: open_crowd(st); break;
      case step::kind::udp_silent:
        if (udp_answers(opt_.host, opt_.echo_port, "natter-conform udp probe\r\n",
                        std::chrono::milliseconds(300)))
          throw failure{"a UDP datagram to the echo port was answered", {}};
        log_.add("(a UDP datagram to the echo port got no answer)");
        break;
      case step::kind::send_line: get(st.client).send(expand(st.arg, *this) + "\r\n", true); break;
      case step::kind::send_raw: get(st.client).send(expand(st.arg, *this), false); break;
      case step::kind::expect_line:
        get(st.client).expect_line(compile_pattern(st.arg, *this));
        break;
      case step::kind::expect_regex:
        get(st.client).expect_regex(expand_regex(st.arg, *this));
        break;
      case step::kind::expect_bytes: get(st.client).expect_bytes(expand(st.arg, *this)); break;
      case step::kind::action: action(get(st.client), st); break;
      }
    }
  }

  /// At the end every line a client received must have been expected: two
  /// rounds of barriers flush what the case's commands caused.
  void final_check()
  {
    for (auto& c : clients_)
      if (c->corked())
        throw case_error(c->name() + " is still corked at the end of the case");
    // A barrier shows what was queued before it (N-FRAME-16), not what a
    // server sends a while later (a delayed echo, a timer): a case that
    // shows something does not arrive gives such lines time to arrive.
    const bool live =
        std::any_of(clients_.begin(), clients_.end(), [](const auto& c) { return c->live(); });
    if (tc_.negative && live && opt_.settle.count() > 0)
    {
      log_.add("(settles " + std::to_string(opt_.settle.count()) +
               " ms before the final barriers, for lines sent late)");
      std::this_thread::sleep_for(opt_.settle);
    }
    for (int round = 0; round < 2; ++round)
      for (auto& c : clients_)
        if (c->live())
          c->sync();
    for (auto& c : clients_)
      c->expect_no_leftovers();
  }

  const test_case& tc_;
  const run_options& opt_;
  case_nicks nicks_;
  transcript log_;
  case_context ctx_;
  std::vector<std::unique_ptr<case_client>> clients_;
  std::vector<std::string> on_peer_; // with --peer: the clients that connect to it
  std::vector<long> counters_;
  long opened_ = 0; // connections opened by `open`
  clock::time_point mark_ = clock::now();
  int current_line_ = 0;
};

} // namespace

case_result run_case(const test_case& tc, const run_options& opt, unsigned index)
{
  case_runner runner(tc, opt, index);
  return runner.run();
}

} // namespace natter::conform
