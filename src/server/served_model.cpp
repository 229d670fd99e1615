#include "server/served_model.h"

#include <algorithm>

#include "core/expected.h"
#include "engine/prefix_cache.h"
#include "model/kv_cache.h"

namespace mx::server {

namespace {

int64_t context_of(const ModelConfig& config, const RunnerSettings& settings) {
  return settings.ctx_size > 0 ? settings.ctx_size : std::min<int64_t>(config.n_ctx_train > 0 ? config.n_ctx_train : 4096, 4096);
}

}  // namespace

int64_t kv_cache_bytes(const ModelConfig& config, const RunnerSettings& settings) {
  // As KvCache sizes its pool: the sequences' pages, plus the prefix cache's.
  const int64_t pages = KvCache::pool_pages(context_of(config, settings), std::max<int32_t>(1, settings.parallel),
                                            PrefixCache::pages_for(settings.prefix_cache_tokens), settings.kv_tokens);
  return pages * KvCache::kPageTokens * kv_bytes_per_position(config, settings.cache_types);
}

int64_t estimate_memory(const std::string& path, int64_t file_bytes, const RunnerSettings& settings) {
  auto file = gguf::File::open(path);
  if (!file) return file_bytes;
  auto config = ModelConfig::from_gguf(*file);
  if (!config) return file_bytes;
  return std::max<int64_t>(file_bytes, static_cast<int64_t>(file->file_size())) + kv_cache_bytes(*config, settings);
}

std::shared_ptr<ServedModel> make_served_model(LoadedWeights w, const RunnerSettings& settings,
                                               GenerateOptions fallback_defaults, Metrics& metrics,
                                               Admission& admission, std::function<std::shared_ptr<void>()> pin) {
  MX_CHECK(w.model && w.tokenizer && w.format);  // a served model needs weights, a tokenizer and a chat format
  auto s = std::make_shared<ServedModel>();
  s->weights = std::move(w.owner);
  s->model = w.model;
  s->tokenizer = w.tokenizer;
  s->chat_template = w.format->source();
  s->defaults = w.defaults ? std::move(*w.defaults) : std::move(fallback_defaults);
  const int64_t n_ctx = context_of(w.model->config, settings);
  const int32_t parallel = std::max<int32_t>(1, settings.parallel);
  // Every generating sequence adds a row to every step: the budget holds them all.
  const int64_t batch = std::clamp<int64_t>(settings.batch_size, parallel, kMaxBatch);
  s->runner = std::make_unique<BatchRunner>(*w.model, std::move(w.kernels), settings.threads, parallel, n_ctx, batch,
                                            settings.prefix_cache_tokens,
                                            BatchRunnerOptions{.kv_tokens = settings.kv_tokens,
                                                               .forward_hook = settings.forward_hook,
                                                               .cache_types = settings.cache_types,
                                                               .make_drafter = std::move(w.make_drafter)});
  s->generation = std::make_unique<GenerationService>(*s->runner, *w.tokenizer, std::move(*w.format), metrics, admission,
                                                      settings.timeout_seconds);
  if (pin) s->generation->set_pin(std::move(pin));
  s->memory_bytes = static_cast<int64_t>(w.model->file.file_size() + s->runner->kv_bytes());
  return s;
}

}  // namespace mx::server
