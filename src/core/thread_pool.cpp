#include "core/thread_pool.h"

#include <algorithm>
#include <thread>

#if defined(__x86_64__)
#include <immintrin.h>
#define MX_PAUSE() _mm_pause()
#else
#define MX_PAUSE() ((void)0)
#endif

namespace mx {
namespace {
constexpr int kSpinIterations = 1 << 16;  // ~100 µs of polling before sleeping
// Waiting longer than this many polls, a thread yields its core between polls: when more
// threads want to run than there are cores (a busy machine, tests side by side), the one
// being waited for may be queued behind the spinner on the same core.
constexpr int kPollsBeforeYield = 1 << 14;
constexpr int64_t kChunksPerThread = 4;
}

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)) {
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stop_.store(true);
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run(const std::function<void(int, int)>& fn) {
  if (n_threads_ == 1) {
    fn(0, 1);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    job_ = &fn;
    pending_.store(n_threads_ - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  fn(0, n_threads_);
  for (int polls = 0; pending_.load(std::memory_order_acquire) != 0; ++polls) {
    if (polls < kPollsBeforeYield) MX_PAUSE();
    else std::this_thread::yield();
  }
}

void ThreadPool::worker_loop(int ith) {
  uint64_t seen = 0;
  for (;;) {
    int spins = 0;
    while (generation_.load(std::memory_order_acquire) == seen && spins < kSpinIterations) {
      if (spins < kPollsBeforeYield) {
        MX_PAUSE();
        ++spins;
      } else {  // at most 64 yields, then sleep
        std::this_thread::yield();
        spins += kSpinIterations / 64;
      }
    }
    if (generation_.load(std::memory_order_acquire) == seen) {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return generation_.load() != seen; });
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stop_.load()) return;
    (*job_)(ith, n_threads_);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain,
                              const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  if (n_threads_ == 1) return fn(0, n);
  // Threads take chunks from a shared counter instead of fixed shares, so one that starts
  // late or runs slower (a busy core) does not leave the others waiting at the end: a few
  // chunks per thread, each a multiple of the grain.
  const int64_t target = static_cast<int64_t>(n_threads_) * kChunksPerThread;
  const int64_t chunk = ((n + target - 1) / target + grain - 1) / grain * grain;
  if (chunk >= n) return fn(0, n);  // one chunk: waking the others would only cost time
  std::atomic<int64_t> next{0};
  run([&](int, int) {
    for (;;) {
      const int64_t b = next.fetch_add(chunk, std::memory_order_relaxed);
      if (b >= n) return;
      fn(b, std::min(n, b + chunk));
    }
  });
}

}  // namespace mx
