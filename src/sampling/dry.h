// DRY ("don't repeat yourself", p-e-w's sampler as llama.cpp runs it): a token that would
// extend a repeat of an earlier stretch of the context is penalised, exponentially in the
// length of the repeat: multiplier * base^(length - allowed_length). Sequence breakers
// (tokens containing a newline, ':', '"', '*' by default) end a repeat, so structure that
// legitimately recurs (list markers, code punctuation) is not punished.
#pragma once

#include <string>
#include <vector>

#include "sampling/candidates.h"
#include "sampling/sampler_stage.h"

namespace mx {

struct DryParams {
  float multiplier = 0.0f;  // 0: off
  float base = 1.75f;
  int allowed_length = 2;   // repeats up to this long are free
  int last_n = -1;          // tokens of context searched; -1: all
  bool active() const { return multiplier > 0.0f && base >= 1.0f && last_n != 0; }
};

// The sequence breakers as the sampler sees them: every vocabulary token whose text holds
// one of `texts` (engine/sampling_setup.h finds them).
struct DryBreakerTokens {
  std::vector<std::string> texts;  // what the tokens were found for
  std::vector<Token> tokens;
};

class Dry final : public Sampler {
 public:
  // `breakers`: the vocabulary's tokens that contain a sequence-breaker string.
  Dry(DryParams p, std::vector<Token> breakers);
  std::string_view name() const override { return stage_name(SamplerStage::kDry); }
  void apply(Candidates& c) override;
  void accept(Token t) override;
  void set_params(DryParams p) { p_ = p; }

 private:
  bool is_breaker(Token t) const;

  DryParams p_;
  std::vector<Token> breakers_;  // sorted
  std::vector<Token> history_;
};

}  // namespace mx
