// A progress bar on stderr when it is a terminal; silent otherwise, so logs and pipes
// stay clean.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace mx {

class ProgressBar {
 public:
  ProgressBar(std::string label, uint64_t total, bool bytes = false);
  ~ProgressBar();  // finishes the line if anything was drawn

  void update(uint64_t done);
  void finish();
  static bool stderr_is_terminal();

 private:
  void draw(uint64_t done);
  std::string label_;
  uint64_t total_;
  bool bytes_;
  bool enabled_;
  bool drawn_ = false;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace mx
