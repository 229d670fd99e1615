#include "core/thread_pool.h"

#include <algorithm>
#include <chrono>
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
// A chunk is at most this share of the work left per thread: large while much is left (long
// sequential weight streams), down to a grain at the end, so threads finish together.
constexpr int64_t kShareOfRemaining = 2;
int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)), busy_(n_threads_) {
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

ThreadPool::Times ThreadPool::times() const {
  Times t = times_;
  for (const Busy& b : busy_) t.busy_ns += b.ns;
  return t;
}

void ThreadPool::reset_times() {
  times_ = {};
  for (Busy& b : busy_) b.ns = 0;
}

void ThreadPool::run_job(int ith, int nth) {
  if (!timing_) return (*job_)(ith, nth);
  const int64_t t0 = now_ns();
  (*job_)(ith, nth);
  busy_[ith].ns += now_ns() - t0;
}

void ThreadPool::run(const std::function<void(int, int)>& fn) {
  const int64_t start = timing_ ? now_ns() : 0;
  if (n_threads_ == 1) {
    job_ = &fn;
    run_job(0, 1);
  } else {
    run_on_all(fn);
  }
  if (timing_) {
    ++times_.jobs;
    times_.span_ns += now_ns() - start;
  }
}

void ThreadPool::run_on_all(const std::function<void(int, int)>& fn) {
  {
    std::lock_guard lock(mutex_);
    job_ = &fn;
    pending_.store(n_threads_ - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  run_job(0, n_threads_);
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
    run_job(ith, n_threads_);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain,
                              const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  if (n_threads_ == 1 || n <= grain) {  // one chunk: waking the others would only cost time
    if (!timing_) return fn(0, n);
    return run([&](int, int) { fn(0, n); });
  }
  // Threads take chunks from a shared counter instead of fixed shares, so one that starts
  // late or runs slower (a busy core) does not leave the others waiting. Chunks shrink with
  // the work left (guided scheduling): equal chunks left one thread alone on its last one
  // for up to a chunk's time, reading memory at half the rate two threads do.
  const int64_t divisor = static_cast<int64_t>(n_threads_) * kShareOfRemaining;
  std::atomic<int64_t> next{0};
  run([&](int, int) {
    int64_t b = next.load(std::memory_order_relaxed);
    for (;;) {
      if (b >= n) return;
      const int64_t share = ((n - b + divisor - 1) / divisor + grain - 1) / grain * grain;
      const int64_t e = std::min(n, b + share);
      if (!next.compare_exchange_weak(b, e, std::memory_order_relaxed)) continue;  // b reloaded
      fn(b, e);
      b = next.load(std::memory_order_relaxed);
    }
  });
}

}  // namespace mx
