#include "sampling/mirostat.h"

#include <algorithm>
#include <cmath>

namespace mx {

Token draw(Candidates& c, Rng& rng) {
  c.softmax();
  const double u = rng.uniform();
  double cum = 0.0;
  for (const Candidate& x : c.items) {
    cum += x.p;
    if (u < cum) return x.id;
  }
  return c.items.back().id;
}

Token Mirostat::choose(Candidates& c, Rng& rng) {
  c.softmax();
  if (version_ == 1) {
    // Zipf exponent from the ratios of the m = 100 most likely probabilities.
    const size_t m = std::min<size_t>(100, c.items.size() - 1);
    double sum_tb = 0.0, sum_t2 = 0.0;
    for (size_t i = 0; i < m; ++i) {
      const double t = std::log(static_cast<double>(i + 2) / static_cast<double>(i + 1));
      const double b = std::log(static_cast<double>(c.items[i].p) / static_cast<double>(c.items[i + 1].p));
      sum_tb += t * b;
      sum_t2 += t * t;
    }
    const double s_hat = sum_t2 > 0 ? sum_tb / sum_t2 : 1.0;
    const double eps = s_hat - 1.0;
    double k = std::pow(eps * std::pow(2.0, static_cast<double>(mu_)) /
                            (1.0 - std::pow(static_cast<double>(n_vocab_ > 0 ? n_vocab_ : static_cast<int64_t>(c.items.size())), -eps)),
                        1.0 / s_hat);
    if (!std::isfinite(k)) k = static_cast<double>(c.items.size());
    c.truncate(static_cast<size_t>(std::clamp(k, 1.0, static_cast<double>(c.items.size()))));
  } else {
    size_t keep = 0;  // tokens whose surprise -log2 p stays below mu; at least one
    while (keep < c.items.size() && -std::log2(c.items[keep].p) <= mu_) ++keep;
    c.truncate(std::max<size_t>(keep, 1));
  }
  c.softmax();
  const Token chosen = draw(c, rng);
  for (const Candidate& x : c.items) {
    if (x.id != chosen) continue;
    const float surprise = -std::log2(x.p);
    mu_ -= eta_ * (surprise - tau_);
    break;
  }
  return chosen;
}

}  // namespace mx
