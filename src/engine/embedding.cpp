#include "engine/embedding.h"

#include <algorithm>
#include <cmath>

#include "model/forward.h"

namespace mx {

Expected<std::vector<float>> embed_tokens(const Model& model, ExecContext& ctx, KvCache& cache,
                                          std::span<const Token> tokens, Pooling pooling, int64_t chunk) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  const int64_t width = model.config.n_embd;
  if (n == 0) return make_error("the text to embed is empty");
  if (n > cache.n_ctx()) return make_error("the text has {} tokens but the context holds {}", n, cache.n_ctx());
  chunk = std::clamp<int64_t>(chunk, 1, kMaxBatch);

  cache.clear(0);
  std::vector<double> sum(static_cast<size_t>(width), 0.0);  // double: long texts add many rows
  std::vector<float> hidden;
  Batch batch;
  for (int64_t start = 0; start < n; start += chunk) {
    const int64_t end = std::min(n, start + chunk);
    batch.clear();
    // Only the rows the pooling reads leave the forward pass.
    for (int64_t i = start; i < end; ++i)
      batch.add(tokens[i], static_cast<int32_t>(i), 0,
                pooling == Pooling::kMean || (pooling == Pooling::kCls && i == 0) ||
                    (pooling == Pooling::kLast && i == n - 1));
    int64_t rows = 0;
    for (const uint8_t w : batch.want_logits) rows += w;
    hidden.resize(static_cast<size_t>(std::max<int64_t>(rows, 1) * width));
    if (auto st = forward_hidden(model, batch, cache, ctx, hidden.data()); !st) {
      cache.clear(0);
      return st.error();
    }
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < width; ++j) sum[j] += hidden[r * width + j];
  }
  cache.clear(0);

  const double count = pooling == Pooling::kMean ? static_cast<double>(n) : 1.0;
  double norm2 = 0.0;
  for (double& v : sum) {
    v /= count;
    norm2 += v * v;
  }
  const double scale = norm2 > 0 ? 1.0 / std::sqrt(norm2) : 0.0;
  std::vector<float> out(static_cast<size_t>(width));
  for (int64_t j = 0; j < width; ++j) out[j] = static_cast<float>(sum[j] * scale);
  return out;
}

}  // namespace mx
