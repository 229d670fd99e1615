// Log-probabilities of a step under the model's own distribution (the softmax of the raw
// logits, before any sampler reshapes it), as OpenAI's `logprobs` / `top_logprobs` report.
#pragma once

#include <span>
#include <vector>

#include "core/token.h"

namespace mx {

struct TokenLogprob {
  Token token;
  float logprob;
};

struct StepLogprobs {
  TokenLogprob chosen;
  std::vector<TokenLogprob> top;  // the top_n most likely tokens, most likely first (ties: lower id)
};

StepLogprobs step_logprobs(std::span<const float> logits, Token chosen, int top_n);

}  // namespace mx
