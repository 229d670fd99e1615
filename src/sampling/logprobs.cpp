#include "sampling/logprobs.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace mx {

StepLogprobs step_logprobs(std::span<const float> logits, Token chosen, int top_n) {
  // log p_i = l_i - (max + log sum exp(l_j - max)), in double for the sum.
  const float max = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (float l : logits) sum += std::exp(static_cast<double>(l) - max);
  const double log_z = max + std::log(sum);
  auto logprob = [&](Token t) { return static_cast<float>(logits[static_cast<size_t>(t)] - log_z); };

  StepLogprobs out{{chosen, logprob(chosen)}, {}};
  const size_t n = std::min(static_cast<size_t>(std::max(top_n, 0)), logits.size());
  std::vector<Token> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::partial_sort(ids.begin(), ids.begin() + static_cast<ptrdiff_t>(n), ids.end(), [&](Token a, Token b) {
    return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)] ||
           (logits[static_cast<size_t>(a)] == logits[static_cast<size_t>(b)] && a < b);
  });
  for (size_t i = 0; i < n; ++i) out.top.push_back({ids[i], logprob(ids[i])});
  return out;
}

}  // namespace mx
