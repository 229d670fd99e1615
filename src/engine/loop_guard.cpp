#include "engine/loop_guard.h"

namespace mx {

std::optional<LoopGuardMode> loop_guard_mode_from_name(std::string_view name) {
  if (name == "off") return LoopGuardMode::kOff;
  if (name == "stop") return LoopGuardMode::kStop;
  if (name == "penalize" || name == "penalise") return LoopGuardMode::kPenalize;
  return std::nullopt;
}

LoopDetector::LoopDetector(LoopGuardParams params)
    : p_(params), recent_(static_cast<size_t>(params.max_period), -1), run_(static_cast<size_t>(params.max_period) + 1, 0) {}

void LoopDetector::reset() {
  std::fill(recent_.begin(), recent_.end(), -1);
  std::fill(run_.begin(), run_.end(), 0);
  count_ = 0;
}

std::optional<DetectedLoop> LoopDetector::push(Token t) {
  const int64_t n = static_cast<int64_t>(recent_.size());
  std::optional<DetectedLoop> found;
  for (int p = 1; p <= p_.max_period; ++p) {
    const bool same = count_ >= p && recent_[static_cast<size_t>((count_ - p) % n)] == t;
    run_[p] = same ? run_[p] + 1 : 0;
    if (found || !same) continue;
    const int covered = run_[p] + p;  // tokens of the repeating stretch, its first cycle included
    // A stretch that repeats a shorter cycle (period d dividing p) is that cycle's loop:
    // it is reported, or not, when its own criterion is met.
    bool shorter = false;
    for (int d = 1; d < p && !shorter; ++d) shorter = p % d == 0 && run_[d] + d >= covered;
    if (shorter) continue;
    const int repeats = covered / p;
    const int min_tokens = p <= 2 ? p_.min_tokens_short : p_.min_tokens;
    const int min_repeats = p >= p_.long_period ? p_.min_repeats_long : p_.min_repeats;
    if (repeats >= min_repeats && covered >= min_tokens) found = DetectedLoop{p, repeats};
  }
  recent_[static_cast<size_t>(count_ % n)] = t;
  ++count_;
  return found;
}

}  // namespace mx
