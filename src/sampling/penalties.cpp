#include "sampling/penalties.h"

namespace mx {

void Penalties::accept(Token t) {
  window_.push_back(t);
  ++counts_[t];
  // The window is kept at the largest size asked so far is not needed: last_n is fixed
  // per chain, except when the loop guard switches penalties on (same last_n).
  const size_t cap = p_.last_n < 0 ? SIZE_MAX : static_cast<size_t>(p_.last_n > 0 ? p_.last_n : 64);
  while (window_.size() > cap) {
    const Token old = window_.front();
    window_.pop_front();
    if (--counts_[old] == 0) counts_.erase(old);
  }
}

void Penalties::apply(Candidates& c) {
  if (!p_.active() || counts_.empty()) return;
  for (Candidate& x : c.items) {
    const auto it = counts_.find(x.id);
    if (it == counts_.end()) continue;
    if (x.logit <= 0) x.logit *= p_.repeat;
    else x.logit /= p_.repeat;
    x.logit -= static_cast<float>(it->second) * p_.frequency + p_.presence;
  }
  c.sorted = false;
}

}  // namespace mx
