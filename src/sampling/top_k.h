// Keeps the k most likely tokens (k <= 0 keeps all).
#pragma once

#include "sampling/candidates.h"

namespace mx {

class TopK final : public Sampler {
 public:
  explicit TopK(int k) : k_(k) {}
  std::string_view name() const override { return "top-k"; }
  void apply(Candidates& c) override;
  int k() const { return k_; }

 private:
  int k_;
};

}  // namespace mx
