#include "engine/ngram_drafter.h"

#include <algorithm>

namespace mx {

// The context's last n tokens, longest n first, found earlier: what followed them is the
// draft. The most recent occurrence that is followed by max_tokens tokens wins, else the
// earliest (the longest continuation): in text that repeats with a short period, the most
// recent occurrence is followed by one period only.
void NgramDrafter::draft(std::span<const Token> context, int max_tokens, std::vector<Token>& out) {
  const auto size = static_cast<int64_t>(context.size());
  for (int n = params().ngram_max; n >= std::max(1, params().ngram_min); --n) {
    if (size <= n) continue;
    const auto tail = context.subspan(static_cast<size_t>(size - n));
    int64_t found = -1;
    for (int64_t start = size - n - 1; start >= 0; --start) {
      if (!std::equal(tail.begin(), tail.end(), context.begin() + start)) continue;
      found = start;
      if (size - (start + n) >= max_tokens) break;
    }
    if (found < 0) continue;
    const int64_t from = found + n;
    const int64_t to = std::min(size, from + max_tokens);
    out.assign(context.begin() + from, context.begin() + to);
    return;
  }
}

}  // namespace mx
