// XTC ("exclude top choices"): with some probability, when two or more tokens are each
// at least `threshold` likely, removes all of them but the least likely one, steering
// away from the most predictable continuation without leaving the plausible ones.
#pragma once

#include "core/rng.h"
#include "sampling/candidates.h"
#include "sampling/sampler_stage.h"

namespace mx {

class Xtc final : public Sampler {
 public:
  Xtc(float probability, float threshold, Rng& rng, size_t min_keep = 1)
      : probability_(probability), threshold_(threshold), rng_(rng), min_keep_(min_keep) {}
  std::string_view name() const override { return stage_name(SamplerStage::kXtc); }
  void apply(Candidates& c) override;

 private:
  float probability_, threshold_;
  Rng& rng_;
  size_t min_keep_;
};

}  // namespace mx
