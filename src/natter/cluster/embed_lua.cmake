# Writes natter.lua into a C++ source file as one raw string (build time).
file(READ ${IN} text)
string(FIND "${text}" ")natter_lua\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "natter.lua contains the raw string's delimiter")
endif()
file(WRITE ${OUT}.tmp "// Generated from natter.lua at build time; not committed.\n#include \"natter/cluster/redis.hpp\"\n\nnamespace natter::cluster\n{\n\nstd::string_view functions_source() noexcept\n{\n  static constexpr std::string_view text = R\"natter_lua(${text})natter_lua\";\n  return text;\n}\n\n} // namespace natter::cluster\n")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
