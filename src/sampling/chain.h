// The sampler chain: stages applied in order, then the final choice of one token (the
// most likely one, a seeded random draw, or mirostat). Stateful stages (penalties, DRY)
// see every token the chain accepts: the prompt's, then each chosen one.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/expected.h"
#include "core/rng.h"
#include "sampling/candidates.h"
#include "sampling/dry.h"
#include "sampling/grammar_sampler.h"
#include "sampling/logit_bias.h"
#include "sampling/mirostat.h"
#include "sampling/penalties.h"
#include "sampling/sampler_stage.h"
#include "sampling/utf8_guard.h"

namespace mx {

struct SamplingParams {
  float temperature = 0.8f;  // <= 0: greedy (after bias, penalties and DRY)
  float dynatemp_range = 0.0f;
  float dynatemp_exponent = 1.0f;
  int top_k = 40;            // <= 0: off
  float top_p = 0.95f;       // >= 1: off
  float min_p = 0.05f;       // <= 0: off
  float typical_p = 1.0f;    // >= 1: off
  float xtc_probability = 0.0f;
  float xtc_threshold = 0.1f;
  PenaltyParams penalties;
  DryParams dry;
  // DRY's sequence breakers, llama.cpp's by default. The sampler works on the tokens that
  // contain one (null: none), found by finish_sampling() (engine/sampling_setup.h).
  std::vector<std::string> dry_sequence_breakers = {"\n", ":", "\"", "*"};
  std::shared_ptr<const DryBreakerTokens> dry_breakers;
  int mirostat = 0;                 // 0 off, 1 or 2
  float mirostat_tau = 5.0f;
  float mirostat_eta = 0.1f;
  std::vector<TokenBias> logit_bias;
  std::optional<GrammarConstraint> grammar;  // output must follow this grammar
  // Each token's bytes (engine/grammar_setup.h): with them, the output stays well-formed
  // UTF-8 (utf8_guard.h). Without, tokens are drawn whatever their bytes.
  std::shared_ptr<const TokenTexts> texts;
  // The truncating and reshaping stages in order (sampler_stage.h names them).
  std::vector<SamplerStage> order = {SamplerStage::kPenalties, SamplerStage::kDry, SamplerStage::kTopK,
                                     SamplerStage::kTypicalP, SamplerStage::kTopP, SamplerStage::kMinP,
                                     SamplerStage::kXtc, SamplerStage::kTemperature};
  uint64_t seed = 0xC0FFEE;
};

// Checks the ranges of the values: a clear error for a bad one.
Status validate(const SamplingParams& p);

class SamplerChain {
 public:
  // `n_vocab` sizes mirostat's estimate (0: the logits' size); `params` must pass validate().
  explicit SamplerChain(const SamplingParams& params, int64_t n_vocab = 0);

  // The next token from a step's logits. The chain accepts it (updates its state).
  Token sample(std::span<const float> logits);
  // Feeds a token the model saw but the chain did not choose (the prompt).
  void accept(Token t);
  // Switches repetition penalties and DRY on for the rest of the generation (the loop
  // guard's remedy); values already set stronger are kept.
  void strengthen_penalties(const PenaltyParams& penalties, const DryParams& dry);

  bool greedy() const { return greedy_; }
  // With a grammar: the output so far is a whole sentence of it.
  bool grammar_complete() const { return !grammar_ || grammar_->is_complete(); }

 private:
  Token choose(std::span<const float> logits, bool constrained);
  // A constrained choice without masking the vocabulary, when top-k narrows first: nullopt
  // when fewer than k of the few thousand likeliest tokens are allowed (then mask).
  std::optional<Token> choose_allowed(std::span<const float> logits);
  bool allowed(Token t) const;  // by the grammar and the UTF-8 guard, where they exist

  std::vector<Sampler*> stages_;                 // in order; owned below
  std::vector<std::unique_ptr<Sampler>> owned_;
  Penalties* penalties_ = nullptr;
  Dry* dry_ = nullptr;
  std::optional<Mirostat> mirostat_;
  std::unique_ptr<GrammarSampler> grammar_;
  std::unique_ptr<Utf8Guard> utf8_;
  Candidates candidates_;
  std::vector<Candidate> allowed_;  // choose_allowed()'s finds
  Rng rng_;
  bool greedy_;
  bool reshapes_;  // some stage may change the logits (else greedy is a plain argmax)
  int prefilter_k_ = 0;  // > 0: top-k is the first stage that narrows (see choose())
  size_t first_narrowing_ = 0;  // stages_[0, this) only reshape the logits
};

// Index of the largest value, the first one on ties (as the reference does).
Token argmax(std::span<const float> logits);

}  // namespace mx
