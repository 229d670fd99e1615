// Adds a fixed bias to chosen tokens' logits (OpenAI's logit_bias, llama.cpp's --logit-bias):
// -inf bans a token, a large positive value all but forces it.
#pragma once

#include <utility>
#include <vector>

#include "sampling/candidates.h"

namespace mx {

struct TokenBias {
  Token token;
  float bias;
};

class LogitBias final : public Sampler {
 public:
  explicit LogitBias(std::vector<TokenBias> biases) : biases_(std::move(biases)) {}
  std::string_view name() const override { return "logit-bias"; }
  void apply(Candidates& c) override;

 private:
  std::vector<TokenBias> biases_;
};

}  // namespace mx
