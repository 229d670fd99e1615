// Perplexity of a token sequence, computed as the reference's perplexity tool does:
// the tokens are cut into chunks of n_ctx, each chunk starts with BOS, and only the
// predictions in the second half of each chunk are scored (they all see >= n_ctx/2 context).
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "core/expected.h"
#include "core/token.h"
#include "model/exec_context.h"
#include "model/kv_cache.h"
#include "model/model.h"

namespace mx {

struct PerplexityResult {
  double ppl = 0;
  double ppl_stderr = 0;
  int64_t n_chunks = 0;
  int64_t n_scored = 0;
};

Expected<PerplexityResult> perplexity(
    const Model& model, ExecContext& ctx, std::span<const Token> tokens, int64_t n_ctx, Token bos,
    const KvCacheTypes& cache_types,
    const std::function<void(int64_t chunk, int64_t n_chunks, double ppl)>& on_chunk = nullptr);

}  // namespace mx
