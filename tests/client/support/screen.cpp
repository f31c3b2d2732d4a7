#include "support/screen.hpp"

#include <vterm.h>

namespace natter::test
{
namespace
{

void append_utf8(std::string& out, std::uint32_t c)
{
  if (c < 0x80)
    out += static_cast<char>(c);
  else if (c < 0x800)
  {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
  else if (c < 0x10000)
  {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
  else
  {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

} // namespace

screen::screen(int rows, int cols) : vt_(vterm_new(rows, cols)), rows_(rows), cols_(cols)
{
  vterm_set_utf8(vt_, 1);
  screen_ = vterm_obtain_screen(vt_);
  vterm_screen_reset(screen_, 1);
}

screen::~screen()
{
  vterm_free(vt_);
}

void screen::feed(std::string_view output)
{
  vterm_input_write(vt_, output.data(), output.size());
}

std::string screen::row(int r) const
{
  std::string out;
  for (int col = 0; col < cols_; ++col)
  {
    VTermScreenCell cell{};
    vterm_screen_get_cell(screen_, VTermPos{r, col}, &cell);
    if (cell.chars[0] == static_cast<std::uint32_t>(-1))
      continue; // the right half of a wide character
    if (cell.chars[0] == 0)
    {
      out += ' ';
      continue;
    }
    for (int i = 0; i < VTERM_MAX_CHARS_PER_CELL && cell.chars[i] != 0; ++i)
      append_utf8(out, cell.chars[i]);
  }
  out.erase(out.find_last_not_of(' ') + 1);
  return out;
}

} // namespace natter::test
