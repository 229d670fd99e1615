// AVX-512 VNNI products of packed Q4_K / Q5_K / Q6_K weights (kernels/packed_kquants.h)
// with Q8_K activations. A register holds one dword of 16 rows; vpdpbusd multiplies it by 4
// broadcast activations, so a sub-block's dot is a few instructions for 16 rows, and its
// scale multiplies the exact int32 result (vpmulld). Mins and the Q6_K offset of 32 go
// through the activations' group sums with vpdpwssd. Q5_K is Q4_K with each quant's fifth
// bit set under its nibble in registers. Q6_K's 6-bit quants are rebuilt from
// nibbles and top bits in registers: per record for one tile of tokens, once into an L1
// copy shared by every tile of more. Every super-block's sums are the reference's integers
// and are scaled in the reference's float order, so results equal the scalar reference
// bit for bit and do not depend on how many tokens share a call.
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
constexpr size_t kQ6KWide = 4096;  // a Q6_K record's quants unpacked, a byte each
constexpr int64_t kWideBlocks = 4;  // records unpacked at a time: 16 KB of L1

template <GgmlType Type>
constexpr bool kIsQ6K = Type == GgmlType::kQ6_K;

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

// mask ? a : b, bit by bit.
[[gnu::always_inline]] inline __m512i select(__m512i mask, __m512i a, __m512i b) {
  return _mm512_ternarylogic_epi32(mask, a, b, 0xca);
}

// Sub-block s of a Q4_K / Q5_K record as 8 registers of 16 rows: w[j] = dword j of its
// quants (4j .. 4j + 3), w[4 + j] = dword j of its second half (16 + 4j ..).
template <GgmlType Type>
[[gnu::always_inline]] inline void q45k_unpack(const uint8_t* rec, int s, __m512i w[8]) {
  const __m512i nib = _mm512_set1_epi8(0x0f);
  const uint8_t* q = rec + kpacked::kQ4KQuants + 256 * s;
  if constexpr (Type == GgmlType::kQ4_K) {
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      const __m512i v = load512(q + 64 * j);
      w[j] = _mm512_and_si512(v, nib);
      w[j + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), nib);
    }
  } else {
    // Bits j and 4 + j of each byte are dword j's fifth bits; a 16-bit shift takes one
    // to bit 4 and the other under a nibble (bit 0 of its byte or of the next), where
    // the select takes the nibble instead.
    const __m512i top = load512(rec + kpacked::kQ5KHigh + 64 * s);
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      const __m512i v = load512(q + 64 * j);
      const __m512i fields = _mm512_and_si512(top, _mm512_set1_epi8(static_cast<char>(0x11 << j)));
      w[j] = select(nib, v, _mm512_slli_epi16(fields, 4 - j));
      w[j + 4] = select(nib, _mm512_srli_epi16(v, 4), _mm512_srli_epi16(fields, j));
    }
  }
}

// One Q4_K / Q5_K super-block of 16 rows for T tokens: acc[t] += d dx isum - dmin dx msum.
template <GgmlType Type, int T>
[[gnu::always_inline]] inline void q45k_block(const uint8_t* rec, const uint8_t* const xb[T], __m512 acc[T]) {
  const __m512i low16 = _mm512_set1_epi32(0xffff);
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
      __m512i w[8];
      q45k_unpack<Type>(rec, s, w);
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

// Sub-block s of a Q6_K record (groups 2s and 2s + 1) as 8 registers of 16 rows:
// w[j] = dword j of group 2s's quants q, w[4 + j] = dword j of group 2s + 1's as 4q.
// 4q (0..252) keeps that nibble where it is after a shift by 2 rather than 4, so its top
// bits need no shift; each quant is one bit-select of its nibble and its top-bit field.
[[gnu::always_inline]] inline void q6k_unpack(const uint8_t* rec, int s, __m512i w[8]) {
  const __m512i lo_fields = _mm512_set1_epi8(0x33), hi_fields = _mm512_set1_epi8(static_cast<char>(0xcc));
  const __m512i low4 = _mm512_set1_epi8(0x0f), mid4 = _mm512_set1_epi8(0x3c);
  // The field in each select's b is masked, so the bits outside the nibble and the field
  // are zero, or (what a 16-bit shift brings in) under the nibble.
  const uint8_t* nib = rec + kpacked::kQ6KQuants + 256 * s;
#pragma GCC unroll 2
  for (int m = 0; m < 2; ++m) {
    const __m512i top = load512(rec + kpacked::kQ6KHigh + 128 * s + 64 * m);
    const __m512i lo = _mm512_and_si512(top, lo_fields), hi = _mm512_and_si512(top, hi_fields);
    const __m512i v0 = load512(nib + 128 * m), v1 = load512(nib + 128 * m + 64);
    w[2 * m] = select(low4, v0, lo);                                                  // fields at bits 4-5
    w[2 * m + 1] = select(low4, v1, _mm512_slli_epi16(lo, 4));                        // 0-1 -> 4-5
    w[2 * m + 4] = select(mid4, _mm512_srli_epi16(v0, 2), hi);                        // 6-7
    w[2 * m + 5] = select(mid4, _mm512_srli_epi16(v1, 2), _mm512_slli_epi16(hi, 4));  // 2-3 -> 6-7
  }
}

// Where a Q6_K kernel gets sub-block s's 8 registers: unpacked from the record, or from a
// scratch copy `wide` of the record's quants unpacked once (512 bytes a sub-block) for
// many tokens; the first tile of tokens unpacks and fills it, interleaving that work with
// its products.
enum class Q6KSource { kRecord, kWide, kFillWide };
template <Q6KSource S>
struct Q6KQuants {
  const uint8_t* rec;
  uint8_t* wide;
  [[gnu::always_inline]] void operator()(int s, __m512i w[8]) const {
    if constexpr (S == Q6KSource::kWide) {
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i) w[i] = load512(wide + 512 * s + 64 * i);
    } else {
      q6k_unpack(rec, s, w);
      if constexpr (S == Q6KSource::kFillWide)
#pragma GCC unroll 8
        for (int i = 0; i < 8; ++i) _mm512_store_si512(wide + 512 * s + 64 * i, w[i]);
    }
  }
};

// One Q6_K super-block of 16 rows for T tokens: acc[t] += d dx (sum sc dot - 32 sum sc bsum).
// Every term is summed 4 times over (the odd groups' 4q, the even groups' scales times 4)
// and divided back exactly at the end; |4 isum| < 16 * 128 * (4 * 16 * 63 * 128 + 128 * 2048)
// < 2^31.
template <int T, Q6KSource S>
[[gnu::always_inline]] inline void q6k_block(const uint8_t* rec, const Q6KQuants<S>& quants, const uint8_t* const xb[T], __m512 acc[T]) {
  __m512i isum[T];
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) isum[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
  for (int p = 0; p < 8; ++p) {
    const __m512i sc_pair = _mm512_cvtepi8_epi16(load256(rec + kpacked::kQ6KScales + 32 * p));
    const __m512i sc_even = _mm512_srai_epi32(_mm512_slli_epi32(sc_pair, 16), 14);  // 4 sc[2p]
    const __m512i sc_odd = _mm512_srai_epi32(sc_pair, 16);
    // -128 (sc[2p], sc[2p + 1]) as int16 pairs (|.| <= 16384): the offset of 32, times 4
    const __m512i offset_pair = _mm512_sub_epi16(_mm512_setzero_si512(), _mm512_slli_epi16(sc_pair, 7));
    __m512i w[8];
    quants(p, w);
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) {
      const uint8_t* a = xb[t] + kQ8KQs + 32 * p;
      __m512i even = _mm512_setzero_si512(), odd = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        even = dpbusd_broadcast(even, w[j], a + 4 * j);
        odd = dpbusd_broadcast(odd, w[4 + j], a + 16 + 4 * j);
      }
      isum[t] = _mm512_add_epi32(isum[t], _mm512_add_epi32(_mm512_mullo_epi32(even, sc_even), _mm512_mullo_epi32(odd, sc_odd)));
      // (bsums[2p], bsums[2p + 1]) are already an int16 pair
      isum[t] = _mm512_dpwssd_epi32(isum[t], offset_pair, bcast32(xb[t] + kQ8KBsums + 4 * p));
    }
  }
  const __m512 d = _mm512_cvtph_ps(load256(rec));
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) {
    const __m512i total = _mm512_srai_epi32(isum[t], 2);  // exact: every term is a multiple of 4
    acc[t] = _mm512_add_ps(acc[t], _mm512_mul_ps(_mm512_mul_ps(d, bcast_f32(xb[t])), _mm512_cvtepi32_ps(total)));
  }
}

// One group of 16 rows (`valid` of them real) times T tokens over super-blocks b0 .. b1 - 1,
// adding to what y holds unless b0 == 0. Q6_K's quants come from S: `wide` holds records
// b0 .. b1 - 1 unpacked.
template <GgmlType Type, int T, Q6KSource S>
void group_tile(const uint8_t* group, uint8_t* wide, int64_t b0, int64_t b1, const uint8_t* x, size_t xs, int valid,
                float* y, size_t ys) {
  constexpr size_t kRecord = kpacked::record_bytes(Type);
  const auto mask = static_cast<__mmask16>(valid == kLanes ? 0xffff : (1u << valid) - 1);
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = b0 == 0 ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mask, y + t * ys);
  // Software prefetch ~4 KB ahead (past this group's end is the next group, read next):
  // the hardware prefetcher alone left one-token products at ~60% of the read bandwidth.
  constexpr size_t kAhead = (4096 + kRecord - 1) / kRecord * kRecord;
  for (int64_t b = b0; b < b1; ++b) {
    const uint8_t* rec = group + b * kRecord;
    if constexpr (T == 1) prefetch_ahead<kRecord>(rec, kAhead);
    const uint8_t* xb[T];
    for (int t = 0; t < T; ++t) xb[t] = x + t * xs + b * kQ8KBytes;
    if constexpr (!kIsQ6K<Type>) q45k_block<Type, T>(rec, xb, acc);
    else q6k_block<T>(rec, Q6KQuants<S>{rec, S == Q6KSource::kRecord ? nullptr : wide + (b - b0) * kQ6KWide}, xb, acc);
  }
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * ys, mask, acc[t]);
}

// One token, G groups of 16 rows side by side: G streams for the memory system to fetch
// in parallel (one stream per thread read well below the bandwidth at two threads). The
// same arithmetic per row as group_tile<Type, 1>.
template <GgmlType Type, int G>
void decode_groups(const uint8_t* const group[G], int64_t nb, const uint8_t* x, int valid_last, float* const y[G]) {
  constexpr size_t kRecord = kpacked::record_bytes(Type);
  constexpr size_t kAhead = (4096 / G + kRecord - 1) / kRecord * kRecord;  // ~4 KB ahead in all
  __m512 acc[G];
  for (int g = 0; g < G; ++g) acc[g] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* const xb[1] = {x + b * kQ8KBytes};
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) {
      const uint8_t* rec = group[g] + b * kRecord;
      prefetch_ahead<kRecord>(rec, kAhead);
      if constexpr (!kIsQ6K<Type>) q45k_block<Type, 1>(rec, xb, &acc[g]);
      else q6k_block<1>(rec, Q6KQuants<Q6KSource::kRecord>{rec, nullptr}, xb, &acc[g]);
    }
  }
  for (int g = 0; g < G; ++g) {
    const int valid = g + 1 < G ? kLanes : valid_last;
    _mm512_mask_storeu_ps(y[g], static_cast<__mmask16>(valid == kLanes ? 0xffff : (1u << valid) - 1), acc[g]);
  }
}

template <GgmlType Type, Q6KSource S>
void tokens_tile(const uint8_t* group, uint8_t* wide, int64_t b0, int64_t b1, const uint8_t* x, size_t xs,
                 int64_t n_tok, int valid, float* y, size_t ys) {
  for (int64_t t0 = 0; t0 < n_tok; t0 += kMaxTok) {
    const uint8_t* xt = x + t0 * xs;
    float* yt = y + t0 * ys;
    switch (std::min<int64_t>(kMaxTok, n_tok - t0)) {
      case 1: group_tile<Type, 1, S>(group, wide, b0, b1, xt, xs, valid, yt, ys); break;
      case 2: group_tile<Type, 2, S>(group, wide, b0, b1, xt, xs, valid, yt, ys); break;
      case 3: group_tile<Type, 3, S>(group, wide, b0, b1, xt, xs, valid, yt, ys); break;
      default: group_tile<Type, 4, S>(group, wide, b0, b1, xt, xs, valid, yt, ys); break;
    }
  }
}

template <GgmlType Type>
void gemm_packed(int64_t n, const void* w, int64_t n_rows, const void* x, size_t xs, int64_t n_tok, float* y,
                 size_t ys) {
  constexpr size_t kRecord = kpacked::record_bytes(Type);
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xb = static_cast<const uint8_t*>(x);
  const int64_t nb = n / 256;
  const size_t group_bytes = static_cast<size_t>(nb) * kRecord;
  // Groups outer, token tiles inner: a group's records (a few KB) stay in L1/L2 while
  // every tile of tokens passes over them. Q6_K with more than one tile of tokens unpacks
  // a few records at a time into L1, once for all the tiles instead of once per tile.
  alignas(64) uint8_t wide[kIsQ6K<Type> ? kWideBlocks * kQ6KWide : 1];
  if (n_tok == 1) {  // decode: the two halves of the groups as two streams, each read in order
    const int64_t n_groups = (n_rows + kLanes - 1) / kLanes, half = n_groups / 2;
    // The second half's last group may be partial; with an odd count the last group is alone.
    for (int64_t g = 0; g < half; ++g) {
      const uint8_t* const groups[2] = {wb + g * group_bytes, wb + (g + half) * group_bytes};
      float* const out[2] = {y + g * kLanes, y + (g + half) * kLanes};
      const int valid = static_cast<int>(std::min<int64_t>(kLanes, n_rows - (g + half) * kLanes));
      decode_groups<Type, 2>(groups, nb, xb, valid, out);
    }
    if (n_groups % 2) {
      const int64_t r0 = (n_groups - 1) * kLanes;
      const uint8_t* const group[1] = {wb + (n_groups - 1) * group_bytes};
      float* const out[1] = {y + r0};
      decode_groups<Type, 1>(group, nb, xb, static_cast<int>(n_rows - r0), out);
    }
    return;
  }
  for (int64_t r0 = 0; r0 < n_rows; r0 += kLanes) {
    const uint8_t* group = wb + (r0 / kLanes) * group_bytes;
    const int valid = static_cast<int>(std::min<int64_t>(kLanes, n_rows - r0));
    if (!kIsQ6K<Type> || n_tok <= kMaxTok) {
      tokens_tile<Type, Q6KSource::kRecord>(group, nullptr, 0, nb, xb, xs, n_tok, valid, y + r0, ys);
      continue;
    }
    for (int64_t b0 = 0; b0 < nb; b0 += kWideBlocks) {
      const int64_t b1 = std::min<int64_t>(nb, b0 + kWideBlocks);
      group_tile<Type, kMaxTok, Q6KSource::kFillWide>(group, wide, b0, b1, xb, xs, valid, y + r0, ys);
      tokens_tile<Type, Q6KSource::kWide>(group, wide, b0, b1, xb + kMaxTok * xs, xs, n_tok - kMaxTok, valid,
                                          y + r0 + kMaxTok * ys, ys);
    }
  }
}

}  // namespace

void install_avx512_kquants_packed(TypeKernels* slots) {
  slots[static_cast<size_t>(GgmlType::kQ4_K)].gemm_packed = &gemm_packed<GgmlType::kQ4_K>;
  slots[static_cast<size_t>(GgmlType::kQ5_K)].gemm_packed = &gemm_packed<GgmlType::kQ5_K>;
  slots[static_cast<size_t>(GgmlType::kQ6_K)].gemm_packed = &gemm_packed<GgmlType::kQ6_K>;
}

}  // namespace mx::x86
#endif
