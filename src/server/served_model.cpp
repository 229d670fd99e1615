#include "server/served_model.h"

#include <algorithm>

#include "core/expected.h"

namespace mx::server {

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
  const ModelConfig& config = w.model->config;
  const int64_t n_ctx = settings.ctx_size > 0 ? settings.ctx_size
                                              : std::min<int64_t>(config.n_ctx_train > 0 ? config.n_ctx_train : 4096, 4096);
  const int32_t parallel = std::max<int32_t>(1, settings.parallel);
  // Every generating sequence adds a row to every step: the budget holds them all.
  const int64_t batch = std::clamp<int64_t>(settings.batch_size, parallel, kMaxBatch);
  s->runner = std::make_unique<BatchRunner>(*w.model, std::move(w.kernels), settings.threads, parallel, n_ctx, batch,
                                            settings.prefix_cache_tokens);
  s->generation = std::make_unique<GenerationService>(*s->runner, *w.tokenizer, std::move(*w.format), metrics, admission,
                                                      settings.timeout_seconds);
  if (pin) s->generation->set_pin(std::move(pin));
  s->memory_bytes = static_cast<int64_t>(w.model->file.file_size() + s->runner->kv_bytes());
  return s;
}

}  // namespace mx::server
