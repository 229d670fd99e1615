// The /metrics text of one server: the series an inference gateway's endpoint picker reads
// (docs/kubernetes.md) with the values the runner's stats give, one line per model.
#include "server/metrics.h"

#include <gtest/gtest.h>

#include <string>

#include "model/kv_cache.h"

namespace mx::server {
namespace {

BatchRunnerStats busy_runner() {
  BatchRunnerStats r;
  r.running = 3;
  r.waiting = 5;
  r.kv_used = 768;
  r.kv_capacity = 1024;
  r.prefix_cache.lookup_tokens = 400;
  r.prefix_cache.hit_tokens = 96;
  r.prefix_cache.capacity_blocks = 512;
  r.kv_pages = {.used = 24, .shared = 2, .total = 32};
  r.kv_page_bytes = 65536;
  r.kv_types = {GgmlType::kQ8_0, GgmlType::kF16};
  return r;
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(MetricsTest, EndpointPickerSeriesOfOneModel) {
  Metrics m;
  const std::string text = m.prometheus({{"", &m, busy_runner(), true}});
  EXPECT_TRUE(has_line(text, "# TYPE moxing_queue_length gauge")) << text;
  EXPECT_TRUE(has_line(text, "moxing_queue_length 5")) << text;
  EXPECT_TRUE(has_line(text, "# TYPE moxing_active_sequences gauge")) << text;
  EXPECT_TRUE(has_line(text, "moxing_active_sequences 3")) << text;
  EXPECT_TRUE(has_line(text, "# TYPE moxing_kv_cache_used_ratio gauge")) << text;
  EXPECT_TRUE(has_line(text, "moxing_kv_cache_used_ratio 0.75")) << text;  // a fraction, as vLLM's kv_cache_usage_perc
  EXPECT_TRUE(has_line(text, "# TYPE moxing_prefix_cache_queried_tokens_total counter")) << text;
  EXPECT_TRUE(has_line(text, "moxing_prefix_cache_queried_tokens_total 400")) << text;
  EXPECT_TRUE(has_line(text, "moxing_prefix_cache_hit_tokens_total 96")) << text;
  EXPECT_TRUE(has_line(text, "# TYPE moxing_cache_config_info gauge")) << text;
  EXPECT_TRUE(has_line(text, "moxing_cache_config_info{block_size=\"" + std::to_string(KvCache::kPageTokens) +
                                 "\",cache_dtype=\"q8_0\",cache_dtype_v=\"f16\",num_gpu_blocks=\"512\"} 1"))
      << text;
}

TEST(MetricsTest, KvCacheMemoryInBytes) {
  Metrics m;
  const std::string text = m.prometheus({{"", &m, busy_runner(), true}});
  EXPECT_TRUE(has_line(text, "# TYPE moxing_kv_cache_bytes gauge")) << text;
  EXPECT_TRUE(has_line(text, "moxing_kv_cache_bytes{state=\"used\"} 1572864")) << text;  // 24 pages of 64 KiB
  EXPECT_TRUE(has_line(text, "moxing_kv_cache_bytes{state=\"total\"} 2097152")) << text;
}

TEST(MetricsTest, EachModelHasItsOwnLabelledSeries) {
  Metrics a, b;
  BatchRunnerStats idle;
  const std::string text = a.prometheus({{"big", &a, busy_runner(), true}, {"small", &b, idle, false}});
  EXPECT_TRUE(has_line(text, "moxing_queue_length{model=\"big\"} 5")) << text;
  EXPECT_TRUE(has_line(text, "moxing_queue_length{model=\"small\"} 0")) << text;
  EXPECT_TRUE(has_line(text, "moxing_kv_cache_used_ratio{model=\"small\"} 0")) << text;  // no capacity: no division
  EXPECT_TRUE(has_line(text, "moxing_cache_config_info{model=\"big\",block_size=\"32\",cache_dtype=\"q8_0\",cache_dtype_v=\"f16\",num_gpu_blocks=\"512\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "moxing_cache_config_info{model=\"small\",block_size=\"32\",cache_dtype=\"f16\",cache_dtype_v=\"f16\",num_gpu_blocks=\"0\"} 1"))
      << text;
}

}  // namespace
}  // namespace mx::server
