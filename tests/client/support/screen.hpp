// What a terminal shows: the output of a program on a pseudo-terminal,
// fed to libvterm, read back as rows of text. Tests then assert on the
// screen a person sees, not on the escape sequences that drew it.
#ifndef NATTER_TESTS_CLIENT_SUPPORT_SCREEN_HPP
#define NATTER_TESTS_CLIENT_SUPPORT_SCREEN_HPP

#include <string>
#include <string_view>

struct VTerm;
struct VTermScreen;

namespace natter::test
{

/// A terminal emulator of a fixed size (libvterm, UTF-8).
class screen
{
public:
  screen(int rows, int cols);
  screen(const screen&) = delete;
  screen& operator=(const screen&) = delete;
  ~screen();

  /// Interprets `output` as a terminal would.
  void feed(std::string_view output);

  /// Row `r` (0 at the top) as UTF-8: a wide character once, an empty cell
  /// as a space, combining characters after their base, trailing spaces
  /// removed.
  std::string row(int r) const;

  int rows() const noexcept { return rows_; }

private:
  VTerm* vt_;
  VTermScreen* screen_;
  int rows_;
  int cols_;
};

} // namespace natter::test

#endif // NATTER_TESTS_CLIENT_SUPPORT_SCREEN_HPP
