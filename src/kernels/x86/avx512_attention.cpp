// AVX-512 attention for one group of query heads (see kernels/attention.h): keys in blocks
// of 32 with an online softmax (a running max and sum per head, earlier output rescaled
// when the max grows), so each key and value is loaded once for all heads of the group and
// nothing scales with the context length but the loop count. Head dims that are not a
// multiple of 16, or groups of more than 16 heads, use the reference.
#if defined(__x86_64__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cmath>

#include "kernels/attention.h"
#include "kernels/x86/avx512_math.h"
#include "kernels/x86/install.h"

namespace mx::x86 {
namespace {

constexpr int kBlock = 32;  // keys per online-softmax step
constexpr int kMaxHeads = 16;

void attend(const AttentionArgs& a) {
  if (a.head_dim_k % 16 != 0 || a.head_dim_v % 16 != 0 || a.n_q > kMaxHeads) return attend_reference(a);
  const int64_t nq = a.n_q, dk = a.head_dim_k / 16, dv = a.head_dim_v / 16;
  alignas(64) float s[kMaxHeads][kBlock];
  float m[kMaxHeads], l[kMaxHeads];
  for (int64_t h = 0; h < nq; ++h) {
    m[h] = -INFINITY;
    l[h] = 0.0f;
    for (int64_t c = 0; c < dv; ++c) _mm512_storeu_ps(a.out + h * a.head_dim_v + 16 * c, _mm512_setzero_ps());
  }
  for (int64_t j0 = 0; j0 < a.n_keys; j0 += kBlock) {
    const int nb = static_cast<int>(std::min<int64_t>(kBlock, a.n_keys - j0));
    // Scores of the block, every head.
    for (int j = 0; j < nb; ++j) {
      const float* k = a.k + (j0 + j) * a.k_stride;
      for (int64_t h = 0; h < nq; ++h) {
        const float* q = a.q + h * a.head_dim_k;
        __m512 acc = _mm512_mul_ps(_mm512_loadu_ps(q), _mm512_loadu_ps(k));
        for (int64_t c = 1; c < dk; ++c) acc = _mm512_fmadd_ps(_mm512_loadu_ps(q + 16 * c), _mm512_loadu_ps(k + 16 * c), acc);
        s[h][j] = _mm512_reduce_add_ps(acc) * a.scale;
      }
    }
    const __mmask16 lo = static_cast<__mmask16>(nb >= 16 ? 0xffff : (1u << nb) - 1);
    const __mmask16 hi = static_cast<__mmask16>(nb <= 16 ? 0 : nb >= 32 ? 0xffff : (1u << (nb - 16)) - 1);
    // Online softmax: new max, rescale what came before, probabilities of this block.
    for (int64_t h = 0; h < nq; ++h) {
      if (a.softcap > 0)
        for (int j = 0; j < nb; ++j) s[h][j] = a.softcap * std::tanh(s[h][j] / a.softcap);
      const __m512 s0 = _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), lo, s[h]);
      const __m512 s1 = _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), hi, s[h] + 16);
      const float block_max = _mm512_reduce_max_ps(_mm512_max_ps(s0, s1));
      const float new_max = std::max(m[h], block_max);
      const float correction = std::exp(m[h] - new_max);  // 0 on the first block
      const __m512 mx = _mm512_set1_ps(new_max);
      const __m512 p0 = _mm512_maskz_mov_ps(lo, exp512(_mm512_sub_ps(s0, mx)));
      const __m512 p1 = _mm512_maskz_mov_ps(hi, exp512(_mm512_sub_ps(s1, mx)));
      _mm512_store_ps(s[h], p0);
      _mm512_store_ps(s[h] + 16, p1);
      l[h] = l[h] * correction + _mm512_reduce_add_ps(_mm512_add_ps(p0, p1));
      m[h] = new_max;
      if (correction != 1.0f) {
        const __m512 corr = _mm512_set1_ps(correction);
        float* out = a.out + h * a.head_dim_v;
        for (int64_t c = 0; c < dv; ++c) _mm512_storeu_ps(out + 16 * c, _mm512_mul_ps(_mm512_loadu_ps(out + 16 * c), corr));
      }
    }
    // out_h += sum_j p_hj · v_j, 16 output dims at a time held in a register.
    for (int64_t h = 0; h < nq; ++h) {
      float* out = a.out + h * a.head_dim_v;
      for (int64_t c = 0; c < dv; ++c) {
        __m512 acc = _mm512_loadu_ps(out + 16 * c);
        const float* v = a.v + j0 * a.v_stride + 16 * c;
        for (int j = 0; j < nb; ++j) acc = _mm512_fmadd_ps(_mm512_set1_ps(s[h][j]), _mm512_loadu_ps(v + j * a.v_stride), acc);
        _mm512_storeu_ps(out + 16 * c, acc);
      }
    }
  }
  for (int64_t h = 0; h < nq; ++h) {
    const __m512 inv = _mm512_set1_ps(1.0f / l[h]);
    float* out = a.out + h * a.head_dim_v;
    for (int64_t c = 0; c < dv; ++c) _mm512_storeu_ps(out + 16 * c, _mm512_mul_ps(_mm512_loadu_ps(out + 16 * c), inv));
  }
}

}  // namespace

void install_avx512_attention(AttendFn* slot) { *slot = &attend; }

}  // namespace mx::x86
#endif
