// natterd: parse the command line, run the server. Exceptions are caught
// only here.
#include "natter/server/options.hpp"
#include "natter/server/server.hpp"

#include <csignal>
#include <cstdio>
#include <exception>

int main(int argc, char** argv)
{
  // A peer that resets while we write must give EPIPE, not kill us.
  std::signal(SIGPIPE, SIG_IGN);
  natter::server::options opts;
  if (const auto status = natter::server::parse_options(argc, argv, opts))
    return *status;
  natter::server::set_log_level(opts.level);
  try
  {
    natter::server::server srv(opts);
    srv.listen();
    return srv.run();
  }
  catch (const std::exception& e)
  {
    std::fprintf(stderr, "natterd: %s\n", e.what());
    return 1;
  }
}
