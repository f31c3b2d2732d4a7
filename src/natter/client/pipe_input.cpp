#include "natter/client/pipe_input.hpp"

#include <asio/error.hpp>

#include <unistd.h>

namespace natter::client
{

pipe_input::pipe_input(asio::io_context& io, int fd, line_handler on_line, end_handler on_end)
    : input_(io, ::dup(fd)), on_line_(std::move(on_line)), on_end_(std::move(on_end))
{
}

void pipe_input::stop()
{
  stopped_ = true;
  std::error_code ignored;
  input_.close(ignored);
}

// A line longer than any the server accepts is kept only up to a bound, so
// endless input without LF cannot exhaust memory; the conversation then
// refuses it as too long.
void pipe_input::hold(std::string_view part)
{
  const std::size_t room = max_held > partial_.size() ? max_held - partial_.size() : 0;
  partial_.append(part.substr(0, room));
}

void pipe_input::resume()
{
  paused_ = false;
  if (idle_ && !stopped_)
  {
    idle_ = false;
    do_read();
  }
}

void pipe_input::do_read()
{
  input_.async_read_some(asio::buffer(buffer_),
                         [this](std::error_code ec, std::size_t n)
                         {
                           if (stopped_)
                             return;
                           std::string_view data(buffer_.data(), n);
                           while (!data.empty())
                           {
                             const std::size_t lf = data.find('\n');
                             if (lf == std::string_view::npos)
                             {
                               hold(data);
                               break;
                             }
                             hold(data.substr(0, lf));
                             data.remove_prefix(lf + 1);
                             if (!partial_.empty() && partial_.back() == '\r')
                               partial_.pop_back();
                             const std::string line = std::move(partial_);
                             partial_.clear();
                             on_line_(line);
                             if (stopped_)
                               return;
                           }
                           if (ec)
                           {
                             // EOF (or an error, which ends input just the same); a last line
                             // without LF still counts.
                             if (!partial_.empty())
                             {
                               const std::string line = std::move(partial_);
                               partial_.clear();
                               on_line_(line);
                               if (stopped_)
                                 return;
                             }
                             stopped_ = true;
                             on_end_();
                             return;
                           }
                           if (paused_)
                             idle_ = true;
                           else
                             do_read();
                         });
}

} // namespace natter::client
