#include "sampling/temperature.h"

#include <algorithm>
#include <cmath>

namespace mx {

void Temperature::apply(Candidates& c) {
  float t = t_;
  if (range_ > 0.0f && c.items.size() > 1) {
    const float lo = std::max(0.0f, t_ - range_), hi = t_ + range_;
    c.softmax();
    double entropy = 0.0;
    for (const Candidate& x : c.items)
      if (x.p > 0) entropy -= x.p * std::log(static_cast<double>(x.p));
    const double normalized = entropy / std::log(static_cast<double>(c.items.size()));
    t = lo + (hi - lo) * static_cast<float>(std::pow(normalized, static_cast<double>(exponent_)));
  }
  if (t <= 0.0f || t == 1.0f) return;
  for (auto& x : c.items) x.logit /= t;
}

}  // namespace mx
