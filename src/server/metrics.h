// Counters and latency histograms of the server, written in Prometheus' text format at
// /metrics. Thread-safe: request threads record, a scrape reads. The server keeps one
// Metrics for requests by route and one per model for what its generations did; with
// several models the per-model series carry a model="id" label. An inference gateway's
// endpoint picker reads queue_length, active_sequences, kv_cache_used_ratio and
// cache_config_info (docs/kubernetes.md maps them to its metric specs).
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "engine/batch_runner.h"
#include "engine/generate.h"

namespace mx::server {

class Histogram {
 public:
  static constexpr std::array<double, 12> kBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  void observe(double seconds);
  // Lines "NAME_bucket{le=...} N", "NAME_sum", "NAME_count"; `labels` ("model=\"x\"" or "") go first.
  std::string prometheus(const std::string& name, const std::string& labels = "") const;

 private:
  std::array<uint64_t, kBounds.size()> buckets_{};
  uint64_t count_ = 0;
  double sum_ = 0;
};

class Metrics;

// One model's series: its label ("" writes none: a single-model server), its metrics, its runner.
struct ModelSeries {
  std::string model;
  const Metrics* metrics = nullptr;
  BatchRunnerStats runner;
  bool loaded = false;
};

class Metrics {
 public:
  void request_started(const std::string& route);
  void request_failed(int status);
  void request_finished(const GenerateStats& stats);
  void request_cancelled();  // the client went away before the end
  // Requests by route and failures from this object; the rest from each model's.
  std::string prometheus(const std::vector<ModelSeries>& models) const;

 private:
  mutable std::mutex mutex_;
  uint64_t chat_requests_ = 0, completion_requests_ = 0, embedding_requests_ = 0, failed_requests_ = 0, finished_requests_ = 0, cancelled_requests_ = 0;
  uint64_t prompt_tokens_ = 0, generated_tokens_ = 0;
  Histogram time_to_first_token_, inter_token_latency_;
};

}  // namespace mx::server
