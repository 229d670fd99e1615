#include "sampling/temperature.h"

namespace mx {

void Temperature::apply(Candidates& c) {
  if (t_ <= 0.0f || t_ == 1.0f) return;
  for (auto& x : c.items) x.logit /= t_;
}

}  // namespace mx
