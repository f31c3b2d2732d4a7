#include "natter/core/close_reason.hpp"

#include "natter/proto/reply.hpp"

#include <array>
#include <optional>

namespace natter::core
{

namespace
{

using proto::reply_code;

struct row
{
  close_reason reason;
  std::optional<reply_code> final_reply;
  bool discard;
  std::string_view text;
};

// One row per reason, in the enum's order.
constexpr std::array<row, 11> table{{
    {close_reason::none, std::nullopt, false, ""},
    {close_reason::quit, reply_code::closing, false, "quit"},
    {close_reason::peer_closed, std::nullopt, false, "connection closed"},
    {close_reason::failed, std::nullopt, true, "connection closed"},
    {close_reason::wrong_protocol, reply_code::wrong_protocol, false, "wrong protocol"},
    {close_reason::registration_timeout, reply_code::registration_timeout, false,
     "registration timeout"},
    {close_reason::idle_timeout, reply_code::idle_timeout, false, "idle timeout"},
    {close_reason::sendq_exceeded, reply_code::sendq_exceeded, true, "send queue exceeded"},
    {close_reason::shutting_down, reply_code::shutting_down, false, "shutting down"},
    {close_reason::flush_deadline, std::nullopt, true, "flush deadline passed"},
    {close_reason::nick_lost, reply_code::nick_lost, false, "nick lost"},
}};

constexpr bool in_enum_order()
{
  for (std::size_t i = 0; i < table.size(); ++i)
    if (static_cast<std::size_t>(table[i].reason) != i)
      return false;
  return true;
}
static_assert(in_enum_order(), "one row per close_reason, in order");

const row& row_of(close_reason r) noexcept
{
  return table[static_cast<std::size_t>(r)];
}

} // namespace

const shared_text& final_line(close_reason r)
{
  static const std::array<shared_text, table.size()> lines = []
  {
    std::array<shared_text, table.size()> out;
    for (std::size_t i = 0; i < table.size(); ++i)
      if (table[i].final_reply)
      {
        std::string s;
        proto::append_reply(s, *table[i].final_reply, proto::reply_text(*table[i].final_reply));
        out[i] = make_text(std::move(s));
      }
    return out;
  }();
  return lines[static_cast<std::size_t>(r)];
}

std::optional<reply_code> final_reply(close_reason r) noexcept
{
  return row_of(r).final_reply;
}

bool discards_output(close_reason r) noexcept
{
  return row_of(r).discard;
}

std::string_view describe(close_reason r) noexcept
{
  return row_of(r).text;
}

} // namespace natter::core
