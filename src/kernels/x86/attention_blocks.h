// Attention for one group of query heads (kernels/attention.h), written once over a
// vector type V and instantiated by avx2_attention.cpp and avx512_attention.cpp with
// their own flags (internal linkage, as tiling.h). Keys go in blocks of 32 with an online
// softmax: a running max and sum per head, earlier output rescaled when the max grows,
// so each key and value is loaded once for all heads of the group and nothing scales
// with the context length but the loop count. Head dims that are not a multiple of the
// vector width, or groups of more than 16 heads, use the reference.
//
// V provides: Reg, kWidth; zero, set1, load, store, add, sub, mul, max, fmadd; reduce_add,
// reduce_max; exp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/attention.h"

namespace mx::x86 {
namespace {  // NOLINT(google-build-namespaces): per-TU copies, see above

template <class V>
void attend_blocks(const AttentionArgs& a) {
  constexpr int kBlock = 32;  // keys per online-softmax step
  constexpr int kMaxHeads = 16;
  constexpr int W = V::kWidth;
  using R = typename V::Reg;
  if (a.head_dim_k % W != 0 || a.head_dim_v % W != 0 || a.n_q > kMaxHeads) return attend_reference(a);
  const int64_t nq = a.n_q, dk = a.head_dim_k / W, dv = a.head_dim_v / W;
  alignas(64) float s[kMaxHeads][kBlock];
  float m[kMaxHeads], l[kMaxHeads];
  for (int64_t h = 0; h < nq; ++h) {
    m[h] = -INFINITY;
    l[h] = 0.0f;
    for (int64_t c = 0; c < dv; ++c) V::store(a.out + h * a.head_dim_v + W * c, V::zero());
  }
  for (int64_t j0 = 0; j0 < a.n_keys; j0 += kBlock) {
    const int nb = static_cast<int>(std::min<int64_t>(kBlock, a.n_keys - j0));
    const float* keys[kBlock];
    const float* values[kBlock];
    for (int j = 0; j < nb; ++j) {
      keys[j] = attention_key(a, j0 + j);
      values[j] = attention_value(a, j0 + j);
    }
    // Scores of the block, every head; past the last key -inf, which gets no weight.
    for (int j = 0; j < nb; ++j) {
      const float* k = keys[j];
      for (int64_t h = 0; h < nq; ++h) {
        const float* q = a.q + h * a.head_dim_k;
        R acc = V::mul(V::load(q), V::load(k));
        for (int64_t c = 1; c < dk; ++c) acc = V::fmadd(V::load(q + W * c), V::load(k + W * c), acc);
        s[h][j] = V::reduce_add(acc) * a.scale;
      }
    }
    // Online softmax: new max, rescale what came before, probabilities of this block.
    for (int64_t h = 0; h < nq; ++h) {
      if (a.softcap > 0)
        for (int j = 0; j < nb; ++j) s[h][j] = a.softcap * std::tanh(s[h][j] / a.softcap);
      for (int j = nb; j < kBlock; ++j) s[h][j] = -INFINITY;
      R block_max = V::load(s[h]);
      for (int i = W; i < kBlock; i += W) block_max = V::max(block_max, V::load(s[h] + i));
      const float new_max = std::max(m[h], V::reduce_max(block_max));
      const float correction = std::exp(m[h] - new_max);  // 0 on the first block
      for (int i = 0; i < kBlock; i += W) V::store(s[h] + i, V::exp(V::sub(V::load(s[h] + i), V::set1(new_max))));
      for (int j = nb; j < kBlock; ++j) s[h][j] = 0.0f;  // exp clamps its input: -inf gave a tiny value, not 0
      R sum = V::load(s[h]);
      for (int i = W; i < kBlock; i += W) sum = V::add(sum, V::load(s[h] + i));
      l[h] = l[h] * correction + V::reduce_add(sum);
      m[h] = new_max;
      if (correction != 1.0f) {
        const R corr = V::set1(correction);
        float* out = a.out + h * a.head_dim_v;
        for (int64_t c = 0; c < dv; ++c) V::store(out + W * c, V::mul(V::load(out + W * c), corr));
      }
    }
    // out_h += sum_j p_hj · v_j, W output dims at a time held in a register.
    for (int64_t h = 0; h < nq; ++h) {
      float* out = a.out + h * a.head_dim_v;
      for (int64_t c = 0; c < dv; ++c) {
        R acc = V::load(out + W * c);
        for (int j = 0; j < nb; ++j) acc = V::fmadd(V::set1(s[h][j]), V::load(values[j] + W * c), acc);
        V::store(out + W * c, acc);
      }
    }
  }
  for (int64_t h = 0; h < nq; ++h) {
    const R inv = V::set1(1.0f / l[h]);
    float* out = a.out + h * a.head_dim_v;
    for (int64_t c = 0; c < dv; ++c) V::store(out + W * c, V::mul(V::load(out + W * c), inv));
  }
}

}  // namespace
}  // namespace mx::x86
