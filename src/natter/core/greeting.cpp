#include "natter/core/greeting.hpp"

#include "natter/proto/greeting.hpp"
#include "natter/proto/limits.hpp"
#include "natter/proto/reply.hpp"

#include <array>
#include <charconv>

namespace natter::core
{

namespace
{

void append_advert(std::string& out, std::string_view key, std::string_view value)
{
  out += ' ';
  out += key;
  out += '=';
  out += value;
}

} // namespace

std::string advert_seconds(std::chrono::milliseconds d)
{
  std::string out = std::to_string(d.count() / 1000);
  if (int ms = static_cast<int>(d.count() % 1000); ms != 0)
  {
    std::array<char, 3> digits{};
    for (int k = 2; k >= 0; --k, ms /= 10)
      digits[static_cast<std::size_t>(k)] = static_cast<char>('0' + ms % 10);
    std::size_t n = digits.size();
    while (digits[n - 1] == '0')
      --n;
    out += '.';
    out.append(digits.data(), n);
  }
  return out;
}

std::string advert_decimal(double v)
{
  // Fixed notation without a precision is the shortest that reads back as
  // v; natterd's largest rate, 1e9, takes ten digits.
  std::array<char, 400> buf{};
  const auto [end, ec] =
      std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::fixed);
  return ec == std::errc{} ? std::string(buf.data(), end) : std::string("0");
}

std::string greeting_line(const config& cfg)
{
  namespace key = proto::advert_key;
  // The version token and the text are the table's ("natter/1 ready"),
  // with the adverts between them.
  const std::string_view table = proto::reply_text(proto::reply_code::greeting);
  const std::size_t sp = table.find(' ');
  std::string text(table.substr(0, sp));
  append_advert(text, key::line, std::to_string(cfg.max_line));
  append_advert(text, key::nick, std::to_string(proto::max_nick_length));
  append_advert(text, key::rate, advert_decimal(cfg.rate > 0 ? cfg.rate : 0));
  append_advert(text, key::burst, advert_decimal(cfg.burst));
  append_advert(text, key::sendq, std::to_string(cfg.max_sendq));
  append_advert(text, key::reg, advert_seconds(cfg.registration_timeout));
  append_advert(text, key::idle, advert_seconds(cfg.idle_timeout));
  // natterd offers HISTORY, IDS and TELL (N-CONN-17).
  append_advert(text, key::history, std::to_string(cfg.history));
  append_advert(text, key::tell, "1");
  if (sp != std::string_view::npos)
    text.append(table.substr(sp));
  std::string out;
  proto::append_reply(out, proto::reply_code::greeting, text);
  return out;
}

} // namespace natter::core
