#include "kernels/attention.h"

#include <algorithm>
#include <cmath>

#include "kernels/ops.h"

namespace mx {

void attend_reference(const AttentionArgs& a) {
  for (int64_t h = 0; h < a.n_q; ++h) {
    const float* q = a.q + h * a.head_dim_k;
    float* scores = a.scratch;
    for (int64_t j = 0; j < a.n_keys; ++j) {
      const float* k = attention_key(a, j);
      double dot = 0.0;
      for (int64_t d = 0; d < a.head_dim_k; ++d) dot += static_cast<double>(q[d]) * k[d];
      scores[j] = static_cast<float>(dot) * a.scale;
    }
    if (a.softcap > 0) ops::softcap(scores, a.n_keys, a.softcap);
    if (a.sinks) {
      const float sink = a.sinks[h];
      const float max = std::max(sink, *std::max_element(scores, scores + a.n_keys));
      double sum = std::exp(static_cast<double>(sink) - max);
      for (int64_t j = 0; j < a.n_keys; ++j) sum += std::exp(static_cast<double>(scores[j]) - max);
      for (int64_t j = 0; j < a.n_keys; ++j)
        scores[j] = static_cast<float>(std::exp(static_cast<double>(scores[j]) - max) / sum);
    } else {
      ops::softmax(scores, a.n_keys);
    }
    float* out = a.out + h * a.head_dim_v;
    std::fill(out, out + a.head_dim_v, 0.0f);
    for (int64_t j = 0; j < a.n_keys; ++j) {
      const float* v = attention_value(a, j);
      for (int64_t d = 0; d < a.head_dim_v; ++d) out[d] += scores[j] * v[d];
    }
  }
}

}  // namespace mx
