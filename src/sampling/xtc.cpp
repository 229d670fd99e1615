#include "sampling/xtc.h"

namespace mx {

void Xtc::apply(Candidates& c) {
  if (probability_ <= 0.0f || threshold_ > 0.5f || c.items.size() < 2) return;
  if (rng_.uniform() >= probability_) return;
  c.softmax();
  size_t last_above = 0;  // index of the least likely token at or above the threshold
  while (last_above + 1 < c.items.size() && c.items[last_above + 1].p >= threshold_) ++last_above;
  if (last_above == 0 || c.items[0].p < threshold_) return;  // fewer than two such tokens
  if (c.items.size() - last_above < min_keep_) return;
  c.items.erase(c.items.begin(), c.items.begin() + static_cast<ptrdiff_t>(last_above));
}

}  // namespace mx
