// The netkit telnet captures in tests/proto/data/ (README.md there): the
// octets netkit telnet sent for a typed line, and the line it stands for
// (spec/natter.md section 6.4).
#ifndef NATTER_TESTS_SUPPORT_NETKIT_CAPTURES_HPP
#define NATTER_TESTS_SUPPORT_NETKIT_CAPTURES_HPP

#include <array>
#include <fstream>
#include <iterator>
#include <string>

namespace natter::test
{

/// One capture: its file, the line typed, and the IAC DO TIMING-MARKs in it.
struct netkit_capture
{
  const char* file;
  const char* typed;
  int timing_marks;
};

/// "With these rules the three lines above arrive as `MSG héllo ✓`,
/// `MSG héllo ✓ 😃` and `MSG ÃÏÚÜ end`, and are relayed intact." The third
/// capture is that line before the spec shortened it.
inline constexpr std::array<netkit_capture, 3> netkit_captures{{
    {"netkit-telnet-check-mark.bin", "MSG héllo ✓", 1},
    {"netkit-telnet-8bit-check-mark-emoji.bin", "MSG héllo ✓ 😃", 2},
    {"netkit-telnet-latin1-row.bin", "MSG ÀÃÄÈÏÑÒÓÔÕÖ×ÚÜß end", 4},
}};

/// The octets of a capture file, as sent.
inline std::string read_capture(const netkit_capture& c)
{
  std::ifstream in(std::string(NATTER_SOURCE_DIR "/tests/proto/data/") + c.file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

} // namespace natter::test

#endif // NATTER_TESTS_SUPPORT_NETKIT_CAPTURES_HPP
