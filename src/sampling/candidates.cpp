#include "sampling/candidates.h"

#include <algorithm>
#include <cmath>

namespace mx {

void Candidates::reset(std::span<const float> logits) {
  items.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i)
    items[i] = Candidate{static_cast<Token>(i), logits[i], 0.0f};
  sorted = false;
}

void Candidates::sort_desc() {
  if (sorted) return;
  std::stable_sort(items.begin(), items.end(),
                   [](const Candidate& a, const Candidate& b) { return a.logit > b.logit; });
  sorted = true;
}

void Candidates::softmax() {
  sort_desc();
  if (items.empty()) return;
  const float max = items.front().logit;
  double sum = 0.0;
  for (auto& c : items) {
    c.p = std::isinf(c.logit) && c.logit < 0 ? 0.0f : std::exp(c.logit - max);
    sum += c.p;
  }
  for (auto& c : items) c.p = static_cast<float>(c.p / sum);
}

}  // namespace mx
