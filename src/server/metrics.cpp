#include "server/metrics.h"

#include <fmt/format.h>

namespace mx::server {

void Histogram::observe(double seconds) {
  for (size_t i = 0; i < kBounds.size(); ++i)
    if (seconds <= kBounds[i]) ++buckets_[i];
  ++count_;
  sum_ += seconds;
}

std::string Histogram::prometheus(const std::string& name) const {
  std::string out;
  for (size_t i = 0; i < kBounds.size(); ++i) out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, kBounds[i], buckets_[i]);
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, count_, name, sum_, name, count_);
  return out;
}

void Metrics::request_started(const std::string& route) {
  std::lock_guard lock(mutex_);
  (route == "chat" ? chat_requests_ : route == "embeddings" ? embedding_requests_ : completion_requests_)++;
}

void Metrics::request_failed(int) {
  std::lock_guard lock(mutex_);
  ++failed_requests_;
}

void Metrics::request_finished(const GenerateStats& s) {
  std::lock_guard lock(mutex_);
  ++finished_requests_;
  prompt_tokens_ += static_cast<uint64_t>(s.n_prompt);
  generated_tokens_ += static_cast<uint64_t>(s.n_generated);
  if (s.n_generated > 0) time_to_first_token_.observe(s.prompt_seconds);
  if (s.n_generated > 1) inter_token_latency_.observe(s.gen_seconds / static_cast<double>(s.n_generated - 1));
}

void Metrics::request_cancelled() {
  std::lock_guard lock(mutex_);
  ++cancelled_requests_;
}

std::string Metrics::prometheus(const BatchRunnerStats& r) const {
  std::lock_guard lock(mutex_);
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, const std::string& lines) {
    out += fmt::format("# HELP moxing_{} {}\n# TYPE moxing_{} {}\n{}", name, help, name, type, lines);
  };
  metric("requests_total", "counter", "Requests received, by route.",
         fmt::format("moxing_requests_total{{route=\"chat\"}} {}\nmoxing_requests_total{{route=\"completions\"}} {}\n"
                     "moxing_requests_total{{route=\"embeddings\"}} {}\n",
                     chat_requests_, completion_requests_, embedding_requests_));
  metric("requests_failed_total", "counter", "Requests answered with an error.",
         fmt::format("moxing_requests_failed_total {}\n", failed_requests_));
  metric("requests_finished_total", "counter", "Requests whose generation ended.",
         fmt::format("moxing_requests_finished_total {}\n", finished_requests_));
  metric("requests_cancelled_total", "counter", "Choices cancelled because the client went away mid-stream.",
         fmt::format("moxing_requests_cancelled_total {}\n", cancelled_requests_));
  metric("prompt_tokens_total", "counter", "Prompt tokens processed.", fmt::format("moxing_prompt_tokens_total {}\n", prompt_tokens_));
  metric("generated_tokens_total", "counter", "Tokens generated.",
         fmt::format("moxing_generated_tokens_total {}\n", generated_tokens_));
  metric("queue_length", "gauge", "Requests waiting for a sequence slot.", fmt::format("moxing_queue_length {}\n", r.waiting));
  metric("active_sequences", "gauge", "Sequences being generated.", fmt::format("moxing_active_sequences {}\n", r.running));
  metric("kv_cache_used_ratio", "gauge", "Share of the KV cache's positions in use.",
         fmt::format("moxing_kv_cache_used_ratio {}\n",
                     r.kv_capacity > 0 ? static_cast<double>(r.kv_used) / static_cast<double>(r.kv_capacity) : 0.0));
  metric("kv_cache_used_tokens", "gauge", "KV cache positions in use.", fmt::format("moxing_kv_cache_used_tokens {}\n", r.kv_used));
  metric("kv_cache_pages", "gauge",
         "KV cache pages (32 positions each) held by sequences or the prefix cache, held more than once, and in all.",
         fmt::format("moxing_kv_cache_pages{{state=\"used\"}} {}\nmoxing_kv_cache_pages{{state=\"shared\"}} {}\n"
                     "moxing_kv_cache_pages{{state=\"total\"}} {}\n",
                     r.kv_pages.used, r.kv_pages.shared, r.kv_pages.total));
  const PrefixCacheStats& pc = r.prefix_cache;
  metric("prefix_cache_hit_ratio", "gauge", "Share of prompt tokens restored from the prefix cache instead of computed.",
         fmt::format("moxing_prefix_cache_hit_ratio {}\n",
                     pc.lookup_tokens > 0 ? static_cast<double>(pc.hit_tokens) / static_cast<double>(pc.lookup_tokens) : 0.0));
  metric("prefix_cache_hit_tokens_total", "counter", "Prompt tokens restored from the prefix cache.",
         fmt::format("moxing_prefix_cache_hit_tokens_total {}\n", pc.hit_tokens));
  metric("prefix_cache_blocks", "gauge", "Prefix cache blocks in use, and its capacity.",
         fmt::format("moxing_prefix_cache_blocks{{state=\"used\"}} {}\nmoxing_prefix_cache_blocks{{state=\"capacity\"}} {}\n",
                     pc.blocks_used, pc.capacity_blocks));
  metric("batch_steps_total", "counter", "Forward batches run.", fmt::format("moxing_batch_steps_total {}\n", r.scheduler.steps));
  metric("time_to_first_token_seconds", "histogram", "From arrival to the first generated token.",
         time_to_first_token_.prometheus("moxing_time_to_first_token_seconds"));
  metric("inter_token_latency_seconds", "histogram", "Mean time between generated tokens, per request.",
         inter_token_latency_.prometheus("moxing_inter_token_latency_seconds"));
  return out;
}

}  // namespace mx::server
