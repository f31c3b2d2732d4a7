// One event loop of natterd: an io_context run by exactly one thread, and
// the chat connections whose output waits for that thread to write it.
#ifndef NATTER_SERVER_WORKER_HPP
#define NATTER_SERVER_WORKER_HPP

#include <asio.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

namespace natter::server
{

class chat_connection;

/// Takes an asynchronous operation's memory from the heap at its exact size.
/// Asio's default recycles blocks per thread, so an operation that stays
/// pending for long (an idle connection's wait for input) can hold a block
/// cut for a bigger one (an accept): a few hundred octets per idle client.
template <class T>
struct exact_allocator
{
  using value_type = T;
  exact_allocator() noexcept = default;
  template <class U>
  exact_allocator(const exact_allocator<U>&) noexcept // NOLINT(google-explicit-constructor)
  {
  }
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T))); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p); }
  template <class U>
  bool operator==(const exact_allocator<U>&) const noexcept
  {
    return true;
  }
};

/// A socket and a timer bound to one worker's io_context. Their executor is
/// one pointer, where Asio's default (any_io_executor) is a type-erased
/// object several times larger, and the pending operations of every idle
/// connection carry it too: with tens of thousands of idle clients, it shows.
using worker_socket = asio::basic_stream_socket<asio::ip::tcp, asio::io_context::executor_type>;
using worker_timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                                asio::wait_traits<std::chrono::steady_clock>,
                                                asio::io_context::executor_type>;

/// An io_context for one thread. Every connection belongs to one worker for
/// its whole life, so its handlers never run concurrently and need no strand.
///
/// Writes are deferred to the end of the pass: a broadcast only marks each
/// recipient, and the worker writes the marked connections after the
/// handlers ready now (the reads of this pass), a slice at a time with the
/// reads that became ready in between. Under load every message read before
/// a connection's turn leaves in the same write, so the number of system
/// calls per delivery falls as the load rises; when idle, a message is
/// written as soon as its read handler returns.
class worker
{
public:
  worker();
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;
  ~worker();

  asio::io_context& context() noexcept { return io_; }

  /// Makes `c` write its pending output in this worker's next flush. Safe
  /// from any thread; posts at most one flush per pass, whatever the number
  /// of connections marked.
  void defer_write(std::shared_ptr<chat_connection> c);

  /// Runs the event loop on the calling thread until stop().
  void run();

  /// Makes run() return; safe from any thread.
  void stop();

private:
  void flush();

  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::mutex mutex_; // guards dirty_
  std::vector<std::shared_ptr<chat_connection>> dirty_;
  std::vector<std::shared_ptr<chat_connection>> flushing_; // used by flush() only
  std::size_t next_ = 0; // first connection of flushing_ not yet written

  // Connections written per flush handler before the reactor gets a turn.
  static constexpr std::size_t flush_slice = 16;
};

} // namespace natter::server

#endif // NATTER_SERVER_WORKER_HPP
