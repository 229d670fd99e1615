// Attention for one group of query heads (kernels/attention.h), written once over a
// vector type V and instantiated by avx2_attention.cpp and avx512_attention.cpp with
// their own flags (internal linkage, as tiling.h). Keys go in blocks of 32 with an online
// softmax: a running max and sum per head, earlier output rescaled when the max grows,
// so each key and value is loaded once for all heads of the group and nothing scales
// with the context length but the loop count. Head dims that are not a multiple of the
// vector width, or groups of more than 16 heads, use the reference.
//
// V provides: Reg, kWidth; zero, set1, load, store, add, sub, mul, max, fmadd; reduce_add,
// reduce_max, sums_of; exp.
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
    // Past the last key the pointers repeat the last one: their scores are computed and
    // then replaced by -inf, so the loops below need no branches.
    const float* keys[kBlock];
    const float* values[kBlock];
    for (int j = 0; j < kBlock; ++j) {
      keys[j] = attention_key(a, j0 + std::min(j, nb - 1));
      values[j] = attention_value(a, j0 + std::min(j, nb - 1));
    }
    // Scores of the block, every head, W keys at a time: W independent FMA chains over
    // the head dims give registers of partial sums, and one sums_of turns them into a
    // register of W scores (a horizontal sum per score, and one chain per key, were
    // latency-bound).
    const R scale = V::set1(a.scale);
    for (int jw = 0; jw < nb; jw += W)
      for (int64_t h = 0; h < nq; ++h) {
        const float* q = a.q + h * a.head_dim_k;
        R dots[W];
        R qc = V::load(q);
#pragma GCC unroll 16
        for (int j = 0; j < W; ++j) dots[j] = V::mul(qc, V::load(keys[jw + j]));
        for (int64_t c = 1; c < dk; ++c) {
          qc = V::load(q + W * c);
#pragma GCC unroll 16
          for (int j = 0; j < W; ++j) dots[j] = V::fmadd(qc, V::load(keys[jw + j] + W * c), dots[j]);
        }
        V::store(s[h] + jw, V::mul(V::sums_of(dots), scale));
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
    // out_h += sum_j p_hj · v_j, W output dims at a time held in registers. Four
    // accumulators take turns over the keys: one would chain every FMA on the one
    // before it, and that latency made this loop half of a long prompt's time.
    for (int64_t h = 0; h < nq; ++h) {
      float* out = a.out + h * a.head_dim_v;
      for (int64_t c = 0; c < dv; ++c) {
        R acc[4] = {V::load(out + W * c), V::zero(), V::zero(), V::zero()};
        int j = 0;
        for (; j + 4 <= nb; j += 4)
          for (int u = 0; u < 4; ++u)
            acc[u] = V::fmadd(V::set1(s[h][j + u]), V::load(values[j + u] + W * c), acc[u]);
        for (; j < nb; ++j) acc[0] = V::fmadd(V::set1(s[h][j]), V::load(values[j] + W * c), acc[0]);
        V::store(out + W * c, V::add(V::add(acc[0], acc[1]), V::add(acc[2], acc[3])));
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
