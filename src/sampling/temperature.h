// Divides logits by the temperature: below 1 sharpens, above 1 flattens. With a dynamic
// range, the temperature moves within [t - range, t + range] with the distribution's
// normalised entropy (raised to `exponent`): confident steps cool, uncertain ones warm.
#pragma once

#include "sampling/candidates.h"
#include "sampling/sampler_stage.h"

namespace mx {

class Temperature final : public Sampler {
 public:
  explicit Temperature(float t, float dynamic_range = 0.0f, float exponent = 1.0f)
      : t_(t), range_(dynamic_range), exponent_(exponent) {}
  std::string_view name() const override { return stage_name(SamplerStage::kTemperature); }
  void apply(Candidates& c) override;

 private:
  float t_, range_, exponent_;
};

}  // namespace mx
