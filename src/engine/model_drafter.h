// Speculation with a draft model: a smaller model of the same vocabulary proposes its most
// likely tokens, one cheap step each, while it is confident (SpeculationParams::p_min).
// It keeps its own cache in step with the target's sequence: what it already ran stays.
#pragma once

#include <vector>

#include "core/expected.h"
#include "engine/drafter.h"
#include "model/exec_context.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "tokenizer/vocab.h"

namespace mx {

// A draft model must spell every token as the target does, or its guesses mean other text.
// The error names the first difference.
Status check_draft_vocabulary(const Vocab& target, const Vocab& draft);

class ModelDrafter final : public Drafter {
 public:
  // `ctx` is shared with the target (one thread pool); the draft's cache holds n_ctx positions.
  ModelDrafter(SpeculationParams params, const Model& draft, ExecContext& ctx, int64_t n_ctx,
               KvCacheTypes cache_types = {});

 protected:
  void draft(std::span<const Token> context, int max_tokens, std::vector<Token>& out) override;

 private:
  // Runs `tokens` after the draft's cached ones; false if the forward pass failed.
  bool run(std::span<const Token> tokens);

  const Model& model_;
  ExecContext& ctx_;
  KvCache cache_;
  std::vector<Token> cached_;  // the tokens in cache_, in order
  std::vector<float> logits_;  // after the last token run
};

}  // namespace mx
