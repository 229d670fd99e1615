#include "hub/download_progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "core/format.h"

namespace mx::hub {

DownloadProgress::DownloadProgress(std::string label, uint64_t total, uint64_t start, bool enabled)
    : label_(std::move(label)), total_(std::max<uint64_t>(total, 1)), start_(start),
      enabled_(enabled && ::isatty(STDERR_FILENO) == 1), began_(std::chrono::steady_clock::now()) {}

DownloadProgress::~DownloadProgress() { finish(); }

void DownloadProgress::update(uint64_t done) {
  if (!enabled_ || finished_) return;
  last_done_ = done;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;  // terminals are slow
  last_draw_ = now;
  draw(done);
}

void DownloadProgress::finish() {
  if (!enabled_ || finished_) return;
  if (drawn_) {
    draw(last_done_);  // the final count, not the last one shown
    std::fputc('\n', stderr);
  }
  finished_ = true;
}

void DownloadProgress::draw(uint64_t done) {
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - began_).count();
  const double rate = secs > 0 ? (done - std::min(done, start_)) / secs : 0;
  const double frac = std::min(1.0, static_cast<double>(done) / total_);
  const std::string left = rate > 0 ? format_duration((total_ - std::min(done, total_)) / rate) + " left" : "";
  fmt::print(stderr, "\r{} {:3.0f}% {} / {}  {}/s  {}\033[K", label_, frac * 100, format_bytes(done),
             format_bytes(total_), format_bytes(static_cast<uint64_t>(rate)), left);
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace mx::hub
