// Divides logits by the temperature: below 1 sharpens, above 1 flattens.
#pragma once

#include "sampling/candidates.h"

namespace mx {

class Temperature final : public Sampler {
 public:
  explicit Temperature(float t) : t_(t) {}
  std::string_view name() const override { return "temperature"; }
  void apply(Candidates& c) override;

 private:
  float t_;
};

}  // namespace mx
