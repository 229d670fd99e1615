// Nucleus sampling: keeps the smallest set of most likely tokens whose probability
// mass reaches p (p >= 1 keeps all). Keeps at least min_keep tokens.
#pragma once

#include "sampling/candidates.h"
#include "sampling/sampler_stage.h"

namespace mx {

class TopP final : public Sampler {
 public:
  explicit TopP(float p, size_t min_keep = 1) : p_(p), min_keep_(min_keep) {}
  std::string_view name() const override { return stage_name(SamplerStage::kTopP); }
  void apply(Candidates& c) override;

 private:
  float p_;
  size_t min_keep_;
};

}  // namespace mx
