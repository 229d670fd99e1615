// A progress line on stderr when it is a terminal; silent otherwise, so logs and pipes stay
// clean. A download's line shows its rate and the time left instead of the time spent.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace mx {

struct ProgressOptions {
  bool bytes = false;   // amounts (and the rate) as bytes, "1.50 MiB", instead of counts
  bool rate = false;    // the rate and the time left instead of the time spent
  uint64_t start = 0;   // already done when the bar began (a resumed download): not in the rate
  bool enabled = true;  // false hides it (-q); it is hidden anyway when stderr is not a terminal
  int bar_width = 30;   // 0: no bar (a download's line needs the room for its file name)
};

class ProgressBar {
 public:
  using Clock = std::chrono::steady_clock;

  ProgressBar(std::string label, uint64_t total, bool bytes = false);
  ProgressBar(std::string label, uint64_t total, ProgressOptions options);
  ~ProgressBar();  // finishes the line if anything was drawn
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void update(uint64_t done);
  // Draws the last count given to update() (a failed download does not show 100%) and ends the line.
  void finish();
  bool enabled() const { return enabled_; }

  // The line for `done` after `seconds`, without the carriage return: what update() draws.
  std::string line(uint64_t done, double seconds) const;
  static bool stderr_is_terminal();

 private:
  void draw(uint64_t done);
  std::string label_;
  uint64_t total_;
  ProgressOptions options_;
  bool enabled_;
  bool drawn_ = false;
  bool finished_ = false;
  uint64_t last_done_ = 0;
  Clock::time_point start_, last_draw_;
};

}  // namespace mx
