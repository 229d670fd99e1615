#include "sampling/top_p.h"

namespace mx {

void TopP::apply(Candidates& c) {
  if (p_ >= 1.0f || c.items.empty()) return;
  c.softmax();
  double cum = 0.0;
  size_t keep = c.items.size();
  for (size_t i = 0; i < c.items.size(); ++i) {
    cum += c.items[i].p;
    if (cum >= p_ && i + 1 >= min_keep_) {
      keep = i + 1;
      break;
    }
  }
  c.truncate(keep);
}

}  // namespace mx
