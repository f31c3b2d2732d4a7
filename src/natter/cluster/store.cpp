#include "natter/cluster/store.hpp"

#include <charconv>

namespace natter::cluster
{

namespace
{

std::vector<std::string_view> views(const std::vector<std::string>& argv)
{
  return {argv.begin(), argv.end()};
}

std::uint64_t number_of(std::string_view s) noexcept
{
  std::uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// Calls `f(name, value)` for each field of a stream entry [id, [f, v, ...]].
template <typename F>
void for_each_field(const reply& item, F&& f)
{
  const reply fields = item[1];
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2)
    f(fields[i].str(), fields[i + 1].str());
}

log_entry parse_log_entry(const reply& item)
{
  log_entry e;
  e.id = std::string(item[0].str());
  for_each_field(item,
                 [&e](std::string_view name, std::string_view value)
                 {
                   if (name.size() != 1)
                     return; // a field of a later version
                   switch (name[0])
                   {
                   case 'e': e.number = number_of(value); break;
                   case 't': e.type = value.empty() ? '\0' : value[0]; break;
                   case 'n': e.nick = value; break;
                   case 'o': e.old = value; break;
                   case 'x': e.text = value; break;
                   case 'i': e.msg_id = number_of(value); break;
                   case 'm': e.newest = number_of(value); break;
                   case 'd': e.node = value; break;
                   case 'c': e.client = value; break;
                   default: break;
                   }
                 });
  return e;
}

inbox_entry parse_inbox_entry(const reply& item)
{
  inbox_entry e;
  e.id = std::string(item[0].str());
  for_each_field(item,
                 [&e](std::string_view name, std::string_view value)
                 {
                   if (name == "n")
                     e.from = value;
                   else if (name == "x")
                     e.text = value;
                   else if (name == "c")
                     e.client = value;
                 });
  return e;
}

} // namespace

std::string folded(std::string_view nick)
{
  std::string out(nick);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return out;
}

stream_id stream_id::parse(std::string_view id) noexcept
{
  const auto dash = id.find('-');
  stream_id out;
  out.ms = number_of(id.substr(0, dash));
  if (dash != std::string_view::npos)
    out.n = number_of(id.substr(dash + 1));
  return out;
}

std::uint64_t log_entry::millis() const noexcept
{
  return stream_id::parse(id).ms;
}

void store::load_functions(redis& r)
{
  r.command({"FUNCTION", "LOAD", "REPLACE", functions_source()});
}

store::hello_result store::hello(redis& r, std::string_view epoch_if_new) const
{
  const std::string ttl = std::to_string(id_.lease.count());
  const std::string max = std::to_string(id_.log_max);
  const reply a = r.command(
      {"FCALL", "natter_hello", "0", id_.prefix, id_.node, id_.run, ttl, max, epoch_if_new});
  hello_result h;
  const std::string_view st = a[0].str();
  h.status = st == "same"   ? hello_result::kind::same
             : st == "lost" ? hello_result::kind::lost
                            : hello_result::kind::fresh;
  h.epoch = a[1].str();
  h.log_id = a[2].str();
  h.events = static_cast<std::uint64_t>(a[3].integer());
  h.msgs = static_cast<std::uint64_t>(a[4].integer());
  return h;
}

store::beat_result store::beat(redis& r) const
{
  const std::string ttl = std::to_string(id_.lease.count());
  const std::string max = std::to_string(id_.log_max);
  const reply a = r.command({"FCALL", "natter_beat", "0", id_.prefix, id_.node, id_.run, ttl, max});
  beat_result b;
  b.lost = a[0].str() == "lost";
  for (std::size_t i = 1; i < a.size(); ++i)
    b.taken.emplace_back(a[i].str());
  return b;
}

std::vector<std::string> store::base(std::string_view function, std::uint64_t seq) const
{
  return {"FCALL", std::string(function), "0", id_.prefix, id_.node, id_.run, std::to_string(seq)};
}

std::vector<std::string> store::join(std::uint64_t seq, std::string_view client,
                                     std::string_view nick) const
{
  auto argv = base("natter_join", seq);
  argv.insert(argv.end(), {std::string(client), std::string(nick), folded(nick),
                           std::to_string(id_.lease.count()), std::to_string(id_.log_max)});
  return argv;
}

std::vector<std::string> store::rename(std::uint64_t seq, std::string_view client,
                                       std::string_view old_nick, std::string_view nick) const
{
  auto argv = base("natter_rename", seq);
  argv.insert(argv.end(), {std::string(client), folded(old_nick), std::string(nick), folded(nick),
                           std::to_string(id_.lease.count()), std::to_string(id_.log_max)});
  return argv;
}

std::vector<std::string> store::message(std::uint64_t seq, std::string_view client,
                                        std::string_view nick, std::string_view text) const
{
  auto argv = base("natter_msg", seq);
  argv.insert(argv.end(),
              {std::string(client), folded(nick), std::string(text), std::to_string(id_.log_max)});
  return argv;
}

std::vector<std::string> store::quit(std::uint64_t seq, std::string_view client,
                                     std::string_view nick, std::string_view or_nick,
                                     std::string_view reason) const
{
  auto argv = base("natter_quit", seq);
  argv.insert(argv.end(), {std::string(client), folded(nick), folded(or_nick), std::string(reason),
                           std::to_string(id_.log_max)});
  return argv;
}

std::vector<std::string> store::tell(std::uint64_t seq, std::string_view from, std::string_view to,
                                     std::string_view text) const
{
  auto argv = base("natter_tell", seq);
  argv.insert(argv.end(),
              {std::string(from), folded(to), std::string(text), std::to_string(id_.log_max)});
  return argv;
}

outcome store::outcome_of(const reply& r)
{
  if (r.is_error())
    throw redis_error(std::string(r.str()));
  const std::string_view s = r.str();
  if (s == "ok")
    return outcome::ok;
  if (s == "in_use")
    return outcome::in_use;
  if (s == "none")
    return outcome::none;
  if (s == "gone")
    return outcome::gone;
  throw redis_error("unexpected answer from natter's functions: " + std::string(s));
}

outcome store::call(redis& r, const std::vector<std::string>& argv)
{
  const auto v = views(argv);
  r.append(v);
  return outcome_of(r.read());
}

std::pair<std::string, std::string> store::tip(redis& r) const
{
  const reply a = r.command({"FCALL", "natter_tip", "0", id_.prefix, id_.node});
  return {std::string(a[0].str()), std::string(a[1].str())};
}

store::room_view store::room(redis& r) const
{
  const reply a = r.command({"FCALL", "natter_room", "0", id_.prefix});
  room_view v;
  v.log_id = a[0].str();
  v.events = static_cast<std::uint64_t>(a[1].integer());
  v.msgs = static_cast<std::uint64_t>(a[2].integer());
  v.epoch = a[3].str();
  for (std::size_t i = 4; i < a.size(); ++i)
  {
    const std::string_view m = a[i].str();
    const auto s1 = m.find(' ');
    const auto s2 = m.find(' ', s1 + 1);
    if (s1 == std::string_view::npos || s2 == std::string_view::npos)
      continue;
    v.members.push_back({std::string(m.substr(0, s1)), std::string(m.substr(s1 + 1, s2 - s1 - 1)),
                         std::string(m.substr(s2 + 1))});
  }
  return v;
}

read_result store::read(redis& r, std::string_view log_from, std::string_view inbox_from,
                        std::size_t count, std::chrono::milliseconds block) const
{
  const std::string log_key = key("log");
  const std::string inbox_key = key("inbox:" + id_.node);
  const std::string n = std::to_string(count);
  const std::string ms = std::to_string(block.count());
  const reply a =
      block.count() > 0
          ? r.command({"XREAD", "COUNT", n, "BLOCK", ms, "STREAMS", log_key, inbox_key, log_from,
                       inbox_from})
          : r.command({"XREAD", "COUNT", n, "STREAMS", log_key, inbox_key, log_from, inbox_from});
  read_result out;
  for (std::size_t s = 0; s < a.size(); ++s)
  {
    const reply stream = a[s];
    const bool is_log = stream[0].str() == log_key;
    const reply items = stream[1];
    for (std::size_t i = 0; i < items.size(); ++i)
    {
      if (is_log)
        out.log.push_back(parse_log_entry(items[i]));
      else
        out.inbox.push_back(parse_inbox_entry(items[i]));
    }
  }
  return out;
}

std::vector<log_entry> store::tail(redis& r, std::size_t count) const
{
  const reply a = r.command({"XREVRANGE", key("log"), "+", "-", "COUNT", std::to_string(count)});
  std::vector<log_entry> out;
  out.reserve(a.size());
  for (std::size_t i = a.size(); i-- > 0;)
    out.push_back(parse_log_entry(a[i]));
  return out;
}

} // namespace natter::cluster
