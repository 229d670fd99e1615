#include "sampling/top_k.h"

#include <algorithm>

namespace mx {

void TopK::apply(Candidates& c) {
  if (k_ <= 0 || static_cast<size_t>(k_) >= c.items.size()) return;
  if (!c.sorted) {
    // Only the first k need ordering: partial sort is O(n log k) on a 150k vocabulary.
    std::partial_sort(c.items.begin(), c.items.begin() + k_, c.items.end(),
                      [](const Candidate& a, const Candidate& b) {
                        return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
                      });
    c.sorted = true;
  }
  c.truncate(static_cast<size_t>(k_));
}

}  // namespace mx
