// AVX-512 dot products of the K-quant weights (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K) against
// Q8_K activations, 64 activations per step (two sub-blocks of 32 or four of 16).
// maddubs makes pairs of int16 (no saturation: at most 2 * 63 * 127) and vpdpwssd (VNNI)
// multiplies them by each sub-block's scale into the int32 sums, so a super-block's sums
// stay exact integers until one float scale per super-block. Installed with the VNNI paths.
// The gemm is one dot per output: these formats are decode-sized in practice.
#if defined(__x86_64__)
// GCC 12's AVX-512 headers warn on their own _mm512_undefined_*() (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/x86/install.h"
#include "quant/blocks.h"
#include "kernels/x86/kquant_scales.h"

namespace mx::x86 {
namespace {

constexpr size_t kQ8KBytes = sizeof(BlockQ8_K), kQ8KQs = kQ8KQsAt, kQ8KBsums = kQ8KBsumsAt;

float load_half(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, sizeof(h));
  return _cvtsh_ss(h);
}
float load_f32(const uint8_t* p) {
  float f;
  std::memcpy(&f, p, sizeof(f));
  return f;
}
__m256i load256(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
__m512i load512(const uint8_t* p) { return _mm512_loadu_si512(p); }
__m512i join(__m256i lo, __m256i hi) { return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1); }

// int16 lanes 0..15 = scale a, 16..31 = scale b, picked from the int16 scales in s.
__m512i pick2(__m512i s, int a, int b) {
  return _mm512_permutexvar_epi16(join(_mm256_set1_epi16(static_cast<int16_t>(a)), _mm256_set1_epi16(static_cast<int16_t>(b))), s);
}

float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Q2_K and Q3_K: 16 sub-blocks of 16, 2 bits of every element in qs (field k of byte l of
// half h is element 128h + 32k + l; Q3_K's third bit of element e is bit e / 32 of
// hmask[e % 32]). One super-block's weight side in registers: q[c] holds elements
// 64c..64c+63 as unsigned bytes (the 2-bit field plus, for Q3_K, 4 * the third bit, so
// 0..7; the caller takes off the 4) and scale[c] the int16 scale of each one's sub-block.
// The tokens of a tile share it; each token's sums are exactly those of a lone dot.
template <bool kQ3>
struct TwoBitWeights {
  __m512i q[4], scale[4];

  [[gnu::always_inline]] TwoBitWeights(const uint8_t* qs, const uint8_t* hmask, __m256i sc16) {
    const __m512i three = _mm512_set1_epi8(3), four = _mm512_set1_epi8(4);
    const __m512i sc = _mm512_zextsi256_si512(sc16);
    const __m512i hm = kQ3 ? _mm512_broadcast_i64x4(load256(hmask)) : _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      // Fields 2j and 2j + 1 (j = c % 2) of qs half c / 2, one per 256-bit half (per-half
      // variable shifts), and bits 2c, 2c + 1 of hmask.
      const __m512i raw = _mm512_broadcast_i64x4(load256(qs + 32 * (c / 2)));
      const int k = 2 * (c % 2);
      const __m512i shift = join(_mm256_set1_epi16(static_cast<int16_t>(2 * k)), _mm256_set1_epi16(static_cast<int16_t>(2 * k + 2)));
      q[c] = _mm512_and_si512(_mm512_srlv_epi16(raw, shift), three);
      if constexpr (kQ3) {
        const __m512i bit = join(_mm256_set1_epi8(static_cast<char>(1 << (2 * c))), _mm256_set1_epi8(static_cast<char>(1 << (2 * c + 1))));
        q[c] = _mm512_mask_add_epi8(q[c], _mm512_test_epi8_mask(hm, bit), q[c], four);
      }
      // int16 lanes 8j..8j+7 belong to sub-block 4c + j.
      scale[c] = _mm512_permutexvar_epi16(
          join(_mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(4 * c + 1)), _mm_set1_epi16(static_cast<int16_t>(4 * c))),
               _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(4 * c + 3)), _mm_set1_epi16(static_cast<int16_t>(4 * c + 2)))),
          sc);
    }
  }

  // int32 partial sums of sum over sub-blocks s of scale[s] * (q . y over s).
  [[gnu::always_inline]] __m512i dot(const uint8_t* y) const {
    __m512i isum = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) isum = _mm512_dpwssd_epi32(isum, _mm512_maddubs_epi16(q[c], load512(y + 64 * c)), scale[c]);
    return isum;
  }
};

// Q2_K (84 bytes: scales[16], qs[64], d, dmin): scale in the low nibble, min in the high.
// One row against T tokens (Q8_K rows xs bytes apart): out[t * os].
struct Q2K {
  template <int T>
  static void dots(int64_t n, const uint8_t* wb, const uint8_t* xb, size_t xs, float* out, size_t os) {
    const __m128i nib = _mm_set1_epi8(0x0f);
    __m512 acc[T];
    __m256 macc[T];
    for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps(), macc[t] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / 256; ++i, wb += 84, xb += kQ8KBytes) {
      const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(wb));
      const __m256i sc16 = _mm256_cvtepu8_epi16(_mm_and_si128(sc8, nib));
      const __m256i m16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sc8, 4), nib));
      const TwoBitWeights<false> wq(wb + 16, nullptr, sc16);
      const float d = load_half(wb + 80), dmin = load_half(wb + 82);
      for (int t = 0; t < T; ++t) {
        const uint8_t* y = xb + t * xs;
        const __m256i msum = _mm256_madd_epi16(load256(y + kQ8KBsums), m16);
        const float dy = load_f32(y);
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(wq.dot(y + kQ8KQs)), _mm512_set1_ps(d * dy), acc[t]);
        macc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_set1_ps(dmin * dy), macc[t]);
      }
    }
    for (int t = 0; t < T; ++t) out[t * os] = _mm512_reduce_add_ps(acc[t]) - hsum256(macc[t]);
  }
};

// Q3_K (110 bytes: hmask[32], qs[64], scales[12], d): x = d * sc * (q - 4) with q the
// 3-bit field; the - 4 is applied as -4 * sum over sub-blocks of sc * (group sum).
struct Q3K {
  template <int T>
  static void dots(int64_t n, const uint8_t* wb, const uint8_t* xb, size_t xs, float* out, size_t os) {
    __m512 acc[T];
    for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
    for (int64_t i = 0; i < n / 256; ++i, wb += 110, xb += kQ8KBytes) {
      const __m256i sc16 = _mm256_sub_epi16(_mm256_cvtepu8_epi16(load_q3_k_scales(wb + 96)), _mm256_set1_epi16(32));
      const TwoBitWeights<true> wq(wb + 32, wb, sc16);
      const float d = load_half(wb + 108);
      for (int t = 0; t < T; ++t) {
        const uint8_t* y = xb + t * xs;
        const __m256i offset = _mm256_madd_epi16(load256(y + kQ8KBsums), sc16);
        const __m512i isum = _mm512_sub_epi32(wq.dot(y + kQ8KQs), _mm512_zextsi256_si512(_mm256_slli_epi32(offset, 2)));
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(d * load_f32(y)), acc[t]);
      }
    }
    for (int t = 0; t < T; ++t) out[t * os] = _mm512_reduce_add_ps(acc[t]);
  }
};

template <class K>
void vec_dot_tiled(int64_t n, const void* w, const void* x, float* out) {
  K::template dots<1>(n, static_cast<const uint8_t*>(w), static_cast<const uint8_t*>(x), 0, out, 0);
}

// Tiles of up to 4 tokens, each tile over all rows (a call's rows stay in L2 between
// tiles): one unpacking of a super-block's weights serves the tile.
template <class K>
void gemm_tiled(int64_t n, const void* w, size_t ws, int64_t n_rows, const void* x, size_t xs,
                int64_t n_tok, float* y, size_t ys) {
  constexpr int kTile = 4;
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xb = static_cast<const uint8_t*>(x);
  for (int64_t t0 = 0; t0 < n_tok; t0 += kTile) {
    const int64_t nt = std::min<int64_t>(kTile, n_tok - t0);
    for (int64_t r = 0; r < n_rows; ++r) {
      const uint8_t* row = wb + r * ws;
      const uint8_t* xt = xb + t0 * xs;
      float* out = y + t0 * ys + r;
      switch (nt) {
        case 4: K::template dots<4>(n, row, xt, xs, out, ys); break;
        case 3: K::template dots<3>(n, row, xt, xs, out, ys); break;
        case 2: K::template dots<2>(n, row, xt, xs, out, ys); break;
        default: K::template dots<1>(n, row, xt, xs, out, ys); break;
      }
    }
  }
}

template <bool kQ5>
void vec_dot_q45_K(int64_t n, const void* w, const void* x, float* out) {
  constexpr size_t kBytes = kQ5 ? 176 : 144, kQs = kQ5 ? 48 : 16, kQh = 16;
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xb = static_cast<const uint8_t*>(x);
  const __m256i nib = _mm256_set1_epi8(0x0f), one = _mm256_set1_epi8(1);
  __m512 acc = _mm512_setzero_ps();
  __m256 macc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 256; ++i, wb += kBytes, xb += kQ8KBytes) {
    const KScales ks = unpack_k_scales(wb + 4);
    const __m512i sc16 = _mm512_castsi256_si512(
        _mm256_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(ks.sc))));
    const __m256i qh = kQ5 ? load256(wb + kQh) : _mm256_setzero_si256();
    __m512i isum = _mm512_setzero_si512();
    for (int p = 0; p < 4; ++p) {
      // Sub-blocks 2p (low nibbles) and 2p + 1 (high) side by side, matching the 64
      // activations 64p..64p+63.
      const __m256i raw = load256(wb + kQs + 32 * p);
      __m256i lo = _mm256_and_si256(raw, nib);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), nib);
      if constexpr (kQ5) {
        lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * p), one), 4));
        hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * p + 1), one), 4));
      }
      const __m512i pairs = _mm512_maddubs_epi16(join(lo, hi), load512(xb + kQ8KQs + 64 * p));
      isum = _mm512_dpwssd_epi32(isum, pairs, pick2(sc16, 2 * p, 2 * p + 1));
    }
    const __m128i m8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(ks.m));
    const __m256i msum = _mm256_madd_epi16(load256(xb + kQ8KBsums), _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8)));
    const float dy = load_f32(xb);
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(load_half(wb) * dy), acc);
    macc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_set1_ps(load_half(wb + 2) * dy), macc);
  }
  *out = _mm512_reduce_add_ps(acc) - hsum256(macc);
}

void vec_dot_q6_K(int64_t n, const void* w, const void* x, float* out) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xb = static_cast<const uint8_t*>(x);
  const __m256i nib = _mm256_set1_epi8(0x0f), two = _mm256_set1_epi8(3);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t i = 0; i < n / 256; ++i, wb += 210, xb += kQ8KBytes) {
    const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(wb + 192));
    const __m256i sc16 = _mm256_cvtepi8_epi16(sc8);
    __m512i isum = _mm512_setzero_si512();
    for (int h = 0; h < 2; ++h) {
      const __m256i ql0 = load256(wb + 64 * h), ql1 = load256(wb + 64 * h + 32);
      const __m256i qh = load256(wb + 128 + 32 * h);
      const __m256i low[4] = {_mm256_and_si256(ql0, nib), _mm256_and_si256(ql1, nib),
                              _mm256_and_si256(_mm256_srli_epi16(ql0, 4), nib),
                              _mm256_and_si256(_mm256_srli_epi16(ql1, 4), nib)};
      __m256i q[4];
      for (int r = 0; r < 4; ++r)
        q[r] = _mm256_or_si256(low[r], _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * r), two), 4));
      for (int c = 0; c < 2; ++c) {
        // 64 elements = groups g..g+3 of 16: int16 lanes 8j..8j+7 belong to group g + j.
        const int g = 8 * h + 4 * c;
        const __m512i pairs = _mm512_maddubs_epi16(join(q[2 * c], q[2 * c + 1]), load512(xb + kQ8KQs + 128 * h + 64 * c));
        const __m512i scale = _mm512_permutexvar_epi16(
            join(_mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(g + 1)), _mm_set1_epi16(static_cast<int16_t>(g))),
                 _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(g + 3)), _mm_set1_epi16(static_cast<int16_t>(g + 2)))),
            _mm512_castsi256_si512(sc16));
        isum = _mm512_dpwssd_epi32(isum, pairs, scale);
      }
    }
    // q - 32: subtract 32 * sum over groups of scale * (group sum of activations).
    const __m256i offset = _mm256_madd_epi16(load256(xb + kQ8KBsums), sc16);
    isum = _mm512_sub_epi32(isum, _mm512_zextsi256_si512(_mm256_slli_epi32(offset, 5)));
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(load_half(wb + 208) * load_f32(xb)), acc);
  }
  *out = _mm512_reduce_add_ps(acc);
}

template <void (*VecDot)(int64_t, const void*, const void*, float*)>
void gemm_by_dots(int64_t n, const void* w, size_t ws, int64_t n_rows, const void* x, size_t xs,
                  int64_t n_tok, float* y, size_t ys) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xb = static_cast<const uint8_t*>(x);
  for (int64_t t = 0; t < n_tok; ++t)
    for (int64_t r = 0; r < n_rows; ++r) VecDot(n, wb + r * ws, xb + t * xs, &y[t * ys + r]);
}

}  // namespace

void install_avx512_kquants(TypeKernels* slots) {
  TypeKernels& q2 = slots[static_cast<size_t>(GgmlType::kQ2_K)];
  q2.vec_dot = &vec_dot_tiled<Q2K>;
  q2.gemm = &gemm_tiled<Q2K>;
  TypeKernels& q3 = slots[static_cast<size_t>(GgmlType::kQ3_K)];
  q3.vec_dot = &vec_dot_tiled<Q3K>;
  q3.gemm = &gemm_tiled<Q3K>;
  TypeKernels& q4 = slots[static_cast<size_t>(GgmlType::kQ4_K)];
  q4.vec_dot = &vec_dot_q45_K<false>;
  q4.gemm = &gemm_by_dots<vec_dot_q45_K<false>>;
  TypeKernels& q5 = slots[static_cast<size_t>(GgmlType::kQ5_K)];
  q5.vec_dot = &vec_dot_q45_K<true>;
  q5.gemm = &gemm_by_dots<vec_dot_q45_K<true>>;
  TypeKernels& q6 = slots[static_cast<size_t>(GgmlType::kQ6_K)];
  q6.vec_dot = &vec_dot_q6_K;
  q6.gemm = &gemm_by_dots<vec_dot_q6_K>;
}

}  // namespace mx::x86
#endif
