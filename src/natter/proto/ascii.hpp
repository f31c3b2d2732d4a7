// ASCII case folding: verbs and nicks compare ignoring ASCII case, and only
// ASCII case (spec/natter.md sections 7.1 and 7.2); octets outside A-Z,
// UTF-8 included, are left as they are.
#ifndef NATTER_PROTO_ASCII_HPP
#define NATTER_PROTO_ASCII_HPP

namespace natter::proto
{

/// `c` with A-Z mapped to a-z.
constexpr char ascii_lower(char c) noexcept
{
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

} // namespace natter::proto

#endif // NATTER_PROTO_ASCII_HPP
