// Keeps the k most likely tokens (k <= 0 keeps all).
#pragma once

#include "sampling/candidates.h"
#include "sampling/sampler_stage.h"

namespace mx {

class TopK final : public Sampler {
 public:
  explicit TopK(int k) : k_(k) {}
  std::string_view name() const override { return stage_name(SamplerStage::kTopK); }
  void apply(Candidates& c) override;
  int k() const { return k_; }

 private:
  int k_;
};

}  // namespace mx
