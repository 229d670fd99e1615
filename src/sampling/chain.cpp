#include "sampling/chain.h"

#include "sampling/temperature.h"
#include "sampling/top_k.h"
#include "sampling/top_p.h"

namespace mx {

Token argmax(std::span<const float> logits) {
  Token best = 0;
  for (size_t i = 1; i < logits.size(); ++i)
    if (logits[i] > logits[best]) best = static_cast<Token>(i);
  return best;
}

SamplerChain::SamplerChain(const SamplingParams& p) : rng_(p.seed), greedy_(p.temperature <= 0) {
  if (greedy_) return;
  // The usual order: narrow by rank and mass on the raw distribution, then reshape.
  add(std::make_unique<TopK>(p.top_k));
  add(std::make_unique<TopP>(p.top_p));
  add(std::make_unique<Temperature>(p.temperature));
}

Token SamplerChain::sample(std::span<const float> logits) {
  if (greedy_) return argmax(logits);
  candidates_.reset(logits);
  for (auto& s : stages_) s->apply(candidates_);
  candidates_.softmax();
  const double u = rng_.uniform();
  double cum = 0.0;
  Token chosen = candidates_.items.back().id;
  for (const auto& c : candidates_.items) {
    cum += c.p;
    if (u < cum) {
      chosen = c.id;
      break;
    }
  }
  for (auto& s : stages_) s->accept(chosen);
  return chosen;
}

}  // namespace mx
