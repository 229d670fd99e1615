// Logits of every position of a prompt, run in batches of a chosen size: what batch- and
// thread-invariance tests compare.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "model/forward.h"

namespace mx::test {

inline std::vector<float> prompt_logits(const Model& m, const std::vector<Token>& ids, int64_t batch_rows,
                                        int threads) {
  ExecContext ctx(threads, best_kernels(CpuFeatures::detect()));
  KvCache cache(m.config, 256);
  std::vector<float> logits(ids.size() * m.config.n_vocab);
  for (size_t b = 0; b < ids.size(); b += batch_rows) {
    Batch batch;
    for (size_t i = b; i < std::min(ids.size(), b + batch_rows); ++i) batch.add(ids[i], i, 0, true);
    EXPECT_TRUE(forward(m, batch, cache, ctx, logits.data() + b * m.config.n_vocab).ok());
  }
  return logits;
}

}  // namespace mx::test
