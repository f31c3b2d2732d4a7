// natterd: parse the command line (and --config), run the server or
// check that it could start (--check-config). Exceptions are caught
// only here.
#include "natter/server/options.hpp"
#include "natter/server/server.hpp"

#include <csignal>
#include <cstdio>
#include <exception>
#include <new>

int main(int argc, char** argv)
{
  // A peer that resets while we write must give EPIPE, not kill us.
  std::signal(SIGPIPE, SIG_IGN);
  natter::server::options opts;
  if (const auto status = natter::server::parse_options(argc, argv, opts))
    return *status;
  natter::server::set_log_level(opts.level);
  natter::server::install_fatal_handler();
  try
  {
    if (opts.check_config)
    {
      natter::server::server::check(opts);
      std::puts("natterd: configuration ok");
      return 0;
    }
    natter::server::server srv(opts);
    srv.listen();
    return srv.run();
  }
  catch (const std::bad_alloc&)
  {
    natter::server::log_failure("fatal: out of memory");
    return 1;
  }
  catch (const std::exception& e)
  {
    // Cannot start, failed while running, or failed --check-config.
    natter::server::log_failure(e.what());
    return 1;
  }
}
