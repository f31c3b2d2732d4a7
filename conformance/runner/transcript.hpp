// What a case sent and received, for its report: the first and the last
// lines of it, so a case that moves thousands of lines still shows how it
// began and how it ended.
#ifndef NATTER_CONFORMANCE_TRANSCRIPT_HPP
#define NATTER_CONFORMANCE_TRANSCRIPT_HPP

#include <cstddef>
#include <deque>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

namespace natter::conform
{

/// The first `keep` lines and the last `keep` lines of a case's traffic.
class transcript
{
public:
  /// Adds one line ("c1> NICK x", "c1 (connected to the chat service)").
  void add(std::string line)
  {
    if (head_.size() < keep)
    {
      head_.push_back(std::move(line));
      return;
    }
    tail_.push_back(std::move(line));
    if (tail_.size() > keep)
    {
      tail_.pop_front();
      ++cut_;
    }
  }

  /// The lines kept, with one between head and tail saying how many were
  /// cut. Called once, when the case is over.
  std::vector<std::string> take()
  {
    std::vector<std::string> out = std::move(head_);
    if (cut_ != 0)
      out.push_back("... (" + std::to_string(cut_) + " lines of the transcript cut)");
    out.insert(out.end(), std::make_move_iterator(tail_.begin()),
               std::make_move_iterator(tail_.end()));
    return out;
  }

private:
  static constexpr std::size_t keep = 200;
  std::vector<std::string> head_;
  std::deque<std::string> tail_;
  std::size_t cut_ = 0;
};

} // namespace natter::conform

#endif // NATTER_CONFORMANCE_TRANSCRIPT_HPP
