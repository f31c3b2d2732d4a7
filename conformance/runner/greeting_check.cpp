#include "greeting_check.hpp"

#include "checks.hpp"
#include "matcher.hpp"

#include "natter/proto/greeting.hpp"

namespace natter::conform
{

void check_greeting(const std::string& client, std::string_view text)
{
  // The greeting has a bound of its own: a client reads it before it knows
  // the line limit.
  constexpr std::size_t greeting_bound = 256;
  if (text.size() + 2 > greeting_bound)
    throw violation{"N-REPLY-1", client + " received a greeting of " +
                                     std::to_string(text.size() + 2) + " octets, over 256"};
  using status = proto::greeting::status;
  const proto::greeting g = proto::parse_greeting(text);
  switch (g.what)
  {
  case status::ok: return;
  case status::not_greeting:
    throw violation{"N-EXT-1", client + " received a greeting without the version token " +
                                   "natter/N: " + printable(text)};
  case status::bad_advert:
    throw violation{"N-CONN-12", client + " received a greeting whose word '" + printable(g.bad) +
                                     "' has '=' but is no key=value advert: " + printable(text)};
  case status::bad_text:
    throw violation{"N-REPLY-7", client + " received a greeting whose text after the adverts " +
                                     "does not start with a word: " + printable(text)};
  }
}

} // namespace natter::conform
