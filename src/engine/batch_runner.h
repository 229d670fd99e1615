// The scheduler on a thread of its own, for callers on other threads (the HTTP server):
// submit and cancel from anywhere; the runner steps the scheduler whenever it has work
// and sleeps when it has none. Request callbacks run on the runner's thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/embedding.h"
#include "engine/scheduler.h"

namespace mx {

struct BatchRunnerStats {
  size_t running = 0, waiting = 0;
  int64_t kv_used = 0, kv_capacity = 0;  // positions held in the KV cache / all slots' room
  KvPageStats kv_pages;                   // the pages behind them (shared prefixes count once)
  int64_t kv_page_bytes = 0;              // one page in every layer, keys and values
  KvCacheTypes kv_types;
  SchedulerStats scheduler;
  PrefixCacheStats prefix_cache;
};

// What few runners change.
struct BatchRunnerOptions {
  // Positions the sequences' KV cache holds in all (0: n_seq × n_ctx, so none ever waits for
  // room). Less lets many sequences share less memory: requests then wait for pages, and a
  // sequence that finds none ends as FinishReason::kContextFull (Scheduler).
  int64_t kv_tokens = 0;
  ForwardHook forward_hook = nullptr;  // wraps every forward pass (tests make steps fail); null: none
  KvCacheTypes cache_types;            // must fit the model (check_kv_cache_types)
  DrafterFactory make_drafter = nullptr;  // speculative decoding (Scheduler); null: none
};

class BatchRunner {
 public:
  // `n_seq` sequences of up to `n_ctx` tokens each run together; `prefix_cache_tokens`
  // positions of computed prompt prefixes are kept for reuse (0: none).
  BatchRunner(const Model& model, KernelTable kernels, int n_threads, int32_t n_seq, int64_t n_ctx,
              int64_t max_batch = kMaxBatch, int64_t prefix_cache_tokens = 0, BatchRunnerOptions options = {});
  ~BatchRunner();  // cancels what is left and joins the thread

  // Queues a request (an error if it can never run); callbacks and on_done will follow
  // on the runner's thread.
  Expected<uint64_t> submit(ScheduledRequest request);
  void cancel(uint64_t id);
  // Ends every request, running or waiting (a server shutting down).
  void cancel_all();
  // Queues an embedding of `tokens` (pooled as the model says); `done` follows on the
  // runner's thread, between two scheduler steps, with the vector or an error.
  using EmbedDone = std::function<void(Expected<std::vector<float>>)>;
  void embed(std::vector<Token> tokens, EmbedDone done);
  BatchRunnerStats stats() const;
  int64_t n_ctx() const { return cache_.n_ctx(); }
  size_t kv_bytes() const { return cache_.bytes(); }  // the KV cache's memory (a server's budget counts it)
  int64_t kv_page_bytes() const { return cache_.page_bytes(); }
  const KvCacheTypes& kv_cache_types() const { return cache_.types(); }

 private:
  void loop();
  void run_embeddings(std::deque<std::pair<std::vector<Token>, EmbedDone>>& jobs, bool stopping);

  const Model& model_;
  ExecContext ctx_;
  KvCache cache_;
  std::unique_ptr<PrefixCache> prefix_cache_;  // before scheduler_, which points to it
  Scheduler scheduler_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::pair<uint64_t, ScheduledRequest>> inbox_;
  std::vector<uint64_t> cancels_;
  bool cancel_all_ = false;
  std::deque<std::pair<std::vector<Token>, EmbedDone>> embeds_;
  std::unique_ptr<KvCache> embed_cache_;  // made on first use: one sequence of n_ctx
  uint64_t next_id_ = 1;
  bool stopping_ = false;
  BatchRunnerStats stats_;  // refreshed after each step
  std::thread thread_;
};

}  // namespace mx
