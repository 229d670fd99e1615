#include "engine/batch_runner.h"

#include <algorithm>
#include <memory>
#include <new>
#include <unordered_map>
#include <utility>

#include "core/log.h"

namespace mx {

BatchRunner::BatchRunner(const Model& model, KernelTable kernels, int n_threads, int32_t n_seq, int64_t n_ctx,
                         int64_t max_batch, int64_t prefix_cache_tokens, BatchRunnerOptions options)
    : model_(model),
      ctx_(n_threads, std::move(kernels)),
      cache_(model.config, n_ctx, n_seq, PrefixCache::pages_for(prefix_cache_tokens), options.kv_tokens,
             options.cache_types),
      prefix_cache_(prefix_cache_tokens > 0 ? std::make_unique<PrefixCache>(cache_, prefix_cache_tokens) : nullptr),
      scheduler_(model, ctx_, cache_, max_batch, prefix_cache_.get(), std::move(options.forward_hook),
                 std::move(options.make_drafter)) {
  stats_.kv_page_bytes = cache_.page_bytes();
  stats_.kv_types = cache_.types();
  stats_.kv_capacity = std::min(n_ctx * n_seq, KvCache::pool_pages(n_ctx, n_seq, 0, options.kv_tokens) * KvCache::kPageTokens);
  thread_ = std::thread([this] { loop(); });
}

BatchRunner::~BatchRunner() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

Expected<uint64_t> BatchRunner::submit(ScheduledRequest request) {
  if (request.prompt.empty()) return make_error("the prompt is empty");
  const auto n = static_cast<int64_t>(request.prompt.size());
  if (n >= cache_.n_ctx())
    return make_error("the prompt has {} tokens but the context holds {} (with room to generate)", n,
                      cache_.n_ctx());
  uint64_t id;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return make_error("the server is shutting down");
    id = next_id_++;
    inbox_.emplace_back(id, std::move(request));
  }
  wake_.notify_all();
  return id;
}

void BatchRunner::cancel(uint64_t id) {
  {
    std::lock_guard lock(mutex_);
    cancels_.push_back(id);
  }
  wake_.notify_all();
}

void BatchRunner::cancel_all() {
  {
    std::lock_guard lock(mutex_);
    cancel_all_ = true;
  }
  wake_.notify_all();
}

void BatchRunner::embed(std::vector<Token> tokens, EmbedDone done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      embeds_.emplace_back(std::move(tokens), std::move(done));
      done = nullptr;
    }
  }
  if (done) return done(make_error("the server is shutting down"));
  wake_.notify_all();
}

void BatchRunner::run_embeddings(std::deque<std::pair<std::vector<Token>, EmbedDone>>& jobs, bool stopping) {
  for (auto& [tokens, done] : jobs) {
    if (stopping) {
      done(make_error("the server is shutting down"));
      continue;
    }
    Expected<std::vector<float>> out = make_error("out of memory for an embedding of {} tokens", tokens.size());
    try {  // the cache is made on first use, the scratch may grow: either may find no memory
      if (!embed_cache_) embed_cache_ = std::make_unique<KvCache>(model_.config, cache_.n_ctx(), 1, 0, 0, cache_.types());
      out = embed_tokens(model_, ctx_, *embed_cache_, tokens, model_.config.pooling);
    } catch (const std::bad_alloc&) {
      embed_cache_.reset();
    }
    done(std::move(out));
  }
}

BatchRunnerStats BatchRunner::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void BatchRunner::loop() {
  std::unordered_map<uint64_t, uint64_t> scheduled;  // runner id -> scheduler id
  for (;;) {
    std::deque<std::pair<uint64_t, ScheduledRequest>> arrived;
    std::vector<uint64_t> cancels;
    std::deque<std::pair<std::vector<Token>, EmbedDone>> embeds;
    bool stopping, cancel_all;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] {
        return stopping_ || cancel_all_ || !inbox_.empty() || !cancels_.empty() || !embeds_.empty() || !scheduler_.idle();
      });
      arrived.swap(inbox_);
      cancels.swap(cancels_);
      embeds.swap(embeds_);
      stopping = stopping_;
      cancel_all = std::exchange(cancel_all_, false);
    }
    run_embeddings(embeds, stopping);
    for (auto& [id, request] : arrived) {
      if (std::find(cancels.begin(), cancels.end(), id) != cancels.end() || stopping || cancel_all) {
        GenerateStats stats;
        stats.finish = FinishReason::kStopped;
        if (request.on_done) request.on_done(stats);
        continue;
      }
      // The runner's id is forgotten when the request ends, whichever way it does.
      auto on_done = std::make_shared<std::function<void(const GenerateStats&)>>(std::move(request.on_done));
      request.on_done = [&scheduled, runner_id = id, on_done](const GenerateStats& s) {
        scheduled.erase(runner_id);
        if (*on_done) (*on_done)(s);
      };
      if (auto sid = scheduler_.submit(std::move(request))) {
        scheduled[id] = *sid;
      } else {  // submit() checked what the scheduler checks, so this is not expected
        MX_LOG_ERROR("request {} refused: {}", id, sid.error().message);
        GenerateStats stats;
        stats.finish = FinishReason::kStopped;
        if (*on_done) (*on_done)(stats);
      }
    }
    for (const uint64_t id : cancels)
      if (auto it = scheduled.find(id); it != scheduled.end()) scheduler_.cancel(it->second);
    if (stopping || cancel_all)
      for (const auto& [id, sid] : scheduled) scheduler_.cancel(sid);
    if (auto st = scheduler_.step(); !st)  // its requests have ended with the error
      MX_LOG_ERROR("forward pass failed; the requests in its batch end with the error: {}", st.error().message);
    {
      std::lock_guard lock(mutex_);
      stats_.running = scheduler_.running();
      stats_.waiting = scheduler_.waiting();
      stats_.kv_used = 0;
      for (int32_t s = 0; s < cache_.n_seq(); ++s) stats_.kv_used += cache_.length(s);
      stats_.kv_pages = cache_.page_stats();
      stats_.scheduler = scheduler_.stats();
      if (prefix_cache_) stats_.prefix_cache = prefix_cache_->stats();
      if (stopping && scheduler_.idle() && inbox_.empty() && embeds_.empty()) return;
    }
  }
}

}  // namespace mx
