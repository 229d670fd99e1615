#include "sampling/dry.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace mx {

namespace {
constexpr int kMaxMatch = 64;  // longer repeats get the penalty of this length
}

Dry::Dry(DryParams p, std::vector<Token> breakers) : p_(p), breakers_(std::move(breakers)) {
  std::sort(breakers_.begin(), breakers_.end());
}

bool Dry::is_breaker(Token t) const { return std::binary_search(breakers_.begin(), breakers_.end(), t); }

void Dry::accept(Token t) {
  history_.push_back(t);
  // Keep a bounded history: the searched window plus room to avoid shifting every step.
  const size_t keep = p_.last_n > 0 ? static_cast<size_t>(p_.last_n) : 4096;
  if (history_.size() > 2 * keep) history_.erase(history_.begin(), history_.end() - static_cast<ptrdiff_t>(keep));
}

void Dry::apply(Candidates& c) {
  if (!p_.active() || history_.size() < 2) return;
  const size_t window = p_.last_n > 0 ? std::min(history_.size(), static_cast<size_t>(p_.last_n)) : history_.size();
  const Token* h = history_.data() + (history_.size() - window);
  const int64_t n = static_cast<int64_t>(window);
  if (is_breaker(h[n - 1])) return;  // the context ends a sequence: nothing is being repeated
  // For each earlier position i, the length of the longest stretch ending at i - 1 that
  // equals the stretch ending the context; generating h[i] next would extend it by one.
  std::unordered_map<Token, int> longest;
  for (int64_t i = n - 1; i >= 1; --i) {
    int len = 0;
    while (len < kMaxMatch && len < i && h[i - 1 - len] == h[n - 1 - len] && !is_breaker(h[i - 1 - len])) ++len;
    if (len >= p_.allowed_length && !is_breaker(h[i])) {
      int& best = longest[h[i]];
      best = std::max(best, len);
    }
  }
  if (longest.empty()) return;
  for (Candidate& x : c.items) {
    const auto it = longest.find(x.id);
    if (it == longest.end()) continue;
    x.logit -= p_.multiplier * std::pow(p_.base, static_cast<float>(it->second - p_.allowed_length));
  }
  c.sorted = false;
}

}  // namespace mx
