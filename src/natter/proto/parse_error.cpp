#include "natter/proto/parse_error.hpp"

#include "natter/proto/reply.hpp"

#include <string>

namespace natter::proto
{

namespace
{

class proto_error_category final : public std::error_category
{
public:
  const char* name() const noexcept override { return "natter.proto"; }

  std::string message(int ev) const override
  {
    switch (static_cast<parse_error>(ev))
    {
    case parse_error::line_too_long: return "line too long";
    case parse_error::invalid_text: return "invalid text: not UTF-8 or a control character";
    case parse_error::unknown_command: return "unknown command";
    case parse_error::missing_argument: return "missing argument";
    case parse_error::invalid_nick: return "invalid nick";
    }
    return "unknown natter.proto error";
  }
};

} // namespace

const std::error_category& proto_category() noexcept
{
  static const proto_error_category category;
  return category;
}

std::error_code make_error_code(parse_error e) noexcept
{
  return {static_cast<int>(e), proto_category()};
}

int reply_code_for(parse_error e) noexcept
{
  switch (e)
  {
  case parse_error::line_too_long: return static_cast<int>(reply_code::line_too_long);
  case parse_error::invalid_text: return static_cast<int>(reply_code::invalid_text);
  case parse_error::unknown_command: return static_cast<int>(reply_code::unknown_command);
  case parse_error::missing_argument: return static_cast<int>(reply_code::bad_argument);
  case parse_error::invalid_nick: return static_cast<int>(reply_code::invalid_nick);
  }
  return static_cast<int>(reply_code::unknown_command);
}

} // namespace natter::proto
