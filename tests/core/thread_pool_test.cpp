#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <numeric>
#include <vector>

namespace mx {
namespace {

TEST(ThreadPool, RunsEveryThreadOncePerJob) {
  for (int n : {1, 2, 3, 8}) {
    ThreadPool pool(n);
    for (int job = 0; job < 200; ++job) {
      std::vector<std::atomic<int>> hits(n);
      pool.run([&](int ith, int nth) {
        EXPECT_EQ(nth, n);
        hits[ith].fetch_add(1);
      });
      for (auto& h : hits) EXPECT_EQ(h.load(), 1);
    }
  }
}

TEST(ThreadPool, ParallelForCoversRangeExactlyOnceInGrains) {
  ThreadPool pool(3);
  for (int64_t n : {0, 1, 15, 16, 17, 100, 1000}) {
    std::vector<int> seen(n, 0);
    pool.parallel_for(n, 16, [&](int64_t b, int64_t e) {
      EXPECT_EQ(b % 16, 0);
      EXPECT_TRUE(e == n || e % 16 == 0);
      for (int64_t i = b; i < e; ++i) seen[i]++;
    });
    for (int v : seen) EXPECT_EQ(v, 1);
  }
}

TEST(ThreadPool, SurvivesIdlePeriodsBetweenJobs) {
  ThreadPool pool(2);
  std::atomic<int> total{0};
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));  // workers go to sleep
    pool.run([&](int, int) { total.fetch_add(1); });
  }
  EXPECT_EQ(total.load(), 6);
}

}  // namespace
}  // namespace mx
