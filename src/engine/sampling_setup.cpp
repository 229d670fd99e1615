#include "engine/sampling_setup.h"

#include "engine/dry_breakers.h"
#include "engine/grammar_setup.h"

namespace mx {
namespace {

std::shared_ptr<const DryBreakerTokens> find_breakers(const Tokenizer& tokenizer, std::vector<std::string> texts) {
  std::vector<Token> tokens = dry_breaker_tokens(tokenizer, texts);
  return std::make_shared<const DryBreakerTokens>(DryBreakerTokens{std::move(texts), std::move(tokens)});
}

}  // namespace

SamplingVocab sampling_vocab(const Tokenizer& tokenizer, std::shared_ptr<const TokenTexts> texts) {
  return {.tokenizer = &tokenizer,
          .texts = texts ? std::move(texts) : token_texts(tokenizer),
          .default_dry_breakers = find_breakers(tokenizer, SamplingParams{}.dry_sequence_breakers)};
}

Status finish_sampling(GenerateOptions& o, const SamplingVocab& vocab) {
  SamplingParams& p = o.sampling;
  if (auto st = validate(p); !st) return st;
  const int32_t n_vocab = vocab.tokenizer->vocab().size();
  for (const TokenBias& b : p.logit_bias)
    if (b.token < 0 || b.token >= n_vocab)
      return make_error("logit bias: token {} is not in the vocabulary (0..{})", b.token, n_vocab - 1);
  p.texts = vocab.texts;
  const bool dry_may_run = p.dry.active() || o.loop_guard.mode == LoopGuardMode::kPenalize;
  if (!dry_may_run || (p.dry_breakers && p.dry_breakers->texts == p.dry_sequence_breakers)) return {};
  p.dry_breakers = p.dry_sequence_breakers == vocab.default_dry_breakers->texts
                       ? vocab.default_dry_breakers
                       : find_breakers(*vocab.tokenizer, p.dry_sequence_breakers);
  return {};
}

}  // namespace mx
