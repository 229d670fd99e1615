#include "engine/drafter.h"

#include <algorithm>

namespace mx {

void Drafter::begin(int64_t cached, std::span<const Token> prompt) {
  sequence_.resize(static_cast<size_t>(std::clamp<int64_t>(cached, 0, static_cast<int64_t>(sequence_.size()))));
  sequence_.insert(sequence_.end(), prompt.begin(), prompt.end());
  limit_ = params_.draft_max;
  misses_ = resting_ = 0;
  proposed_ = 0;
}

std::vector<Token> Drafter::propose(Token next, int max_tokens) {
  std::vector<Token> out;
  proposed_ = 0;
  if (resting_ > 0) {
    --resting_;
    return out;
  }
  max_tokens = std::min({max_tokens, params_.draft_max, limit_});
  if (max_tokens <= 0 || max_tokens < params_.draft_min) return out;
  sequence_.push_back(next);  // the context is the sequence and `next`; taken back below
  draft(sequence_, max_tokens, out);
  sequence_.pop_back();
  if (static_cast<int>(out.size()) > max_tokens) out.resize(static_cast<size_t>(max_tokens));
  if (static_cast<int>(out.size()) < params_.draft_min) out.clear();
  proposed_ = out.size();
  return out;
}

void Drafter::advance(Token next, std::span<const Token> accepted) {
  sequence_.push_back(next);
  sequence_.insert(sequence_.end(), accepted.begin(), accepted.end());
  if (proposed_ == 0) return;
  const auto taken = static_cast<int>(accepted.size());
  if (accepted.size() == proposed_) {
    limit_ = std::min(params_.draft_max, 2 * limit_);
  } else {
    limit_ = std::max(1, taken + 1);
  }
  if (taken > 0) {
    misses_ = 0;
  } else {
    misses_ = std::min(misses_ + 1, 4);
    resting_ = (1 << misses_) - 1;
  }
}

}  // namespace mx
