#include "kernels/attention.h"

#include <algorithm>
#include <cmath>

#include "kernels/ops.h"
#include "quant/quant.h"

namespace mx {

void attend_reference(const AttentionArgs& a) {
  float* key = a.scratch + a.n_q * (a.n_keys + 64);  // the scratch beyond the scores
  float* value = key + a.head_dim_k;
  for (int64_t h = 0; h < a.n_q; ++h) {
    const float* q = a.q + h * a.head_dim_k;
    float* scores = a.scratch;
    for (int64_t j = 0; j < a.n_keys; ++j) {
      dequantize_row(a.k.type, attention_row(a.k, a, j), key, a.head_dim_k);
      double dot = 0.0;
      for (int64_t d = 0; d < a.head_dim_k; ++d) dot += static_cast<double>(q[d]) * key[d];
      scores[j] = static_cast<float>(dot) * a.scale;
    }
    if (a.softcap > 0) ops::softcap(scores, a.n_keys, a.softcap);
    const float max = *std::max_element(scores, scores + a.n_keys);
    double sum = 0.0;
    for (int64_t j = 0; j < a.n_keys; ++j) sum += std::exp(static_cast<double>(scores[j]) - max);
    double denominator = sum;
    if (a.partial) {
      a.partial[2 * h] = max;
      a.partial[2 * h + 1] = static_cast<float>(sum);
    } else if (a.sinks) {  // the sink takes a share of the denominator (a huge one: all of it)
      denominator += std::exp(static_cast<double>(a.sinks[h]) - max);
    }
    float* out = a.out + h * a.head_dim_v;
    std::fill(out, out + a.head_dim_v, 0.0f);
    for (int64_t j = 0; j < a.n_keys; ++j) {
      dequantize_row(a.v.type, attention_row(a.v, a, j), value, a.head_dim_v);
      const auto p = static_cast<float>(std::exp(static_cast<double>(scores[j]) - max) / denominator);
      for (int64_t d = 0; d < a.head_dim_v; ++d) out[d] += p * value[d];
    }
  }
}

void merge_attention_parts(int64_t n_q, int64_t head_dim_v, int64_t n_parts, const float* const* part_out,
                           const float* const* part_ml, const float* sinks, float* out) {
  for (int64_t h = 0; h < n_q; ++h) {
    float top = sinks ? sinks[h] : -INFINITY;
    for (int64_t c = 0; c < n_parts; ++c) top = std::max(top, part_ml[c][2 * h]);
    float total = sinks ? std::exp(sinks[h] - top) : 0.0f;
    float* o = out + h * head_dim_v;
    std::fill(o, o + head_dim_v, 0.0f);
    for (int64_t c = 0; c < n_parts; ++c) {
      const float w = part_ml[c][2 * h + 1] * std::exp(part_ml[c][2 * h] - top);
      total += w;
      const float* po = part_out[c] + h * head_dim_v;
      for (int64_t d = 0; d < head_dim_v; ++d) o[d] += w * po[d];
    }
    const float inv = 1.0f / total;
    for (int64_t d = 0; d < head_dim_v; ++d) o[d] *= inv;
  }
}

}  // namespace mx
