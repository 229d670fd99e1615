// A small pool of compute threads owned by the engine. Kernels split work across it.
// Workers spin briefly between jobs (a job every few microseconds during a forward
// pass) and then sleep, so an idle server costs no CPU.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace mx {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Runs fn(ith, nth) on every thread (the caller is thread 0); returns when all are done.
  void run(const std::function<void(int ith, int nth)>& fn);

  // Splits [0, n) into contiguous chunks, each a multiple of `grain`, that shrink as the
  // work runs out; runs on the calling thread alone when [0, n) is a single grain.
  void parallel_for(int64_t n, int64_t grain,
                    const std::function<void(int64_t begin, int64_t end)>& fn);

  // Where the threads' time went across jobs, while timing is on (off by default: it reads
  // the clock twice per thread and job). Thread-time inside jobs is `span_ns * size()`; of
  // it, `busy_ns` computed and the rest waited for a job to reach it or for its slowest thread.
  struct Times {
    int64_t jobs = 0;
    int64_t span_ns = 0;  // from each job's start on the calling thread to its end on all
    int64_t busy_ns = 0;  // every thread's time inside the job's function, summed
  };
  void set_timing(bool on) { timing_ = on; }
  Times times() const;
  void reset_times();

 private:
  void worker_loop(int ith);
  void run_on_all(const std::function<void(int, int)>& fn);
  void run_job(int ith, int nth);

  // Per thread, on its own cache line: written only by that thread inside a job.
  struct alignas(64) Busy {
    int64_t ns = 0;
  };

  int n_threads_;
  std::vector<std::thread> workers_;
  const std::function<void(int, int)>* job_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool timing_ = false;  // read by workers only inside a job, set between jobs
  std::vector<Busy> busy_;
  Times times_;
};

}  // namespace mx
