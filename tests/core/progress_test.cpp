// The progress line as drawn, from explicit counts and times (no clock, no terminal needed).
#include "core/progress.h"

#include <gtest/gtest.h>

namespace mx {
namespace {

constexpr uint64_t kMiB = 1 << 20;

TEST(ProgressBar, CountsWithABarAndTheTimeSpent) {
  ProgressBar bar("perplexity", 200);
  EXPECT_EQ(bar.line(50, 3.5), "perplexity [#######.......................]  25% 50 / 200 3.5 s");
  EXPECT_EQ(bar.line(200, 75), "perplexity [##############################] 100% 200 / 200 1m 15s");
  EXPECT_EQ(bar.line(300, 1), "perplexity [##############################] 100% 300 / 200 1.0 s") << "never past full";
}

TEST(ProgressBar, ADownloadShowsItsRateAndTheTimeLeft) {
  ProgressBar bar("model.gguf", 100 * kMiB, ProgressOptions{.bytes = true, .rate = true, .bar_width = 0});
  // 40 MiB in 4 s: 10 MiB/s, and 60 MiB left take 6 s.
  EXPECT_EQ(bar.line(40 * kMiB, 4), "model.gguf  40% 40.00 MiB / 100.00 MiB  10.00 MiB/s  6.0 s left");
  EXPECT_EQ(bar.line(0, 0), "model.gguf   0% 0 B / 100.00 MiB  0 B/s") << "no rate yet: no time left";
  EXPECT_EQ(bar.line(100 * kMiB, 10), "model.gguf 100% 100.00 MiB / 100.00 MiB  10.00 MiB/s  0 ms left");
}

TEST(ProgressBar, AResumedDownloadCountsOnlyTheNewBytesInItsRate) {
  ProgressBar bar("model.gguf", 100 * kMiB,
                  ProgressOptions{.bytes = true, .rate = true, .start = 80 * kMiB, .bar_width = 0});
  // 10 MiB fetched in 2 s (the 80 MiB on disk are not): 5 MiB/s, 10 MiB left take 2 s.
  EXPECT_EQ(bar.line(90 * kMiB, 2), "model.gguf  90% 90.00 MiB / 100.00 MiB  5.00 MiB/s  2.0 s left");
}

TEST(ProgressBar, AnUnknownLengthShowsTheBytesAndTheRateOnly) {
  ProgressBar bar("file.gguf", 0, ProgressOptions{.bytes = true, .rate = true, .bar_width = 0});
  EXPECT_EQ(bar.line(3 * kMiB, 2), "file.gguf 3.00 MiB  1.50 MiB/s");
}

TEST(ProgressBar, DisabledItIsHiddenAndEnabledOnlyOnATerminal) {
  EXPECT_FALSE(ProgressBar("x", 10, ProgressOptions{.enabled = false}).enabled());
  EXPECT_EQ(ProgressBar("x", 10).enabled(), ProgressBar::stderr_is_terminal());
}

}  // namespace
}  // namespace mx
