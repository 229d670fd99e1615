// Min-p: keeps the tokens at least min_p times as likely as the most likely one, so the
// cut adapts to how confident the model is.
#pragma once

#include "sampling/candidates.h"
#include "sampling/sampler_stage.h"

namespace mx {

class MinP final : public Sampler {
 public:
  explicit MinP(float p, size_t min_keep = 1) : p_(p), min_keep_(min_keep) {}
  std::string_view name() const override { return stage_name(SamplerStage::kMinP); }
  void apply(Candidates& c) override;

 private:
  float p_;
  size_t min_keep_;
};

}  // namespace mx
