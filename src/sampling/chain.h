// The sampler chain: stages applied in order, then the final choice of one token
// (the most likely one, or a seeded random draw from the remaining distribution).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "sampling/candidates.h"
#include "core/rng.h"

namespace mx {

struct SamplingParams {
  float temperature = 0.8f;  // <= 0: greedy
  int top_k = 40;            // <= 0: off
  float top_p = 0.95f;       // >= 1: off
  uint64_t seed = 0xC0FFEE;
};

class SamplerChain {
 public:
  explicit SamplerChain(const SamplingParams& params);

  void add(std::unique_ptr<Sampler> stage) { stages_.push_back(std::move(stage)); }
  Token sample(std::span<const float> logits);
  bool greedy() const { return greedy_; }

 private:
  std::vector<std::unique_ptr<Sampler>> stages_;
  Candidates candidates_;
  Rng rng_;
  bool greedy_;
};

// Index of the largest value, the first one on ties (as the reference does).
Token argmax(std::span<const float> logits);

}  // namespace mx
