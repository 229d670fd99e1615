#include "sampling/min_p.h"

#include <algorithm>
#include <cmath>

namespace mx {

void MinP::apply(Candidates& c) {
  if (p_ <= 0.0f || c.items.size() <= 1) return;
  c.sort_desc();
  // p_i >= min_p * p_max  <=>  logit_i >= logit_max + ln(min_p): no softmax needed.
  const float threshold = c.items.front().logit + std::log(p_);
  size_t keep = 0;
  while (keep < c.items.size() && c.items[keep].logit >= threshold) ++keep;
  c.truncate(std::max(keep, min_keep_));
}

}  // namespace mx
