#include "sampling/candidates.h"

#include <algorithm>
#include <cmath>

namespace mx {

void Candidates::reset(std::span<const float> logits) {
  items.clear();  // then one write per entry (resize would zero them first)
  items.reserve(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) items.push_back(Candidate{static_cast<Token>(i), logits[i], 0.0f});
  sorted = false;
}

void Candidates::reset_top(std::span<const float> logits, size_t k) {
  items.clear();
  // items: the best so far, by logit descending. Entries arrive in id order, so one equal
  // to the last kept one loses, and an equal one goes after the others: ties keep lower ids.
  auto consider = [&](size_t i) {
    const float x = logits[i];
    if (std::isnan(x) || (items.size() == k && !(x > items.back().logit))) return;
    if (items.size() == k) items.pop_back();
    const auto at = std::upper_bound(items.begin(), items.end(), x, [](float v, const Candidate& c) { return v > c.logit; });
    items.insert(at, Candidate{static_cast<Token>(i), x, 0.0f});
  };
  // Once k are kept, most chunks hold nothing above the smallest of them: one branch-free
  // test per chunk (the compiler vectorises it) skips them.
  constexpr size_t kChunk = 16;
  for (size_t i = 0; i < logits.size();) {
    const size_t end = std::min(logits.size(), i + kChunk);
    if (items.size() == k) {
      const float floor = items.back().logit;
      bool above = false;
      for (size_t j = i; j < end; ++j) above |= logits[j] > floor;
      if (!above) {
        i = end;
        continue;
      }
    }
    for (; i < end; ++i) consider(i);
  }
  if (items.empty() && !logits.empty()) return reset(logits);  // all NaN: as the full path does
  sorted = true;
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
