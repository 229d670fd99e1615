#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
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

TEST(ThreadPool, ChunksShrinkAsTheWorkRunsOut) {
  ThreadPool pool(2);
  std::mutex m;
  std::vector<std::pair<int64_t, int64_t>> chunks;
  pool.parallel_for(64 * 100, 64, [&](int64_t b, int64_t e) {
    std::lock_guard lock(m);
    chunks.emplace_back(b, e);
  });
  std::sort(chunks.begin(), chunks.end());
  ASSERT_GE(chunks.size(), 4u);
  // The first chunk takes a quarter of the work (half of it per thread at two threads),
  // the last ones a single grain.
  EXPECT_EQ(chunks.front().second - chunks.front().first, 64 * 25);
  EXPECT_EQ(chunks.back().second - chunks.back().first, 64);
  for (size_t i = 1; i < chunks.size(); ++i) {
    EXPECT_EQ(chunks[i].first, chunks[i - 1].second);
    EXPECT_LE(chunks[i].second - chunks[i].first, chunks[i - 1].second - chunks[i - 1].first);
  }
}

TEST(ThreadPool, TimesJobsOnlyWhenAsked) {
  ThreadPool pool(2);
  const auto work = [](int, int) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2);
    while (std::chrono::steady_clock::now() < until) {
    }
  };
  pool.run(work);
  EXPECT_EQ(pool.times().jobs, 0);
  EXPECT_EQ(pool.times().busy_ns, 0);
  pool.set_timing(true);
  for (int i = 0; i < 3; ++i) pool.run(work);
  const ThreadPool::Times t = pool.times();
  EXPECT_EQ(t.jobs, 3);
  EXPECT_GE(t.busy_ns, 2 * 3 * 2'000'000);  // two threads, three jobs, 2 ms each at least
  EXPECT_LE(t.busy_ns, 2 * t.span_ns);
  pool.reset_times();
  EXPECT_EQ(pool.times().jobs, 0);
  EXPECT_EQ(pool.times().busy_ns, 0);
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
