// AVX-512 VNNI products of packed Q4_K / Q6_K weights (kernels/packed_kquants.h) with Q8_K
// activations. A register holds one dword of 16 rows; vpdpbusd multiplies it by 4
// broadcast activations, so a sub-block's dot is a few instructions for 16 rows, and its
// scale multiplies the exact int32 result (vpmulld). Mins and the Q6_K offset of 32 go
// through the activations' group sums with vpdpwssd. Every super-block's sums are the
// reference's integers and are scaled in the reference's float order, so results equal
// the scalar reference bit for bit and do not depend on how many tokens share a call.
#if defined(__x86_64__)
// GCC 12's AVX-512 headers warn on their own _mm512_undefined_*() (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/packed_kquants.h"
#include "kernels/x86/avx512_dpbusd.h"
#include "kernels/x86/install.h"
#include "kernels/x86/prefetch.h"
#include "quant/blocks.h"

namespace mx::x86 {
namespace {

constexpr size_t kQ8KBytes = sizeof(BlockQ8_K), kQ8KQs = kQ8KQsAt, kQ8KBsums = kQ8KBsumsAt;
constexpr int kLanes = 16, kMaxTok = 4;

__m512i load512(const uint8_t* p) { return _mm512_loadu_si512(p); }
__m256i load256(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
__m512i bcast32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof(v));
  return _mm512_set1_epi32(v);
}
__m512 bcast_f32(const uint8_t* p) {
  float v;
  std::memcpy(&v, p, sizeof(v));
  return _mm512_set1_ps(v);
}

// One Q4_K super-block of 16 rows for T tokens: acc[t] += d dx isum - dmin dx msum.
template <int T>
void q4k_block(const uint8_t* rec, const uint8_t* const xb[T], __m512 acc[T]) {
  const __m512i nib = _mm512_set1_epi8(0x0f), low16 = _mm512_set1_epi32(0xffff);
  __m512i isum[T];
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) isum[t] = _mm512_setzero_si512();
#pragma GCC unroll 4
  for (int p = 0; p < 4; ++p) {
    const __m512i sc_pair = _mm512_cvtepu8_epi16(load256(rec + kpacked::kQ4KScales + 32 * p));
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      const int s = 2 * p + h;
      const __m512i sc = h == 0 ? _mm512_and_si512(sc_pair, low16) : _mm512_srli_epi32(sc_pair, 16);
      const uint8_t* q = rec + kpacked::kQ4KQuants + 256 * s;
      __m512i w[8];  // dword j of the sub-block: quants 4j .. 4j + 3
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        const __m512i v = load512(q + 64 * j);
        w[j] = _mm512_and_si512(v, nib);
        w[j + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), nib);
      }
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) {
        const uint8_t* a = xb[t] + kQ8KQs + 32 * s;
        __m512i dot = _mm512_setzero_si512();
#pragma GCC unroll 8
        for (int j = 0; j < 8; ++j) dot = dpbusd_broadcast(dot, w[j], a + 4 * j);
        isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(dot, sc));
      }
    }
  }
  const __m512 d = _mm512_cvtph_ps(load256(rec)), dmin = _mm512_cvtph_ps(load256(rec + 32));
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) {
    int16_t bs[16];
    std::memcpy(bs, xb[t] + kQ8KBsums, sizeof(bs));
    __m512i msum = _mm512_setzero_si512();
    for (int p = 0; p < 4; ++p) {  // (sum of sub-block 2p, of 2p + 1) as an int16 pair
      const auto lo = static_cast<uint16_t>(bs[4 * p] + bs[4 * p + 1]);
      const auto hi = static_cast<uint16_t>(bs[4 * p + 2] + bs[4 * p + 3]);
      const __m512i m_pair = _mm512_cvtepu8_epi16(load256(rec + kpacked::kQ4KMins + 32 * p));
      msum = _mm512_dpwssd_epi32(msum, m_pair, _mm512_set1_epi32(static_cast<int32_t>(lo | (uint32_t{hi} << 16))));
    }
    const __m512 dx = bcast_f32(xb[t]);
    acc[t] = _mm512_add_ps(acc[t], _mm512_sub_ps(_mm512_mul_ps(_mm512_mul_ps(d, dx), _mm512_cvtepi32_ps(isum[t])),
                                                 _mm512_mul_ps(_mm512_mul_ps(dmin, dx), _mm512_cvtepi32_ps(msum))));
  }
}

// One Q6_K super-block of 16 rows for T tokens: acc[t] += d dx (sum sc dot - 32 sum sc bsum).
template <int T>
void q6k_block(const uint8_t* rec, const uint8_t* const xb[T], __m512 acc[T]) {
  __m512i isum[T], offset[T];
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) isum[t] = offset[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
  for (int p = 0; p < 8; ++p) {
    const __m512i sc_pair = _mm512_cvtepi8_epi16(load256(rec + kpacked::kQ6KScales + 32 * p));
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      const int g = 2 * p + h;
      const __m512i sc = h == 0 ? _mm512_srai_epi32(_mm512_slli_epi32(sc_pair, 16), 16) : _mm512_srai_epi32(sc_pair, 16);
      const uint8_t* q = rec + kpacked::kQ6KQuants + 256 * g;
      __m512i w[4];
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) w[j] = load512(q + 64 * j);
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) {
        const uint8_t* a = xb[t] + kQ8KQs + 16 * g;
        __m512i dot = _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) dot = dpbusd_broadcast(dot, w[j], a + 4 * j);
        isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(dot, sc));
      }
    }
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t)  // (bsums[2p], bsums[2p + 1]) are already an int16 pair
      offset[t] = _mm512_dpwssd_epi32(offset[t], sc_pair, bcast32(xb[t] + kQ8KBsums + 4 * p));
  }
  const __m512 d = _mm512_cvtph_ps(load256(rec));
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) {
    const __m512i total = _mm512_sub_epi32(isum[t], _mm512_slli_epi32(offset[t], 5));
    acc[t] = _mm512_add_ps(acc[t], _mm512_mul_ps(_mm512_mul_ps(d, bcast_f32(xb[t])), _mm512_cvtepi32_ps(total)));
  }
}

// One group of 16 rows (`valid` of them real) times T tokens over all super-blocks.
template <GgmlType Type, int T>
void group_tile(const uint8_t* group, int64_t nb, const uint8_t* x, size_t xs, int valid, float* y, size_t ys) {
  constexpr size_t kRecord = Type == GgmlType::kQ4_K ? kpacked::kQ4KRecord : kpacked::kQ6KRecord;
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  // Software prefetch ~4 KB ahead (past this group's end is the next group, read next):
  // the hardware prefetcher alone left one-token products at ~60% of the read bandwidth.
  constexpr size_t kAhead = (4096 + kRecord - 1) / kRecord * kRecord;
  for (int64_t b = 0; b < nb; ++b) {
    if constexpr (T == 1) prefetch_ahead<kRecord>(group + b * kRecord, kAhead);
    const uint8_t* xb[T];
    for (int t = 0; t < T; ++t) xb[t] = x + t * xs + b * kQ8KBytes;
    if constexpr (Type == GgmlType::kQ4_K) q4k_block<T>(group + b * kRecord, xb, acc);
    else q6k_block<T>(group + b * kRecord, xb, acc);
  }
  const auto mask = static_cast<__mmask16>(valid == kLanes ? 0xffff : (1u << valid) - 1);
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * ys, mask, acc[t]);
}

template <GgmlType Type>
void gemm_packed(int64_t n, const void* w, int64_t n_rows, const void* x, size_t xs, int64_t n_tok, float* y,
                 size_t ys) {
  constexpr size_t kRecord = Type == GgmlType::kQ4_K ? kpacked::kQ4KRecord : kpacked::kQ6KRecord;
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xb = static_cast<const uint8_t*>(x);
  const int64_t nb = n / 256;
  const size_t group_bytes = static_cast<size_t>(nb) * kRecord;
  // Groups outer, token tiles inner: a group's records (a few KB) stay in L1/L2 while
  // every tile of tokens passes over them.
  for (int64_t r0 = 0; r0 < n_rows; r0 += kLanes) {
    const uint8_t* group = wb + (r0 / kLanes) * group_bytes;
    const int valid = static_cast<int>(std::min<int64_t>(kLanes, n_rows - r0));
    for (int64_t t0 = 0; t0 < n_tok; t0 += kMaxTok) {
      const uint8_t* xt = xb + t0 * xs;
      float* yt = y + t0 * ys + r0;
      switch (std::min<int64_t>(kMaxTok, n_tok - t0)) {
        case 1: group_tile<Type, 1>(group, nb, xt, xs, valid, yt, ys); break;
        case 2: group_tile<Type, 2>(group, nb, xt, xs, valid, yt, ys); break;
        case 3: group_tile<Type, 3>(group, nb, xt, xs, valid, yt, ys); break;
        default: group_tile<Type, 4>(group, nb, xt, xs, valid, yt, ys); break;
      }
    }
  }
}

}  // namespace

void install_avx512_kquants_packed(TypeKernels* slots) {
  slots[static_cast<size_t>(GgmlType::kQ4_K)].gemm_packed = &gemm_packed<GgmlType::kQ4_K>;
  slots[static_cast<size_t>(GgmlType::kQ6_K)].gemm_packed = &gemm_packed<GgmlType::kQ6_K>;
}

}  // namespace mx::x86
#endif
