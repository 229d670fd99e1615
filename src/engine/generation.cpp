#include "engine/generation.h"

namespace mx {

Generation::Generation(const GenerateOptions& options, int32_t n_vocab, std::span<const Token> prompt)
    : options_(options), sampler_(options.sampling, n_vocab), loops_(options.loop_guard) {
  for (Token t : prompt) sampler_.accept(t);
  stats_.n_prompt = static_cast<int64_t>(prompt.size());
}

std::optional<Token> Generation::next(std::span<const float> logits, const GenerateCallbacks& cb) {
  if (options_.n_predict >= 0 && stats_.n_generated >= options_.n_predict) {
    stats_.finish = FinishReason::kLength;
    return std::nullopt;
  }
  const Token tok = sampler_.sample(logits);
  if (tok < 0 || (cb.is_end && cb.is_end(tok))) {  // < 0: the grammar allows nothing more
    stats_.finish = FinishReason::kEndOfText;
    return std::nullopt;
  }
  ++stats_.n_generated;
  if ((options_.logprobs || options_.top_logprobs > 0) && cb.on_logprobs)
    cb.on_logprobs(step_logprobs(logits, tok, options_.top_logprobs));
  if (guard(tok)) {
    stats_.finish = FinishReason::kRepetition;
    return std::nullopt;
  }
  if (cb.on_token && !cb.on_token(tok)) {
    stats_.finish = FinishReason::kStopped;
    return std::nullopt;
  }
  return tok;
}

std::optional<Token> Generation::next_after_drafts(std::span<const float> logits,
                                                   std::span<const Token> drafts,
                                                   const GenerateCallbacks& cb, size_t& accepted) {
  const size_t n_vocab = logits.size() / (drafts.size() + 1);
  accepted = 0;
  while (true) {
    const auto tok = next(logits.subspan(accepted * n_vocab, n_vocab), cb);
    if (!tok || accepted == drafts.size() || *tok != drafts[accepted]) return tok;
    ++accepted;
  }
}

bool Generation::guard(Token t) {
  if (options_.loop_guard.mode == LoopGuardMode::kOff) return false;
  const auto loop = loops_.push(t);
  if (!loop) return false;
  // Penalize: the first loop switches the penalties on; a loop despite them stops.
  const bool again = stats_.loop.has_value();
  if (!again) {
    stats_.loop = loop;
    stats_.loop_at = stats_.n_generated;
  }
  if (options_.loop_guard.mode == LoopGuardMode::kStop || again) return true;
  loops_.reset();
  PenaltyParams pen = options_.sampling.penalties;
  if (!pen.active()) pen = options_.loop_penalties;
  DryParams dry = options_.sampling.dry;
  if (!dry.active()) dry = options_.loop_dry;
  sampler_.strengthen_penalties(pen, dry);
  stats_.penalized = true;
  return false;
}

}  // namespace mx
