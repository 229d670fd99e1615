// A batch of (sequence, position, token) rows: prefill of a prompt, decode steps of
// many sequences, or both mixed, all go through the same forward call.
#pragma once

#include <cstdint>
#include <vector>

#include "core/token.h"

namespace mx {

struct Batch {
  std::vector<Token> tokens;
  std::vector<int32_t> positions;
  std::vector<int32_t> seq_ids;
  std::vector<uint8_t> want_logits;  // 1 where the caller needs this row's logits

  int64_t size() const { return static_cast<int64_t>(tokens.size()); }
  void clear() { tokens.clear(); positions.clear(); seq_ids.clear(); want_logits.clear(); }
  void add(Token token, int32_t pos, int32_t seq, bool logits) {
    tokens.push_back(token);
    positions.push_back(pos);
    seq_ids.push_back(seq);
    want_logits.push_back(logits ? 1 : 0);
  }
};

}  // namespace mx
