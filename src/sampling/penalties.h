// Repetition, frequency and presence penalties over the last N tokens (prompt included),
// as llama.cpp applies them: a token seen before has its logit divided by the repeat
// penalty if positive (multiplied if negative), then lowered by count * frequency +
// presence.
#pragma once

#include <deque>
#include <unordered_map>

#include "sampling/candidates.h"
#include "sampling/sampler_stage.h"

namespace mx {

struct PenaltyParams {
  int last_n = 64;          // window; 0 disables, -1 = every token seen
  float repeat = 1.0f;      // 1: off
  float frequency = 0.0f;   // 0: off
  float presence = 0.0f;    // 0: off
  bool active() const { return last_n != 0 && (repeat != 1.0f || frequency != 0.0f || presence != 0.0f); }
};

class Penalties final : public Sampler {
 public:
  explicit Penalties(PenaltyParams p) : p_(p) {}
  std::string_view name() const override { return stage_name(SamplerStage::kPenalties); }
  void apply(Candidates& c) override;
  void accept(Token t) override;
  void set_params(PenaltyParams p) { p_ = p; }  // e.g. switched on by the loop guard

 private:
  PenaltyParams p_;
  std::deque<Token> window_;
  std::unordered_map<Token, int> counts_;
};

}  // namespace mx
