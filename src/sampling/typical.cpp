#include "sampling/typical.h"

#include <algorithm>
#include <cmath>

namespace mx {

void Typical::apply(Candidates& c) {
  if (p_ >= 1.0f || c.items.size() <= 1) return;
  c.softmax();
  double entropy = 0.0;
  for (const Candidate& x : c.items)
    if (x.p > 0) entropy -= x.p * std::log(static_cast<double>(x.p));
  std::vector<std::pair<double, size_t>> distance(c.items.size());
  for (size_t i = 0; i < c.items.size(); ++i) {
    const double surprise = c.items[i].p > 0 ? -std::log(static_cast<double>(c.items[i].p)) : INFINITY;
    distance[i] = {std::fabs(surprise - entropy), i};
  }
  std::stable_sort(distance.begin(), distance.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  double cum = 0.0;
  size_t keep = distance.size();
  for (size_t i = 0; i < distance.size(); ++i) {
    cum += c.items[distance[i].second].p;
    if (cum > p_ && i + 1 >= min_keep_) {
      keep = i + 1;
      break;
    }
  }
  std::vector<Candidate> kept;
  kept.reserve(keep);
  for (size_t i = 0; i < keep; ++i) kept.push_back(c.items[distance[i].second]);
  c.items = std::move(kept);
  c.sorted = false;
  c.sort_desc();
}

}  // namespace mx
