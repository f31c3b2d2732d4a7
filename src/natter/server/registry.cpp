#include "natter/server/registry.hpp"

#include "natter/server/options.hpp"

namespace natter::server
{

asio::ip::address canonical(const asio::ip::address& a)
{
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return a;
}

registry::limits registry::limits::of(const options& opts) noexcept
{
  return {opts.max_clients, opts.max_per_ip, opts.loopback_exempt, opts.echo_max_clients};
}

void registry::set_limits(const limits& l)
{
  std::lock_guard lock(mutex_);
  limits_ = l;
}

std::optional<proto::reply_code> registry::admit(pool& p, const asio::ip::address& raw)
{
  const asio::ip::address addr = canonical(raw);
  if (p.total >= limits_.max_clients)
    return proto::reply_code::server_full;
  // Every address is counted, exempt or not, so that limits changed by a
  // reload apply to true counts.
  const bool exempt = limits_.max_per_ip == 0 || (limits_.loopback_exempt && addr.is_loopback());
  std::size_t& n = p.per_ip[addr];
  if (!exempt && n >= limits_.max_per_ip)
    return proto::reply_code::too_many_from_address;
  ++n;
  ++p.total;
  return std::nullopt;
}

void registry::gone(pool& p, const asio::ip::address& raw)
{
  const asio::ip::address addr = canonical(raw);
  --p.total;
  const auto it = p.per_ip.find(addr);
  if (it != p.per_ip.end() && --it->second == 0)
    p.per_ip.erase(it);
}

std::optional<proto::reply_code> registry::admit_chat(const asio::ip::address& addr)
{
  std::lock_guard lock(mutex_);
  return admit(chats_, addr);
}

void registry::chat_gone(const asio::ip::address& addr)
{
  std::unique_lock lock(mutex_);
  gone(chats_, addr);
  check_empty(lock);
}

std::optional<proto::reply_code> registry::admit_handshake(const asio::ip::address& addr)
{
  std::lock_guard lock(mutex_);
  return admit(handshakes_, addr);
}

void registry::handshake_gone(const asio::ip::address& addr)
{
  std::unique_lock lock(mutex_);
  gone(handshakes_, addr);
  check_empty(lock);
}

bool registry::add_echo(const std::shared_ptr<echo_connection>& c)
{
  std::lock_guard lock(mutex_);
  if (echoes_.size() >= limits_.echo_max_clients)
    return false;
  echoes_.emplace(c.get(), c);
  return true;
}

void registry::echo_gone(echo_connection* c)
{
  std::unique_lock lock(mutex_);
  echoes_.erase(c);
  check_empty(lock);
}

std::vector<std::shared_ptr<echo_connection>> registry::echoes() const
{
  std::vector<std::shared_ptr<echo_connection>> out;
  std::lock_guard lock(mutex_);
  for (const auto& [p, w] : echoes_)
    if (auto c = w.lock())
      out.push_back(std::move(c));
  return out;
}

void registry::on_empty(std::function<void()> last_gone)
{
  std::unique_lock lock(mutex_);
  last_gone_ = std::move(last_gone);
  check_empty(lock);
}

// Runs the callback once, outside the lock, when nothing is left.
void registry::check_empty(std::unique_lock<std::mutex>& lock)
{
  if (!last_gone_ || chats_.total != 0 || handshakes_.total != 0 || !echoes_.empty())
    return;
  const std::function<void()> run = std::move(last_gone_);
  last_gone_ = nullptr;
  lock.unlock();
  run();
}

} // namespace natter::server
