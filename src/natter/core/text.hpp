// A connection's own output lines, shared: lines every session sends
// unchanged (the greeting, fixed replies, final lines) are built once.
#ifndef NATTER_CORE_TEXT_HPP
#define NATTER_CORE_TEXT_HPP

#include <memory>
#include <string>

namespace natter::core
{

/// One or more complete CRLF-terminated lines of a connection's own output.
using shared_text = std::shared_ptr<const std::string>;

/// Makes a shared_text from a string.
inline shared_text make_text(std::string s)
{
  return std::make_shared<const std::string>(std::move(s));
}

} // namespace natter::core

#endif // NATTER_CORE_TEXT_HPP
