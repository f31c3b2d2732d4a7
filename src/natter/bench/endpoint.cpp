#include "natter/bench/endpoint.hpp"

#include <arpa/inet.h>
#include <netdb.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace natter::bench
{

endpoint resolve_loopback(const std::string& host, unsigned short port)
{
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0)
    throw std::runtime_error("cannot resolve " + host + ": " + ::gai_strerror(rc));
  endpoint ep;
  bool found = false;
  for (addrinfo* ai = res; ai && !found; ai = ai->ai_next)
  {
    if (ai->ai_family == AF_INET)
    {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(ai->ai_addr);
      if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127)
        continue;
      ep.v4 = true;
    }
    else if (ai->ai_family == AF_INET6)
    {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(ai->ai_addr);
      if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
        continue;
      ep.v4 = false;
    }
    else
      continue;
    std::memcpy(&ep.addr, ai->ai_addr, ai->ai_addrlen);
    ep.len = static_cast<socklen_t>(ai->ai_addrlen);
    found = true;
  }
  ::freeaddrinfo(res);
  if (!found)
    throw std::runtime_error(host + " is not a loopback address: natter-bench only loads "
                                    "127.0.0.0/8 and ::1");
  return ep;
}

in_addr spread_source(std::size_t i)
{
  in_addr a{};
  a.s_addr = htonl(0x7F010001u + static_cast<std::uint32_t>(i / 1000));
  return a;
}

} // namespace natter::bench
