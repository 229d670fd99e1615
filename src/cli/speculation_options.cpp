#include "cli/speculation_options.h"

#include "core/log.h"
#include "engine/model_drafter.h"
#include "engine/ngram_drafter.h"

namespace mx::cli {

void add_speculation_options(CLI::App& app, SpeculationCliOptions& o) {
  auto* draft = app.add_option("--model-draft,--spec-draft-model", o.draft_model,
                               "Draft model for speculative decoding (same vocabulary): it proposes "
                               "tokens, the model checks several in one step");
  auto* ngram = app.add_flag("--spec-ngram", o.ngram,
                             "Speculative decoding without a draft model: propose what followed the "
                             "last tokens where they appeared before (prompt lookup)");
  draft->excludes(ngram);
  app.add_option("--draft-max,--spec-draft-n-max", o.params.draft_max, "Speculation: tokens proposed per step at most")
      ->capture_default_str()->check(CLI::Range(1, 256));
  app.add_option("--draft-min,--spec-draft-n-min", o.params.draft_min, "Speculation: fewer proposed tokens are not checked")
      ->capture_default_str()->check(CLI::Range(0, 256));
  app.add_option("--draft-p-min,--spec-draft-p-min", o.params.p_min,
                 "Speculation: the draft model stops proposing below this probability")
      ->capture_default_str()->check(CLI::Range(0.0, 1.0));
}

Status check_speculation_options(const SpeculationCliOptions& o) {
  if (o.params.draft_min > o.params.draft_max)
    return make_error("--draft-min {} is above --draft-max {}", o.params.draft_min, o.params.draft_max);
  return {};
}

Expected<DrafterFactory> load_speculation(const SpeculationCliOptions& o, const Tokenizer& target) {
  const SpeculationParams params = o.params;
  if (o.ngram)
    return DrafterFactory([params](ExecContext&, int64_t) { return std::make_unique<NgramDrafter>(params); });
  if (o.draft_model.empty()) return DrafterFactory();
  auto loaded = load_model(o.draft_model, /*with_tokenizer=*/true);
  if (!loaded) return make_error("draft model: {}", loaded.error().message);
  if (auto st = check_draft_vocabulary(target.vocab(), loaded->tokenizer->vocab()); !st) return st.error();
  MX_LOG_INFO("draft model: {} ({}), up to {} tokens a step, p-min {}", loaded->model->config.name,
              loaded->model->config.arch.name, params.draft_max, params.p_min);
  auto draft = std::make_shared<LoadedModel>(std::move(*loaded));
  return DrafterFactory([params, draft](ExecContext& ctx, int64_t n_ctx) {
    return std::make_unique<ModelDrafter>(params, *draft->model, ctx, n_ctx);
  });
}

}  // namespace mx::cli
