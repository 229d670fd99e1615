// One line per file being downloaded: bytes, rate and time left, redrawn in place on a
// terminal; nothing when stderr is not one (logs and pipes stay clean).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace mx::hub {

class DownloadProgress {
 public:
  // `start` bytes were already on disk (a resumed download): the rate counts only new ones.
  DownloadProgress(std::string label, uint64_t total, uint64_t start, bool enabled);
  ~DownloadProgress();
  void update(uint64_t done);
  void finish();

 private:
  void draw(uint64_t done);
  std::string label_;
  uint64_t total_, start_, last_done_ = 0;
  bool enabled_, drawn_ = false, finished_ = false;
  std::chrono::steady_clock::time_point began_, last_draw_;
};

}  // namespace mx::hub
