#include "engine/perplexity.h"

#include <cmath>
#include <vector>

#include "model/forward.h"
#include "model/kv_cache.h"

namespace mx {

Expected<PerplexityResult> perplexity(
    const Model& model, ExecContext& ctx, std::span<const Token> tokens, int64_t n_ctx, Token bos,
    const KvCacheTypes& cache_types,
    const std::function<void(int64_t, int64_t, double)>& on_chunk) {
  if (n_ctx < 8 || n_ctx > kMaxBatch * 64) return make_error("context size {} is out of range", n_ctx);
  const int64_t n_chunks = static_cast<int64_t>(tokens.size()) / n_ctx;
  if (n_chunks < 1)
    return make_error("need at least {} tokens for one chunk of context {}, got {}", n_ctx, n_ctx,
                      tokens.size());
  const int64_t n_vocab = model.config.n_vocab;
  const int64_t first = n_ctx / 2;
  PerplexityResult r;
  double nll = 0, nll2 = 0;
  std::vector<float> logits(static_cast<size_t>(n_ctx * n_vocab));
  KvCache cache(model.config, n_ctx, 1, 0, 0, cache_types);
  for (int64_t c = 0; c < n_chunks; ++c) {
    cache.clear(0);
    const int64_t start = c * n_ctx;
    for (int64_t b = 0; b < n_ctx; b += kMaxBatch) {
      Batch batch;
      for (int64_t i = b; i < std::min(n_ctx, b + kMaxBatch); ++i)
        batch.add(i == 0 ? bos : tokens[start + i], static_cast<int32_t>(i), 0, i >= first);
      const int64_t out_row = std::max<int64_t>(0, b - first);
      if (auto st = forward(model, batch, cache, ctx, logits.data() + out_row * n_vocab); !st)
        return st.error();
    }
    for (int64_t j = first; j < n_ctx - 1; ++j) {
      const float* row = &logits[(j - first) * n_vocab];
      float max = row[0];
      for (int64_t v = 1; v < n_vocab; ++v) max = std::max(max, row[v]);
      double sum = 0;
      for (int64_t v = 0; v < n_vocab; ++v) sum += std::exp(static_cast<double>(row[v] - max));
      const double lp = row[tokens[start + j + 1]] - max - std::log(sum);
      nll -= lp;
      nll2 += lp * lp;
      ++r.n_scored;
    }
    r.n_chunks = c + 1;
    if (on_chunk) on_chunk(c, n_chunks, std::exp(nll / r.n_scored));
  }
  const double mean = nll / r.n_scored;
  const double var = nll2 / r.n_scored - mean * mean;
  r.ppl = std::exp(mean);
  r.ppl_stderr = r.n_scored > 1 ? r.ppl * std::sqrt(var / (r.n_scored - 1)) : 0;
  return r;
}

}  // namespace mx
