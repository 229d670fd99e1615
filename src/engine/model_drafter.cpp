#include "engine/model_drafter.h"

#include <algorithm>
#include <cmath>

#include "core/log.h"
#include "engine/generate.h"

namespace mx {

Status check_draft_vocabulary(const Vocab& target, const Vocab& draft) {
  if (target.size() != draft.size())
    return make_error("the draft model's vocabulary has {} tokens, the model's {}: speculation "
                      "needs the same vocabulary", draft.size(), target.size());
  if (target.kind() != draft.kind() || target.model() != draft.model())
    return make_error("the draft model's tokenizer is '{}', the model's '{}': speculation needs "
                      "the same vocabulary", draft.model(), target.model());
  for (Token id = 0; id < target.size(); ++id)
    if (target.text(id) != draft.text(id))
      return make_error("the draft model's vocabulary differs from the model's: token {} is '{}' "
                        "there and '{}' here", id, draft.text(id), target.text(id));
  if (target.bos() != draft.bos() || target.eos() != draft.eos())
    return make_error("the draft model's BOS/EOS tokens ({}/{}) are not the model's ({}/{})",
                      draft.bos(), draft.eos(), target.bos(), target.eos());
  return {};
}

ModelDrafter::ModelDrafter(SpeculationParams params, const Model& draft, ExecContext& ctx,
                           int64_t n_ctx, KvCacheTypes cache_types)
    : Drafter(params), model_(draft), ctx_(ctx), cache_(draft.config, n_ctx, 1, 0, 0, cache_types),
      logits_(static_cast<size_t>(draft.config.n_vocab)) {}

bool ModelDrafter::run(std::span<const Token> tokens) {
  if (auto st = prefill(model_, ctx_, cache_, 0, tokens, logits_); !st) {
    MX_LOG_WARN("the draft model failed ({}); drafting starts over", st.error().message);
    cache_.clear(0);
    cached_.clear();
    return false;
  }
  cached_.insert(cached_.end(), tokens.begin(), tokens.end());
  return true;
}

void ModelDrafter::draft(std::span<const Token> context, int max_tokens, std::vector<Token>& out) {
  // Keep what the draft cache shares with the context; the last token always runs again
  // (its logits are the first guess).
  const auto common = static_cast<size_t>(
      std::mismatch(cached_.begin(), cached_.end(), context.begin(), context.end()).first - cached_.begin());
  const size_t keep = std::min(common, context.size() - 1);
  cache_.set_length(0, static_cast<int64_t>(keep));
  cached_.resize(keep);
  if (static_cast<int64_t>(context.size()) >= cache_.n_ctx()) return;
  if (!run(context.subspan(keep))) return;

  while (true) {
    const auto best = std::max_element(logits_.begin(), logits_.end());
    double sum = 0;
    for (float l : logits_) sum += std::exp(static_cast<double>(l) - *best);
    if (1.0 / sum < params().p_min) break;  // the best token's probability
    const Token token = static_cast<Token>(best - logits_.begin());
    out.push_back(token);
    if (static_cast<int>(out.size()) >= max_tokens || cache_.length(0) >= cache_.n_ctx()) break;
    if (!run(std::span(&token, 1))) break;
  }
}

}  // namespace mx
