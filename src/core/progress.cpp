#include "core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "core/format.h"

namespace mx {

bool ProgressBar::stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

ProgressBar::ProgressBar(std::string label, uint64_t total, bool bytes)
    : label_(std::move(label)), total_(std::max<uint64_t>(1, total)), bytes_(bytes),
      enabled_(stderr_is_terminal()), start_(std::chrono::steady_clock::now()) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(uint64_t done) {
  if (!enabled_ || finished_) return;
  const auto now = std::chrono::steady_clock::now();
  // Redraw at most 20 times a second; terminals are slow.
  if (drawn_ && done < total_ && now - last_draw_ < std::chrono::milliseconds(50)) return;
  last_draw_ = now;
  draw(done);
}

void ProgressBar::finish() {
  if (!enabled_ || finished_) return;
  if (drawn_) {
    draw(total_);
    std::fputc('\n', stderr);
  }
  finished_ = true;
}

void ProgressBar::draw(uint64_t done) {
  constexpr int kWidth = 30;
  const double frac = std::min(1.0, static_cast<double>(done) / total_);
  const int filled = static_cast<int>(frac * kWidth);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const std::string amount = bytes_ ? fmt::format("{} / {}", format_bytes(done), format_bytes(total_))
                                    : fmt::format("{} / {}", done, total_);
  fmt::print(stderr, "\r{} [{}{}] {:3.0f}% {} {}", label_, std::string(filled, '#'),
             std::string(kWidth - filled, '.'), frac * 100, amount, format_duration(secs));
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace mx
