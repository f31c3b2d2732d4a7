#include "natter/server/tls_keeper.hpp"

#include "natter/server/log.hpp"

#include <sys/stat.h>

#include <stdexcept>

namespace natter::server
{

namespace
{

std::string described(const tls::server_context& c)
{
  return "certificate serial " + c.serial() + ", valid until " + c.not_after();
}

} // namespace

std::shared_ptr<const tls::server_context>
tls_keeper::load(const options::tls_options& o, std::shared_ptr<const tls::ticket_keys> tickets)
{
  try
  {
    return tls::server_context::load(o.cert, o.key, std::chrono::system_clock::now(),
                                     std::move(tickets));
  }
  catch (const tls::load_error& e)
  {
    throw std::runtime_error(
        std::string(e.which == tls::load_error::file::cert ? "--tls-cert" : "--tls-key") + ": " +
        e.what());
  }
}

tls_keeper::tls_keeper(asio::io_context& main, const options::tls_options& o)
    : options_(o), tickets_(tls::ticket_keys::make()), timer_(main), current_(load(o, tickets_)),
      seen_(look_now())
{
  log(log_level::info, "tls: serving " + described(*current_));
}

std::shared_ptr<const tls::server_context> tls_keeper::current() const
{
  const std::lock_guard lock(mutex_);
  return current_;
}

void tls_keeper::start()
{
  schedule();
}

void tls_keeper::stop()
{
  stopped_ = true;
  timer_.cancel();
}

bool tls_keeper::reload(const char* why)
{
  seen_ = look_now();
  try
  {
    auto next = load(options_, tickets_);
    log(log_level::info, std::string("tls: reloaded (") + why + "): serving " + described(*next));
    const std::lock_guard lock(mutex_);
    current_ = std::move(next);
    reloads_.fetch_add(1);
    return true;
  }
  catch (const std::exception& e)
  {
    const std::uint64_t n = failures_.fetch_add(1) + 1;
    log(log_level::error, std::string("tls: reload (") + why + ") failed, still serving " +
                              described(*current()) + ": " + e.what() + " (failure " +
                              std::to_string(n) + ")");
    return false;
  }
}

bool tls_keeper::reload(const char* why, const std::string& cert, const std::string& key)
{
  const options::tls_options was = options_;
  options_.cert = cert;
  options_.key = key;
  if (reload(why))
    return true;
  options_ = was;
  seen_ = look_now(); // the old files, as they are
  return false;
}

// A pair whose reload failed is not tried again until a file changes once
// more (an ACME client writes the certificate and the key one after the
// other: the first look may see a new certificate with the old key).
void tls_keeper::schedule()
{
  if (stopped_)
    return;
  timer_.expires_after(options_.check_interval);
  timer_.async_wait(
      [this](const asio::error_code& ec)
      {
        if (ec || stopped_)
          return;
        if (look_now() != seen_)
          reload("file change");
        schedule();
      });
}

tls_keeper::look tls_keeper::look_now() const
{
  look l;
  struct stat st
  {
  };
  // stat() follows symbolic links, as an ACME client's live/ links are.
  if (::stat(options_.cert.c_str(), &st) == 0)
  {
    l.cert_mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    l.cert_size = st.st_size;
    l.cert_inode = st.st_ino;
  }
  if (::stat(options_.key.c_str(), &st) == 0)
  {
    l.key_mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    l.key_size = st.st_size;
    l.key_inode = st.st_ino;
  }
  return l;
}

} // namespace natter::server
