#include "sampling/logit_bias.h"

namespace mx {

void LogitBias::apply(Candidates& c) {
  if (biases_.empty()) return;
  // Candidates still index the vocabulary when the chain starts; otherwise search by id.
  const bool by_index = !c.sorted && !c.items.empty() && c.items.front().id == 0 &&
                        c.items.back().id == static_cast<Token>(c.items.size() - 1);
  for (const TokenBias& b : biases_) {
    if (by_index) {
      if (b.token >= 0 && static_cast<size_t>(b.token) < c.items.size()) c.items[b.token].logit += b.bias;
      continue;
    }
    for (Candidate& x : c.items)
      if (x.id == b.token) x.logit += b.bias;
  }
}

}  // namespace mx
