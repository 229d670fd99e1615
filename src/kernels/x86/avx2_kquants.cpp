// AVX2 dot products of the K-quant weights (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K) against Q8_K
// activations. maddubs multiplies the unsigned quants by the signed activations into
// pairs of int16 (at most 2 * 63 * 128, no saturation) and madd folds in each sub-block's
// scale, so a super-block's sums stay exact integers until one float scale per super-block.
// The gemm is one dot per output: these formats are decode-sized in practice.
#if defined(__x86_64__)
#include <immintrin.h>

#include <cstring>

#include "kernels/x86/install.h"
#include "quant/blocks.h"
#include "kernels/x86/kquant_scales.h"

namespace mx::x86 {
namespace {

// Byte offsets in the blocks (see quant/blocks.h).
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

float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Q2_K and Q3_K share their layout of 16 sub-blocks of 16 with 2 bits of every element in
// qs: field k (bits 2k..2k+1) of byte l of half h is element 128h + 32k + l. Returns the
// 8 int32 partial sums of sum over sub-blocks s of sc16[s] * (q . y over s), where q is
// the 2-bit field, plus 4 * (bit e / 32 of hmask[e % 32]) for Q3_K (q in 0..7: unsigned,
// as maddubs needs; the caller takes off the 4). y is the 256 activation quants.
template <bool kQ3>
__m256i scaled_dot_2bit(const uint8_t* qs, const uint8_t* hmask, const uint8_t* y, __m256i sc16) {
  const __m256i three = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
  const __m256i hm = kQ3 ? load256(hmask) : _mm256_setzero_si256();
  __m256i isum = _mm256_setzero_si256();
  for (int h = 0; h < 2; ++h) {
    const __m256i raw = load256(qs + 32 * h);
    // This half's 8 scales in both 128-bit lanes, so an in-lane shuffle can pick them.
    const __m256i sc = h ? _mm256_permute4x64_epi64(sc16, 0xee) : _mm256_permute4x64_epi64(sc16, 0x44);
    for (int k = 0; k < 4; ++k) {
      __m256i q = _mm256_and_si256(_mm256_srli_epi16(raw, 2 * k), three);
      if constexpr (kQ3) q = _mm256_or_si256(q, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hm, 4 * h + k), one), 2));
      const __m256i pairs = _mm256_maddubs_epi16(q, load256(y + 128 * h + 32 * k));
      // int16 lanes 0..7 are sub-block 8h + 2k, lanes 8..15 sub-block 8h + 2k + 1.
      const __m256i pick = _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(0x0302 + 0x0404 * k)),
                                            _mm_set1_epi16(static_cast<int16_t>(0x0100 + 0x0404 * k)));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(pairs, _mm256_shuffle_epi8(sc, pick)));
    }
  }
  return isum;
}

// Q2_K (84 bytes: scales[16], qs[64], d, dmin): scale in the low nibble, min in the high.
void vec_dot_q2_K(int64_t n, const void* w, const void* x, float* out) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xb = static_cast<const uint8_t*>(x);
  const __m128i nib = _mm_set1_epi8(0x0f);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 256; ++i, wb += 84, xb += kQ8KBytes) {
    const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(wb));
    const __m256i sc16 = _mm256_cvtepu8_epi16(_mm_and_si128(sc8, nib));
    const __m256i m16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sc8, 4), nib));
    const __m256i isum = scaled_dot_2bit<false>(wb + 16, nullptr, xb + kQ8KQs, sc16);
    const __m256i msum = _mm256_madd_epi16(load256(xb + kQ8KBsums), m16);
    const float dy = load_f32(xb);
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(load_half(wb + 80) * dy), acc);
    acc = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_set1_ps(load_half(wb + 82) * dy), acc);
  }
  *out = hsum(acc);
}

// Q3_K (110 bytes: hmask[32], qs[64], scales[12], d): x = d * sc * (q - 4) with q the
// 3-bit field; the - 4 is applied as -4 * sum over sub-blocks of sc * (group sum).
void vec_dot_q3_K(int64_t n, const void* w, const void* x, float* out) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xb = static_cast<const uint8_t*>(x);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 256; ++i, wb += 110, xb += kQ8KBytes) {
    const __m256i sc16 = _mm256_sub_epi16(_mm256_cvtepu8_epi16(load_q3_k_scales(wb + 96)), _mm256_set1_epi16(32));
    __m256i isum = scaled_dot_2bit<true>(wb + 32, wb, xb + kQ8KQs, sc16);
    const __m256i offset = _mm256_madd_epi16(load256(xb + kQ8KBsums), sc16);
    isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(offset, 2));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(load_half(wb + 108) * load_f32(xb)), acc);
  }
  *out = hsum(acc);
}

// Q4_K (144 bytes: d, dmin, scales[12], qs[128]) and Q5_K (176: the same with qh[32]
// before qs). Sub-block 2p is the low nibbles of qs[32p..32p+31], 2p+1 the high ones;
// Q5_K adds bit s of qh[l] as the fifth bit of sub-block s.
template <bool kQ5>
void vec_dot_q45_K(int64_t n, const void* w, const void* x, float* out) {
  constexpr size_t kBytes = kQ5 ? 176 : 144, kQs = kQ5 ? 48 : 16, kQh = 16;
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xb = static_cast<const uint8_t*>(x);
  const __m256i nib = _mm256_set1_epi8(0x0f), one = _mm256_set1_epi8(1);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 256; ++i, wb += kBytes, xb += kQ8KBytes) {
    const KScales ks = unpack_k_scales(wb + 4);
    const float dy = load_f32(xb);
    __m256i isum = _mm256_setzero_si256();
    const __m256i qh = kQ5 ? load256(wb + kQh) : _mm256_setzero_si256();
    for (int p = 0; p < 4; ++p) {
      const __m256i raw = load256(wb + kQs + 32 * p);
      __m256i lo = _mm256_and_si256(raw, nib);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), nib);
      if constexpr (kQ5) {
        lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * p), one), 4));
        hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * p + 1), one), 4));
      }
      const __m256i p0 = _mm256_maddubs_epi16(lo, load256(xb + kQ8KQs + 64 * p));
      const __m256i p1 = _mm256_maddubs_epi16(hi, load256(xb + kQ8KQs + 64 * p + 32));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p0, _mm256_set1_epi16(ks.sc[2 * p])));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p1, _mm256_set1_epi16(ks.sc[2 * p + 1])));
    }
    // Mins: sum over sub-blocks of m * (the two group sums of 16 it covers).
    const __m128i m8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(ks.m));
    const __m256i m16 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));
    const __m256i msum = _mm256_madd_epi16(load256(xb + kQ8KBsums), m16);
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(load_half(wb) * dy), acc);
    acc = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_set1_ps(load_half(wb + 2) * dy), acc);
  }
  *out = hsum(acc);
}

// Q6_K (210 bytes: ql[128], qh[64], scales[16], d). Per half of 128: element 32r + l has
// its low 4 bits in ql[l + 32 (r & 1)] (low nibble for r < 2) and 2 more at bit 2r of
// qh[l]; q - 32 is applied as -32 * (group sums) afterwards.
void vec_dot_q6_K(int64_t n, const void* w, const void* x, float* out) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xb = static_cast<const uint8_t*>(x);
  const __m256i nib = _mm256_set1_epi8(0x0f), two = _mm256_set1_epi8(3);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / 256; ++i, wb += 210, xb += kQ8KBytes) {
    const auto* sc = reinterpret_cast<const int8_t*>(wb + 192);
    __m256i isum = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i ql0 = load256(wb + 64 * h), ql1 = load256(wb + 64 * h + 32);
      const __m256i qh = load256(wb + 128 + 32 * h);
      const __m256i low[4] = {_mm256_and_si256(ql0, nib), _mm256_and_si256(ql1, nib),
                              _mm256_and_si256(_mm256_srli_epi16(ql0, 4), nib),
                              _mm256_and_si256(_mm256_srli_epi16(ql1, 4), nib)};
      for (int r = 0; r < 4; ++r) {
        const __m256i top = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * r), two), 4);
        const __m256i q = _mm256_or_si256(low[r], top);
        const __m256i pairs = _mm256_maddubs_epi16(q, load256(xb + kQ8KQs + 128 * h + 32 * r));
        const int g = 8 * h + 2 * r;  // int16 lanes 0..7 are group g, 8..15 group g + 1
        const __m256i scale = _mm256_set_m128i(_mm_set1_epi16(sc[g + 1]), _mm_set1_epi16(sc[g]));
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(pairs, scale));
      }
    }
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc)));
    const __m256i offset = _mm256_madd_epi16(load256(xb + kQ8KBsums), sc16);
    isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(offset, 5));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(load_half(wb + 208) * load_f32(xb)), acc);
  }
  *out = hsum(acc);
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

void install_avx2_kquants(TypeKernels* slots) {
  TypeKernels& q2 = slots[static_cast<size_t>(GgmlType::kQ2_K)];
  q2.vec_dot = &vec_dot_q2_K;
  q2.gemm = &gemm_by_dots<vec_dot_q2_K>;
  TypeKernels& q3 = slots[static_cast<size_t>(GgmlType::kQ3_K)];
  q3.vec_dot = &vec_dot_q3_K;
  q3.gemm = &gemm_by_dots<vec_dot_q3_K>;
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
