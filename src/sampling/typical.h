// Locally typical sampling (Meister et al.): keeps the tokens whose surprise is closest to
// the distribution's entropy, the smallest such set with probability mass >= p.
#pragma once

#include "sampling/candidates.h"
#include "sampling/sampler_stage.h"

namespace mx {

class Typical final : public Sampler {
 public:
  explicit Typical(float p, size_t min_keep = 1) : p_(p), min_keep_(min_keep) {}
  std::string_view name() const override { return stage_name(SamplerStage::kTypicalP); }
  void apply(Candidates& c) override;

 private:
  float p_;
  size_t min_keep_;
};

}  // namespace mx
