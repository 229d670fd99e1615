#include "core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "core/format.h"

namespace mx {

bool ProgressBar::stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

ProgressBar::ProgressBar(std::string label, uint64_t total, bool bytes)
    : ProgressBar(std::move(label), total, ProgressOptions{.bytes = bytes}) {}

ProgressBar::ProgressBar(std::string label, uint64_t total, ProgressOptions options)
    : label_(std::move(label)), total_(total), options_(options),
      enabled_(options.enabled && stderr_is_terminal()), last_done_(options.start), start_(Clock::now()) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(uint64_t done) {
  if (!enabled_ || finished_) return;
  last_done_ = done;
  const auto now = Clock::now();
  // Redraw at most 20 times a second (terminals are slow), and at the end.
  if (drawn_ && (total_ == 0 || done < total_) && now - last_draw_ < std::chrono::milliseconds(50)) return;
  last_draw_ = now;
  draw(done);
}

void ProgressBar::finish() {
  if (!enabled_ || finished_) return;
  if (drawn_) {
    draw(last_done_);
    std::fputc('\n', stderr);
  }
  finished_ = true;
}

std::string ProgressBar::line(uint64_t done, double seconds) const {
  auto amount = [this](double v) {
    return options_.bytes ? format_bytes(static_cast<uint64_t>(v)) : fmt::format("{:.0f}", v);
  };
  std::string out = label_;
  if (total_ > 0) {
    const double frac = std::min(1.0, static_cast<double>(done) / static_cast<double>(total_));
    if (options_.bar_width > 0) {
      const int filled = static_cast<int>(frac * options_.bar_width);
      out += fmt::format(" [{}{}]", std::string(filled, '#'), std::string(options_.bar_width - filled, '.'));
    }
    out += fmt::format(" {:3.0f}% {} / {}", frac * 100, amount(done), amount(total_));
  } else {
    out += " " + amount(done);  // a download whose length the server did not say
  }
  if (!options_.rate) return out + " " + format_duration(seconds);
  // Only what this run fetched counts toward the rate; the time left follows from it.
  const uint64_t fetched = done - std::min(done, options_.start);
  const double rate = seconds > 0 ? static_cast<double>(fetched) / seconds : 0;
  out += fmt::format("  {}/s", amount(rate));
  if (rate > 0 && total_ > 0)
    out += "  " + format_duration(static_cast<double>(total_ - std::min(done, total_)) / rate) + " left";
  return out;
}

void ProgressBar::draw(uint64_t done) {
  const double secs = std::chrono::duration<double>(Clock::now() - start_).count();
  // "\033[K" clears what a longer line drawn before left at the end.
  fmt::print(stderr, "\r{}\033[K", line(done, secs));
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace mx
