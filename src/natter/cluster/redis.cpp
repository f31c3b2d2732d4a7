#include "natter/cluster/redis.hpp"

#include <hiredis/hiredis.h>

#include <charconv>

namespace natter::cluster
{

namespace
{

timeval to_timeval(std::chrono::milliseconds t) noexcept
{
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(t.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>(t.count() % 1000 * 1000);
  return tv;
}

template <typename T>
bool parse_number(std::string_view s, T& out)
{
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size() && !s.empty();
}

// The percent-decoding of a URL's user-info part (RFC 3986 2.1).
std::string unescape(std::string_view s)
{
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i)
  {
    unsigned v = 0;
    if (s[i] == '%' && i + 2 < s.size() &&
        std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16).ptr == s.data() + i + 3)
    {
      out += static_cast<char>(v);
      i += 2;
    }
    else
      out += s[i];
  }
  return out;
}

} // namespace

redis_address redis_address::parse(std::string_view url)
{
  redis_address a;
  constexpr std::string_view tcp = "redis://";
  constexpr std::string_view unix_scheme = "unix://";
  if (url.starts_with(unix_scheme))
  {
    a.socket_path = std::string(url.substr(unix_scheme.size()));
    if (a.socket_path.empty() || a.socket_path.front() != '/')
      throw std::invalid_argument("a unix socket URL is unix:///absolute/path");
    return a;
  }
  if (!url.starts_with(tcp))
    throw std::invalid_argument("expected redis://HOST:PORT[/DB] or unix:///PATH");
  std::string_view rest = url.substr(tcp.size());
  if (const auto at = rest.rfind('@'); at != std::string_view::npos)
  {
    std::string_view user_info = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    const auto colon = user_info.find(':');
    if (colon == std::string_view::npos)
      throw std::invalid_argument("a password is given as redis://:PASSWORD@HOST:PORT");
    a.password = unescape(user_info.substr(colon + 1));
  }
  if (const auto slash = rest.find('/'); slash != std::string_view::npos)
  {
    if (!parse_number(rest.substr(slash + 1), a.db))
      throw std::invalid_argument("the database after '/' is a number");
    rest = rest.substr(0, slash);
  }
  std::string_view host = rest;
  std::string_view port;
  if (rest.starts_with('['))
  {
    const auto close = rest.find(']');
    if (close == std::string_view::npos)
      throw std::invalid_argument("an IPv6 address is written [ADDR]:PORT");
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 1);
  }
  else if (const auto colon = rest.rfind(':'); colon != std::string_view::npos)
  {
    host = rest.substr(0, colon);
    port = rest.substr(colon);
  }
  else
    port = {};
  if (host.empty())
    throw std::invalid_argument("no host");
  a.host = std::string(host);
  a.port = 6379;
  if (!port.empty())
  {
    if (port.front() != ':' || !parse_number(port.substr(1), a.port) || a.port == 0)
      throw std::invalid_argument("the port is a number from 1 to 65535");
  }
  return a;
}

std::string redis_address::shown() const
{
  if (!socket_path.empty())
    return "unix://" + socket_path;
  std::string s = "redis://";
  if (!password.empty())
    s += ":***@";
  s += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  s += ':' + std::to_string(port);
  if (db != 0)
    s += '/' + std::to_string(db);
  return s;
}

reply::reply(reply&& o) noexcept : r_(o.r_), owner_(o.owner_)
{
  o.r_ = o.owner_ = nullptr;
}

reply& reply::operator=(reply&& o) noexcept
{
  if (this != &o)
  {
    if (owner_ != nullptr)
      freeReplyObject(owner_);
    r_ = o.r_;
    owner_ = o.owner_;
    o.r_ = o.owner_ = nullptr;
  }
  return *this;
}

reply::~reply()
{
  if (owner_ != nullptr)
    freeReplyObject(owner_);
}

bool reply::is_nil() const noexcept
{
  return r_ == nullptr || r_->type == REDIS_REPLY_NIL;
}

bool reply::is_array() const noexcept
{
  return r_ != nullptr && r_->type == REDIS_REPLY_ARRAY;
}

bool reply::is_error() const noexcept
{
  return r_ != nullptr && r_->type == REDIS_REPLY_ERROR;
}

std::string_view reply::str() const noexcept
{
  if (r_ == nullptr || r_->str == nullptr)
    return {};
  return {r_->str, r_->len};
}

long long reply::integer() const
{
  if (r_ != nullptr && r_->type == REDIS_REPLY_INTEGER)
    return r_->integer;
  long long v = 0;
  if (!parse_number(str(), v))
    throw redis_error("expected an integer reply, got \"" + std::string(str()) + "\"");
  return v;
}

std::size_t reply::size() const noexcept
{
  return is_array() ? r_->elements : 0;
}

reply reply::operator[](std::size_t i) const noexcept
{
  return i < size() ? reply(r_->element[i], nullptr) : reply();
}

redis::redis(const redis_address& where, std::chrono::milliseconds timeout)
{
  const timeval tv = to_timeval(timeout);
  c_ = where.socket_path.empty() ? redisConnectWithTimeout(where.host.c_str(), where.port, tv)
                                 : redisConnectUnixWithTimeout(where.socket_path.c_str(), tv);
  if (c_ == nullptr)
    throw redis_io_error("cannot connect to " + where.shown() + ": out of memory");
  if (c_->err != 0)
    fail("cannot connect to " + where.shown());
  set_timeout(timeout);
  try
  {
    if (!where.password.empty())
      command({"AUTH", where.password});
    if (where.db != 0)
      command({"SELECT", std::to_string(where.db)});
  }
  catch (...)
  {
    redisFree(c_);
    throw;
  }
}

redis::~redis()
{
  if (c_ != nullptr)
    redisFree(c_);
}

void redis::set_timeout(std::chrono::milliseconds t)
{
  redisSetTimeout(c_, to_timeval(t));
}

void redis::fail(std::string_view what)
{
  std::string why(what);
  why += ": ";
  why += c_ != nullptr && c_->errstr[0] != '\0' ? c_->errstr : "connection lost";
  if (c_ != nullptr)
  {
    redisFree(c_);
    c_ = nullptr;
  }
  throw redis_io_error(why);
}

void redis::append(std::span<const std::string_view> argv)
{
  if (c_ == nullptr)
    throw redis_io_error("not connected");
  std::vector<const char*> ptrs;
  std::vector<std::size_t> lens;
  ptrs.reserve(argv.size());
  lens.reserve(argv.size());
  for (std::string_view a : argv)
  {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  if (redisAppendCommandArgv(c_, static_cast<int>(argv.size()), ptrs.data(), lens.data()) !=
      REDIS_OK)
    fail("cannot send to Redis");
}

reply redis::read()
{
  if (c_ == nullptr)
    throw redis_io_error("not connected");
  void* r = nullptr;
  if (redisGetReply(c_, &r) != REDIS_OK || r == nullptr)
    fail("no answer from Redis");
  return reply(static_cast<redisReply*>(r));
}

reply redis::command(std::span<const std::string_view> argv)
{
  append(argv);
  reply r = read();
  if (r.is_error())
    throw redis_error(std::string(r.str()));
  return r;
}

} // namespace natter::cluster
