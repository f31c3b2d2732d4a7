// natter-bench: the one shape every mode has, and the loop that runs it.
//
// A mode is a class that owns its poller and its connections and goes
// through three phases:
//
//   setup   its constructor: checks the options, resolves the server,
//           prepares (and may start) its connections; throws
//           std::runtime_error when it cannot;
//   run     start(now) once, then per wake-up of the poller one on_event()
//           for every ready descriptor and one advance(), until advance()
//           returns false; the mode moves through its own phase enum
//           (setting up, measuring, draining...) in advance();
//   report  finish(report&): closes every connection, adds its figures to
//           the report and returns the exit status (0 when everything sent
//           was received intact, 1 otherwise).
//
// run_mode() is that loop; it also keeps the progress line, from the mode's
// status(), and prints the report. To add a mode: its options in modes.hpp,
// a class satisfying `bench_mode` in its own .cpp, and a run_<mode>() there
// that returns run_mode<that_class>(options); main.cpp adds the subcommand.
#ifndef NATTER_BENCH_MODE_DRIVER_HPP
#define NATTER_BENCH_MODE_DRIVER_HPP

#include "natter/bench/clock.hpp"
#include "natter/bench/options.hpp"
#include "natter/bench/poller.hpp"
#include "natter/bench/progress.hpp"
#include "natter/bench/report.hpp"

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>

namespace natter::bench
{

/// What run_mode() needs of a mode (see the comment at the top).
// Laid out by hand: clang-format 14 breaks compound requirements apart.
// clang-format off
template <class M>
concept bench_mode =
    std::derived_from<typename M::options_type, common_options> &&
    std::constructible_from<M, const typename M::options_type&> &&
    requires(M& m, const M& cm, const epoll_event& ev, std::uint64_t now, std::size_t ready,
             report& r) {
      { M::name } -> std::convertible_to<std::string>; // subcommand; the report's "mode"
      { m.poll() } -> std::same_as<poller&>;           // what the loop waits on
      { cm.wait_ms() } -> std::same_as<int>;           // the next wait's timeout
      m.start(now);                                    // once, before the first wait
      m.on_event(ev, now);                             // one ready descriptor
      { m.advance(now, ready) } -> std::same_as<bool>; // after each wait; false: done
      { cm.status(now) } -> std::same_as<std::string>; // the progress line
      { m.finish(r) } -> std::same_as<int>;            // the report; the exit status
    };
// clang-format on

/// Runs mode `M` with options `o`: setup, the event loop, the report.
/// Returns the mode's exit status; exceptions from setup propagate.
template <bench_mode M>
int run_mode(const typename M::options_type& o)
{
  M mode(o);
  progress prog;
  mode.start(now_ns());
  for (;;)
  {
    const auto ready = mode.poll().wait(mode.wait_ms());
    const std::uint64_t now = now_ns();
    for (const epoll_event& ev : ready)
      mode.on_event(ev, now);
    if (!mode.advance(now, ready.size()))
      break;
    if (prog.due(now))
      prog.show(now, mode.status(now));
  }
  prog.finish();
  report r(M::name);
  const int status = mode.finish(r);
  r.print(o.json);
  return status;
}

} // namespace natter::bench

#endif // NATTER_BENCH_MODE_DRIVER_HPP
