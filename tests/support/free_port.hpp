// Test support: a loopback port for a server the test starts, when the
// server must be told its port (redis-server, systemd-socket-activate): the
// soak's own (natter/bench/free_port.hpp).
#ifndef NATTER_TESTS_SUPPORT_FREE_PORT_HPP
#define NATTER_TESTS_SUPPORT_FREE_PORT_HPP

#include "natter/bench/free_port.hpp"

namespace natter::test
{

using natter::bench::free_port;

} // namespace natter::test

#endif // NATTER_TESTS_SUPPORT_FREE_PORT_HPP
