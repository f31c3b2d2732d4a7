#include "natter/server/metrics.hpp"

#include "natter/core/room.hpp"
#include "natter/server/tls_keeper.hpp"

#include <algorithm>
#include <chrono>
#include <string_view>

namespace natter::server
{

namespace
{

constexpr std::array<std::string_view, service_count> service_names{"chat", "tls", "echo"};

// The text exposition format, version 0.0.4: each family's HELP and TYPE
// lines, then its samples. Names, labels and help texts are natterd's own
// (nothing here needs escaping).
class exposition
{
public:
  void family(std::string_view name, std::string_view type, std::string_view help)
  {
    out_.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  }

  /// `labels` as `key="value"`, or empty.
  void sample(std::string_view name, std::uint64_t value, std::string_view labels = {})
  {
    out_.append(name);
    if (!labels.empty())
      out_.append("{").append(labels).append("}");
    out_.append(" ").append(std::to_string(value)).append("\n");
  }

  /// `ms` milliseconds, in seconds.
  void sample_millis(std::string_view name, std::uint64_t ms)
  {
    const std::string frac = std::to_string(1000 + ms % 1000).substr(1);
    out_.append(name).append(" ").append(std::to_string(ms / 1000)).append(".").append(frac);
    out_.append("\n");
  }

  /// A family of one sample without labels.
  void single(std::string_view name, std::string_view type, std::string_view help,
              std::uint64_t value)
  {
    family(name, type, help);
    sample(name, value);
  }

  /// A family of one sample per service, labelled service="...".
  void per_service(std::string_view name, std::string_view type, std::string_view help,
                   const std::array<std::uint64_t, service_count>& values)
  {
    family(name, type, help);
    for (std::size_t i = 0; i < service_count; ++i)
      sample(name, values[i], "service=\"" + std::string(service_names[i]) + "\"");
  }

  std::string take() { return std::move(out_); }

private:
  std::string out_;
};

} // namespace

metrics::metrics(std::size_t threads)
{
  for (std::size_t i = 0; i < std::max<std::size_t>(threads, 1); ++i)
    blocks_.push_back(std::make_unique<thread_counters>());
}

void metrics::bind_thread(std::size_t i) noexcept
{
  core::this_thread_counters = blocks_.at(i).get();
}

template <class Block>
std::uint64_t metrics::sum(core::counter Block::*which) const noexcept
{
  // Each load is relaxed: a count being added on another thread now
  // shows in the next scrape.
  std::uint64_t n = 0;
  for (const auto& b : blocks_)
    n += ((*b).*which).value();
  return n;
}

std::array<std::uint64_t, service_count>
metrics::sum(thread_counters::per_service thread_counters::*which) const noexcept
{
  std::array<std::uint64_t, service_count> out{};
  for (const auto& b : blocks_)
    for (std::size_t i = 0; i < service_count; ++i)
      out[i] += ((*b).*which)[i].value();
  return out;
}

std::string metrics::render(core::room& room, const tls_keeper* tls,
                            const cluster::node::counts* cluster) const
{
  exposition e;
  // Closed before opened: a connection's close is counted after its open,
  // so reading them in this order never shows more closed than opened.
  const auto closed = sum(&thread_counters::closed);
  const auto opened = sum(&thread_counters::opened);
  std::array<std::uint64_t, service_count> open{};
  for (std::size_t i = 0; i < service_count; ++i)
    open[i] = opened[i] - std::min(opened[i], closed[i]);
  e.per_service("natter_connections", "gauge",
                "Connections open now, by service (tls: handshakes in progress included).", open);
  e.per_service("natter_connections_accepted_total", "counter",
                "Connections accepted, by service, those refused at once included.",
                sum(&thread_counters::accepted));

  e.single("natter_clients_registered", "gauge", "Registered chat clients (room members).",
           room.size());
  e.single("natter_lines_received_total", "counter",
           "Lines received from chat clients, empty ones included.",
           sum(&core::counters::lines_received));
  e.single("natter_lines_sent_total", "counter",
           "Lines queued to chat clients: replies, final lines, and each event once per "
           "recipient.",
           sum(&core::counters::lines_sent));
  e.single("natter_room_messages_total", "counter", "MSG lines the room accepted.",
           sum(&core::counters::room_messages));
  e.single("natter_history_messages", "gauge", "Room messages kept for HISTORY.",
           room.history_kept());

  e.per_service("natter_received_bytes_total", "counter",
                "Octets read from clients' sockets, by service (tls: TLS records).",
                sum(&thread_counters::received_bytes));
  e.per_service("natter_sent_bytes_total", "counter",
                "Octets written to clients' sockets, by service (tls: TLS records).",
                sum(&thread_counters::sent_bytes));

  // One look at every connection under the room's lock; the bucketing
  // happens after it.
  const std::vector<std::size_t> pending = room.pending_per_connection();
  std::array<std::uint64_t, queue_buckets.size()> below{};
  std::uint64_t pending_sum = 0;
  for (const std::size_t p : pending)
  {
    pending_sum += p;
    for (std::size_t i = 0; i < queue_buckets.size(); ++i)
      below[i] += p <= queue_buckets[i] ? 1 : 0;
  }
  e.single("natter_send_queue_bytes", "gauge",
           "Output pending for all chat connections together (what --max-total-sendq bounds).",
           room.total_sendq().value());
  e.family("natter_client_send_queue_bytes", "histogram",
           "Output pending per chat connection, registered or not, at the scrape.");
  for (std::size_t i = 0; i < queue_buckets.size(); ++i)
    e.sample("natter_client_send_queue_bytes_bucket", below[i],
             "le=\"" + std::to_string(queue_buckets[i]) + "\"");
  e.sample("natter_client_send_queue_bytes_bucket", pending.size(), "le=\"+Inf\"");
  e.sample("natter_client_send_queue_bytes_sum", pending_sum);
  e.sample("natter_client_send_queue_bytes_count", pending.size());

  e.single("natter_send_queue_drops_total", "counter",
           "Chat connections dropped as slow consumers (524).", sum(&core::counters::sendq_drops));
  e.single("natter_flood_pauses_total", "counter",
           "Times flood control paused reading a chat client's input.",
           sum(&core::counters::flood_pauses));
  e.family("natter_error_replies_total", "counter",
           "4xx and 5xx replies natterd sent or queued, by code (503 and 504: refused "
           "connections).");
  for (const proto::reply_info& r : proto::reply_table())
  {
    const int code = static_cast<int>(r.code);
    if (code < 400)
      continue;
    std::uint64_t n = 0;
    for (const auto& b : blocks_)
      n += b->error_replies[static_cast<std::size_t>(code - 400)].value();
    e.sample("natter_error_replies_total", n, "code=\"" + std::to_string(code) + "\"");
  }

  e.single("natter_tls_handshake_failures_total", "counter",
           "TLS handshakes that failed, timed out or were cut off.",
           sum(&thread_counters::tls_handshake_failures));
  if (tls != nullptr)
  {
    e.family("natter_tls_certificate_reloads_total", "counter",
             "Reloads of --tls-cert and --tls-key (SIGHUP, a change on disk), by result.");
    e.sample("natter_tls_certificate_reloads_total", tls->reloads(), "result=\"ok\"");
    e.sample("natter_tls_certificate_reloads_total", tls->failures(), "result=\"failed\"");
    e.family("natter_tls_certificate_expiry_timestamp_seconds", "gauge",
             "End of the served certificate's validity, in seconds since 1970.");
    const auto expires = std::chrono::duration_cast<std::chrono::seconds>(
        tls->current()->expires().time_since_epoch());
    e.sample("natter_tls_certificate_expiry_timestamp_seconds",
             static_cast<std::uint64_t>(std::max<std::int64_t>(0, expires.count())));
  }
  if (cluster != nullptr)
  {
    e.single("natter_cluster_connected", "gauge", "1 while Redis answers the node, 0 cut off.",
             cluster->connected ? 1 : 0);
    e.single("natter_cluster_redis_reconnects_total", "counter",
             "Times the node was cut off from Redis and got through again.", cluster->reconnects);
    e.single("natter_cluster_log_entries_total", "counter",
             "Entries of the room's log read and delivered.", cluster->entries);
    e.family("natter_cluster_stream_lag_seconds", "gauge",
             "Age of the newest log entry of the last read when it was delivered (with the "
             "difference of Redis's clock and this host's).");
    e.sample_millis("natter_cluster_stream_lag_seconds", cluster->lag_ms);
    e.single("natter_cluster_gaps_total", "counter",
             "GAP events: log entries dropped before this node read them, or a new epoch.",
             cluster->gaps);
    e.single("natter_cluster_backlog_messages", "gauge",
             "Messages waiting for Redis (what --redis-backlog bounds).", cluster->backlog);
    e.single("natter_cluster_backlog_refusals_total", "counter",
             "Messages refused with 450: the backlog was full while cut off.", cluster->refused);
  }
  return e.take();
}

} // namespace natter::server
