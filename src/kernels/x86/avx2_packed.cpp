// AVX2 products with packed weights (kernels/packed.h): Q4_0, IQ4_NL, and Q8_0 / Q5_0 (byte
// layout).
//
// Rows in lanes: one 256-bit register holds dword k of a block for 8 rows, so a maddubs
// multiplies 4 quants of 8 rows by 4 activation bytes broadcast to every lane, and a block
// ends with one conversion and one FMA for 8 rows. The unpacked tile (avx2_q8.cpp) pays
// a sign, a widening, a conversion and an FMA per row and block; this pays them per 8 rows.
//
// maddubs multiplies unsigned by signed bytes and sums pairs into int16, saturating:
// - Q4_0: the stored nibble (q + 8, 0..15) is the unsigned side. A pair is at most
//   2 * 15 * 127 = 3810, so the 8 maddubs of a block add up exactly in int16 (<= 30480);
//   the bias comes off as 8 * sum(x) per block.
// - Q8_0 (stored q + 128): flipping the top bit restores q; |q| is the unsigned side and
//   the sign moves onto the activation, so a pair stays <= 2 * 128 * 127; each step
//   widens to int32 at once.
// Both need activations in [-127, 127], which every Q8_0 row this program quantizes is.
//
// Each (row, token) output is one block-ordered float sum of exact block dots, computed
// the same way whatever the number of tokens in the call (batch invariance).
#if defined(__x86_64__)
#include <immintrin.h>

#include <cstring>
#include <vector>

#include "kernels/x86/install.h"
#include "kernels/x86/prefetch.h"
#include "quant/blocks.h"

namespace mx::x86 {
namespace {

constexpr size_t kQ8Bytes = 34;  // fp16 d + 32 int8
constexpr int kGroupRows = 16;   // rows per packed group (kernels/packed.h)
constexpr int kLanes = 8;        // rows per register
constexpr int kMaxTok = 2;       // tokens per register tile (measured: 3 and 4 are slower)
constexpr int kDecodeGroups = 4;  // groups read at once for one token (measured: 1 → 9, 2 → 14, 4 → 19 GB/s a core)

uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

__m256i broadcast_u32(const uint8_t* p) { return _mm256_set1_epi32(static_cast<int>(load_u32(p))); }

__m256i load256(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

struct Q4Packed {
  static constexpr int kDwords = 4;
  static constexpr int32_t kBias = 8;
  // Exact integer dots of one block for H x 8 rows (q: the first half's first dword) and
  // T tokens (x: quants of token 0's block, xs bytes between tokens), before the bias.
  template <int T, int H>
  [[gnu::always_inline]] static void block(const uint8_t* q, const uint8_t* x, size_t xs, __m256i s[H][T]) {
    const __m256i nibble = _mm256_set1_epi8(0x0f);
    __m256i pairs[H][T];
#pragma GCC unroll 2
    for (int h = 0; h < H; ++h)
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) pairs[h][t] = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int k = 0; k < kDwords; ++k) {
      __m256i lo[H], hi[H];
#pragma GCC unroll 2
      for (int h = 0; h < H; ++h) {
        const __m256i w = load256(q + k * 64 + 32 * h);
        lo[h] = _mm256_and_si256(w, nibble);                         // elements 4k..4k+3
        hi[h] = _mm256_and_si256(_mm256_srli_epi16(w, 4), nibble);  // elements 16+4k..
      }
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) {
        const __m256i x_lo = broadcast_u32(x + t * xs + 4 * k), x_hi = broadcast_u32(x + t * xs + 16 + 4 * k);
#pragma GCC unroll 2
        for (int h = 0; h < H; ++h) {
          pairs[h][t] = _mm256_add_epi16(pairs[h][t], _mm256_maddubs_epi16(lo[h], x_lo));
          pairs[h][t] = _mm256_add_epi16(pairs[h][t], _mm256_maddubs_epi16(hi[h], x_hi));
        }
      }
    }
    const __m256i ones = _mm256_set1_epi16(1);
#pragma GCC unroll 2
    for (int h = 0; h < H; ++h)
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) s[h][t] = _mm256_madd_epi16(pairs[h][t], ones);
  }
};

struct Q8Packed {
  static constexpr int kDwords = 8;
  static constexpr int32_t kBias = 0;  // removed from the weights by flipping the top bit
  template <int T, int H>
  [[gnu::always_inline]] static void block(const uint8_t* q, const uint8_t* x, size_t xs, __m256i s[H][T]) {
    const __m256i top = _mm256_set1_epi8(static_cast<char>(0x80));
    const __m256i ones = _mm256_set1_epi16(1);
#pragma GCC unroll 2
    for (int h = 0; h < H; ++h)
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) s[h][t] = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int k = 0; k < kDwords; ++k) {
      __m256i w[H], mag[H];
#pragma GCC unroll 2
      for (int h = 0; h < H; ++h) {
        w[h] = _mm256_xor_si256(load256(q + k * 64 + 32 * h), top);
        mag[h] = _mm256_abs_epi8(w[h]);
      }
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) {
        const __m256i xq = broadcast_u32(x + t * xs + 4 * k);
#pragma GCC unroll 2
        for (int h = 0; h < H; ++h) {
          const __m256i pairs = _mm256_maddubs_epi16(mag[h], _mm256_sign_epi8(xq, w[h]));
          s[h][t] = _mm256_add_epi32(s[h][t], _mm256_madd_epi16(pairs, ones));
        }
      }
    }
  }
};

// IQ4_NL and MXFP4 (Q4_0's nibbles are grid indices): a byte shuffle gives the signed
// grid values, then Q8_0's sign trick (|value| <= 127); every maddubs widens to int32 at once.
template <const int8_t* Grid>
struct GridPacked {
  static constexpr int kDwords = 4;
  static constexpr int32_t kBias = 0;
  template <int T, int H>
  [[gnu::always_inline]] static void block(const uint8_t* q, const uint8_t* x, size_t xs, __m256i s[H][T]) {
    const __m256i nibble = _mm256_set1_epi8(0x0f), ones = _mm256_set1_epi16(1);
    const __m256i grid = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(Grid)));
#pragma GCC unroll 2
    for (int h = 0; h < H; ++h)
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) s[h][t] = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int k = 0; k < kDwords; ++k) {
      __m256i w[H][2], mag[H][2];  // [0]: elements 4k..4k+3, [1]: 16+4k..
#pragma GCC unroll 2
      for (int h = 0; h < H; ++h) {
        const __m256i raw = load256(q + k * 64 + 32 * h);
        w[h][0] = _mm256_shuffle_epi8(grid, _mm256_and_si256(raw, nibble));
        w[h][1] = _mm256_shuffle_epi8(grid, _mm256_and_si256(_mm256_srli_epi16(raw, 4), nibble));
        mag[h][0] = _mm256_abs_epi8(w[h][0]);
        mag[h][1] = _mm256_abs_epi8(w[h][1]);
      }
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) {
        const __m256i xq[2] = {broadcast_u32(x + t * xs + 4 * k), broadcast_u32(x + t * xs + 16 + 4 * k)};
#pragma GCC unroll 2
        for (int h = 0; h < H; ++h)
#pragma GCC unroll 2
          for (int p = 0; p < 2; ++p) {
            const __m256i pairs = _mm256_maddubs_epi16(mag[h][p], _mm256_sign_epi8(xq[p], w[h][p]));
            s[h][t] = _mm256_add_epi32(s[h][t], _mm256_madd_epi16(pairs, ones));
          }
      }
    }
  }
};

// The activation side of a call: per (token, block) the starting sum -bias * sum(x) and
// the scale, computed once and shared by every row group.
struct TokenSide {
  std::vector<int32_t> start;
  std::vector<float> d;
  int64_t nb = 0;

  TokenSide(const uint8_t* x, size_t xs, int64_t n_tok, int64_t n_blocks, int32_t bias)
      : start(static_cast<size_t>(n_tok * n_blocks)), d(start.size()), nb(n_blocks) {
    for (int64_t t = 0; t < n_tok; ++t)
      for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* blk = x + t * xs + b * kQ8Bytes;
        uint16_t h;
        std::memcpy(&h, blk, sizeof(h));
        d[t * nb + b] = _cvtsh_ss(h);
        int32_t sum = 0;
        for (int j = 0; j < 32; ++j) sum += static_cast<int8_t>(blk[2 + j]);
        start[t * nb + b] = -bias * sum;
      }
  }
};

// G consecutive groups (16 rows each, both halves) x T tokens over every block; y is the
// first group's first row; `valid` rows of the G groups exist (the last may be partial).
template <class W, int T, int G>
void tile(const uint8_t* groups, size_t group_bytes, int valid, int64_t nb, const uint8_t* x, size_t xs,
          const TokenSide& side, int64_t t0, float* y, size_t ys) {
  constexpr size_t kRecord = 32 + 64 * W::kDwords;
  __m256 acc[G][2][T];
#pragma GCC unroll 2
  for (int g = 0; g < G; ++g)
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h)
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) acc[g][h][t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
#pragma GCC unroll 2
    for (int g = 0; g < G; ++g) {
      const uint8_t* rec = groups + g * group_bytes + b * kRecord;
      if constexpr (T == 1) prefetch_ahead<kRecord>(rec, 8 * kRecord);  // as avx512_q8.cpp
      __m256i s[2][T];
      W::template block<T, 2>(rec + 32, x + b * kQ8Bytes + 2, xs, s);
#pragma GCC unroll 2
      for (int h = 0; h < 2; ++h) {
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rec + 2 * kLanes * h)));
#pragma GCC unroll 4
        for (int t = 0; t < T; ++t) {
          const int64_t i = (t0 + t) * side.nb + b;
          const __m256i exact = _mm256_add_epi32(s[h][t], _mm256_set1_epi32(side.start[i]));
          acc[g][h][t] =
              _mm256_fmadd_ps(_mm256_cvtepi32_ps(exact), _mm256_mul_ps(dw, _mm256_set1_ps(side.d[i])), acc[g][h][t]);
        }
      }
    }
  }
  for (int g = 0; g < G; ++g)
    for (int h = 0; h < 2; ++h) {
      const int first = g * kGroupRows + h * kLanes;
      const int rows = valid - first < kLanes ? valid - first : kLanes;
      for (int t = 0; t < T && rows > 0; ++t) {
        if (rows == kLanes) {
          _mm256_storeu_ps(y + first + t * ys, acc[g][h][t]);
        } else {
          alignas(32) float tmp[kLanes];
          _mm256_store_ps(tmp, acc[g][h][t]);
          std::memcpy(y + first + t * ys, tmp, sizeof(float) * static_cast<size_t>(rows));
        }
      }
    }
}

// Both halves of a group at once: each activation broadcast serves 16 rows. More than
// 2 tokens (or one half at a time for 4) measured slower: the registers run out. One
// token reads four groups at once: more streams keep more of memory's bandwidth busy.
template <class W>
void tile_any(int nt, int n_groups, const uint8_t* groups, size_t group_bytes, int valid, int64_t nb,
              const uint8_t* x, size_t xs, const TokenSide& side, int64_t t0, float* y, size_t ys) {
  static_assert(kMaxTok == 2 && kDecodeGroups == 4);
  if (n_groups == 4) return tile<W, 1, 4>(groups, group_bytes, valid, nb, x, xs, side, t0, y, ys);
  if (n_groups == 3) return tile<W, 1, 3>(groups, group_bytes, valid, nb, x, xs, side, t0, y, ys);
  if (n_groups == 2) return tile<W, 1, 2>(groups, group_bytes, valid, nb, x, xs, side, t0, y, ys);
  if (nt == 1) return tile<W, 1, 1>(groups, group_bytes, valid, nb, x, xs, side, t0, y, ys);
  return tile<W, 2, 1>(groups, group_bytes, valid, nb, x, xs, side, t0, y, ys);
}

template <class W>
void gemm_packed(int64_t n, const void* w, int64_t n_rows, const void* x, size_t xs, int64_t n_tok,
                 float* y, size_t ys) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xb = static_cast<const uint8_t*>(x);
  const int64_t nb = n / 32;
  const size_t group_bytes = static_cast<size_t>(nb) * (32 + 64 * W::kDwords);
  const TokenSide side(xb, xs, n_tok, nb, W::kBias);
  // Groups outer: a group's records stay in L1/L2 while every token tile passes them.
  // (Each output's arithmetic is the same in any grouping: results are batch-invariant.)
  const int64_t step = n_tok == 1 ? kDecodeGroups : 1;
  for (int64_t r0 = 0; r0 < n_rows;) {
    const int64_t groups_left = (n_rows - r0 + kGroupRows - 1) / kGroupRows;
    const int g = static_cast<int>(groups_left < step ? groups_left : step);
    const int valid = static_cast<int>(n_rows - r0 < g * kGroupRows ? n_rows - r0 : g * kGroupRows);
    const uint8_t* groups = wb + (r0 / kGroupRows) * group_bytes;
    for (int64_t t0 = 0; t0 < n_tok; t0 += kMaxTok) {
      const int nt = static_cast<int>(n_tok - t0 < kMaxTok ? n_tok - t0 : kMaxTok);
      tile_any<W>(nt, g, groups, group_bytes, valid, nb, xb + t0 * xs, xs, side, t0, y + t0 * ys + r0, ys);
    }
    r0 += g * kGroupRows;
  }
}

}  // namespace

void install_avx2_packed(TypeKernels* slots) {
  slots[static_cast<size_t>(GgmlType::kQ4_0)].gemm_packed = &gemm_packed<Q4Packed>;
  slots[static_cast<size_t>(GgmlType::kQ8_0)].gemm_packed = &gemm_packed<Q8Packed>;
  slots[static_cast<size_t>(GgmlType::kIQ4_NL)].gemm_packed = &gemm_packed<GridPacked<kIQ4NLValues>>;
  slots[static_cast<size_t>(GgmlType::kMXFP4)].gemm_packed = &gemm_packed<GridPacked<kMXFP4Values>>;
  // Q5_0 is packed into the Q8_0 layout (kernels/packed.h): the same product, exactly.
  slots[static_cast<size_t>(GgmlType::kQ5_0)].gemm_packed = &gemm_packed<Q8Packed>;
}

}  // namespace mx::x86
#endif
