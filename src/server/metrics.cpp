#include "server/metrics.h"

#include <fmt/format.h>

#include "model/kv_cache.h"

namespace mx::server {

void Histogram::observe(double seconds) {
  for (size_t i = 0; i < kBounds.size(); ++i)
    if (seconds <= kBounds[i]) ++buckets_[i];
  ++count_;
  sum_ += seconds;
}

std::string Histogram::prometheus(const std::string& name, const std::string& labels) const {
  const std::string first = labels.empty() ? "" : labels + ",";
  const std::string alone = labels.empty() ? "" : "{" + labels + "}";
  std::string out;
  for (size_t i = 0; i < kBounds.size(); ++i)
    out += fmt::format("{}_bucket{{{}le=\"{}\"}} {}\n", name, first, kBounds[i], buckets_[i]);
  out += fmt::format("{}_bucket{{{}le=\"+Inf\"}} {}\n{}_sum{} {}\n{}_count{} {}\n", name, first, count_, name, alone, sum_,
                     name, alone, count_);
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

std::string Metrics::prometheus(const std::vector<ModelSeries>& models) const {
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, const std::string& lines) {
    out += fmt::format("# HELP moxing_{} {}\n# TYPE moxing_{} {}\n{}", name, help, name, type, lines);
  };
  {
    std::lock_guard lock(mutex_);
    metric("requests_total", "counter", "Requests received, by route.",
           fmt::format("moxing_requests_total{{route=\"chat\"}} {}\nmoxing_requests_total{{route=\"completions\"}} {}\n"
                       "moxing_requests_total{{route=\"embeddings\"}} {}\n",
                       chat_requests_, completion_requests_, embedding_requests_));
    metric("requests_failed_total", "counter", "Requests answered with an error.",
           fmt::format("moxing_requests_failed_total {}\n", failed_requests_));
  }
  // Each model's copy of its counters, read under its own lock.
  struct Snapshot {
    std::string label;  // "model=\"id\"" or ""
    uint64_t finished, cancelled, prompt_tokens, generated_tokens;
    Histogram ttft, itl;
    BatchRunnerStats r;
    bool loaded;
  };
  std::vector<Snapshot> snaps;
  for (const ModelSeries& m : models) {
    std::lock_guard lock(m.metrics->mutex_);
    snaps.push_back({m.model.empty() ? "" : fmt::format("model=\"{}\"", m.model), m.metrics->finished_requests_,
                     m.metrics->cancelled_requests_, m.metrics->prompt_tokens_, m.metrics->generated_tokens_,
                     m.metrics->time_to_first_token_, m.metrics->inter_token_latency_, m.runner, m.loaded});
  }
  // One line per model: NAME{labels} value, the model's label first.
  auto lines = [&](const std::string& name, auto value, const std::string& extra = "") {
    std::string text;
    for (const Snapshot& s : snaps) {
      const std::string labels = s.label.empty() ? extra : extra.empty() ? s.label : s.label + "," + extra;
      text += fmt::format("moxing_{}{} {}\n", name, labels.empty() ? "" : "{" + labels + "}", value(s));
    }
    return text;
  };
  metric("requests_finished_total", "counter", "Requests whose generation ended.",
         lines("requests_finished_total", [](const Snapshot& s) { return s.finished; }));
  metric("requests_cancelled_total", "counter", "Choices cancelled because the client went away mid-stream.",
         lines("requests_cancelled_total", [](const Snapshot& s) { return s.cancelled; }));
  metric("prompt_tokens_total", "counter", "Prompt tokens processed.",
         lines("prompt_tokens_total", [](const Snapshot& s) { return s.prompt_tokens; }));
  metric("generated_tokens_total", "counter", "Tokens generated.",
         lines("generated_tokens_total", [](const Snapshot& s) { return s.generated_tokens; }));
  metric("queue_length", "gauge", "Requests waiting for a sequence slot.",
         lines("queue_length", [](const Snapshot& s) { return s.r.waiting; }));
  metric("active_sequences", "gauge", "Sequences being generated.",
         lines("active_sequences", [](const Snapshot& s) { return s.r.running; }));
  metric("kv_cache_used_ratio", "gauge", "Share of the KV cache's positions in use.",
         lines("kv_cache_used_ratio", [](const Snapshot& s) {
           return s.r.kv_capacity > 0 ? static_cast<double>(s.r.kv_used) / static_cast<double>(s.r.kv_capacity) : 0.0;
         }));
  metric("kv_cache_used_tokens", "gauge", "KV cache positions in use.",
         lines("kv_cache_used_tokens", [](const Snapshot& s) { return s.r.kv_used; }));
  metric("kv_cache_pages", "gauge",
         "KV cache pages (32 positions each) held by sequences or the prefix cache, held more than once, and in all.",
         lines("kv_cache_pages", [](const Snapshot& s) { return s.r.kv_pages.used; }, "state=\"used\"") +
             lines("kv_cache_pages", [](const Snapshot& s) { return s.r.kv_pages.shared; }, "state=\"shared\"") +
             lines("kv_cache_pages", [](const Snapshot& s) { return s.r.kv_pages.total; }, "state=\"total\""));
  metric("kv_cache_bytes", "gauge", "KV cache memory held by sequences or the prefix cache, and in all (the pages' bytes).",
         lines("kv_cache_bytes", [](const Snapshot& s) { return s.r.kv_pages.used * s.r.kv_page_bytes; }, "state=\"used\"") +
             lines("kv_cache_bytes", [](const Snapshot& s) { return s.r.kv_pages.total * s.r.kv_page_bytes; },
                   "state=\"total\""));
  metric("prefix_cache_hit_ratio", "gauge", "Share of prompt tokens restored from the prefix cache instead of computed.",
         lines("prefix_cache_hit_ratio", [](const Snapshot& s) {
           const PrefixCacheStats& pc = s.r.prefix_cache;
           return pc.lookup_tokens > 0 ? static_cast<double>(pc.hit_tokens) / static_cast<double>(pc.lookup_tokens) : 0.0;
         }));
  metric("prefix_cache_hit_tokens_total", "counter", "Prompt tokens restored from the prefix cache.",
         lines("prefix_cache_hit_tokens_total", [](const Snapshot& s) { return s.r.prefix_cache.hit_tokens; }));
  // With the hits, a hit rate over any window: rate(hit) / rate(queried) (the ratio above is since start).
  metric("prefix_cache_queried_tokens_total", "counter", "Prompt tokens looked up in the prefix cache.",
         lines("prefix_cache_queried_tokens_total", [](const Snapshot& s) { return s.r.prefix_cache.lookup_tokens; }));
  metric("prefix_cache_blocks", "gauge", "Prefix cache blocks in use, and its capacity.",
         lines("prefix_cache_blocks", [](const Snapshot& s) { return s.r.prefix_cache.blocks_used; }, "state=\"used\"") +
             lines("prefix_cache_blocks", [](const Snapshot& s) { return s.r.prefix_cache.capacity_blocks; },
                   "state=\"capacity\""));
  metric("batch_steps_total", "counter", "Forward batches run.",
         lines("batch_steps_total", [](const Snapshot& s) { return s.r.scheduler.steps; }));
  // Speculative decoding (--model-draft, --spec-ngram): acceptance over any window is
  // rate(accepted) / rate(drafted).
  metric("speculative_drafted_tokens_total", "counter", "Tokens proposed by speculative decoding and checked.",
         lines("speculative_drafted_tokens_total", [](const Snapshot& s) { return s.r.scheduler.drafted; }));
  metric("speculative_accepted_tokens_total", "counter", "Proposed tokens the model agreed with.",
         lines("speculative_accepted_tokens_total", [](const Snapshot& s) { return s.r.scheduler.accepted; }));
  // The prefix cache's geometry as labels of a constant 1, in the shape (and label names) of
  // vLLM's cache_config_info: an endpoint picker's prefix-aware routing hashes prompts in
  // blocks of block_size tokens and remembers about num_gpu_blocks of them per server.
  // The blocks here are in RAM; the label keeps the protocol's name.
  std::string config_info;
  for (const Snapshot& s : snaps)
    config_info += fmt::format(
        "moxing_cache_config_info{{{}{}block_size=\"{}\",cache_dtype=\"{}\",cache_dtype_v=\"{}\",num_gpu_blocks=\"{}\"}} 1\n",
        s.label, s.label.empty() ? "" : ",", KvCache::kPageTokens, kv_cache_type_name(s.r.kv_types.k),
        kv_cache_type_name(s.r.kv_types.v), s.r.prefix_cache.capacity_blocks);
  metric("cache_config_info", "gauge",
         "Cache geometry in the labels: block size in tokens, key and value types, prefix cache blocks kept.",
         config_info);
  if (!snaps.empty() && !snaps.front().label.empty())  // several models: which are in memory now
    metric("model_loaded", "gauge", "1 while the model is loaded.",
           lines("model_loaded", [](const Snapshot& s) { return s.loaded ? 1 : 0; }));
  std::string ttft, itl;
  for (const Snapshot& s : snaps) {
    ttft += s.ttft.prometheus("moxing_time_to_first_token_seconds", s.label);
    itl += s.itl.prometheus("moxing_inter_token_latency_seconds", s.label);
  }
  metric("time_to_first_token_seconds", "histogram", "From arrival to the first generated token.", ttft);
  metric("inter_token_latency_seconds", "histogram", "Mean time between generated tokens, per request.", itl);
  return out;
}

}  // namespace mx::server
