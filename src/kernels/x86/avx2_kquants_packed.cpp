// AVX2 products of packed Q4_K / Q5_K / Q6_K weights (kernels/packed_kquants.h) with Q8_K
// activations: the plan of the AVX-512 kernel (avx512_kquants_packed.cpp) with 8 rows per
// register, so a record's 16 rows are two halves (a dword of the record is 64 bytes, half
// h's lanes are its bytes 32h .. 32h + 31).
//
// Without VNNI, maddubs multiplies the unsigned quants by broadcast activation bytes and
// sums pairs into int16. Nothing saturates: a Q4_K pair is at most 2 * 15 * 128 = 3840, so
// a sub-block's 8 maddubs add up exactly in int16 (<= 30720); a Q5_K pair is at most
// 2 * 31 * 128 = 7936, so four do (<= 31744); a Q6_K pair is at most
// 2 * 63 * 128 = 16128, so two add up (<= 32256). One madd then multiplies by the
// sub-block's scale, duplicated into both int16 of each dword, and widens to int32.
// Q6_K's 6-bit quants are rebuilt from nibbles and top bits in registers: per group and
// token for one token, once into an L1 copy shared by every tile of several.
// Every super-block's sums are the reference's integers, scaled in the reference's float
// order: results equal the scalar reference bit for bit, whatever the tokens per call.
#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/packed_kquants.h"
#include "kernels/x86/install.h"
#include "kernels/x86/prefetch.h"
#include "quant/blocks.h"

namespace mx::x86 {
namespace {

constexpr size_t kQ8KBytes = sizeof(BlockQ8_K), kQ8KQs = kQ8KQsAt, kQ8KBsums = kQ8KBsumsAt;
constexpr int kGroupRows = 16, kLanes = 8;
constexpr int kMaxTok = 2;  // tokens per tile
// Groups one token reads at once (memory streams). Q5_K's and Q6_K's unpacking need the
// registers: one group is faster (Xeon family 6 model 207, 4096 x 4096 from memory: Q6_K
// 13.3 GB/s against 12.1 for two groups, slower still for four; Q5_K 17.5 against 16.1
// for two, 15.1 for four).
template <GgmlType Type>
constexpr int kDecodeGroups = Type == GgmlType::kQ4_K ? 4 : 1;
template <GgmlType Type>
constexpr bool kIsQ6K = Type == GgmlType::kQ6_K;
constexpr size_t kQ6KWide = 4096;  // a Q6_K record's quants unpacked, a byte each
constexpr int64_t kWideBlocks = 4;  // records unpacked at a time: 16 KB of L1

__m256i load256(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
__m128i load128(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
__m256i bcast32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof(v));
  return _mm256_set1_epi32(v);
}
__m256 bcast_f32(const uint8_t* p) {
  float v;
  std::memcpy(&v, p, sizeof(v));
  return _mm256_set1_ps(v);
}
// int16 pairs (a, b) per dword -> (a, a), or -> (b, b).
__m256i first_of_pairs(__m256i v) { return _mm256_shufflehi_epi16(_mm256_shufflelo_epi16(v, 0xA0), 0xA0); }
__m256i second_of_pairs(__m256i v) { return _mm256_shufflehi_epi16(_mm256_shufflelo_epi16(v, 0xF5), 0xF5); }

// acc + d dx isum - dmin dx msum for half h of a Q4_K / Q5_K record and one token's block.
[[gnu::always_inline]] inline __m256 q4k_scaled(const uint8_t* rec, int h, const uint8_t* xb, __m256i isum, __m256 acc) {
  const __m256 d = _mm256_cvtph_ps(load128(rec + 16 * h)), dmin = _mm256_cvtph_ps(load128(rec + 32 + 16 * h));
  int16_t bs[16];
  std::memcpy(bs, xb + kQ8KBsums, sizeof(bs));
  __m256i msum = _mm256_setzero_si256();
  for (int p = 0; p < 4; ++p) {  // (sum of sub-block 2p, of 2p + 1) as an int16 pair
    const auto lo = static_cast<uint16_t>(bs[4 * p] + bs[4 * p + 1]);
    const auto hi = static_cast<uint16_t>(bs[4 * p + 2] + bs[4 * p + 3]);
    const __m256i m_pair = _mm256_cvtepu8_epi16(load128(rec + kpacked::kQ4KMins + 32 * p + 16 * h));
    msum = _mm256_add_epi32(
        msum, _mm256_madd_epi16(m_pair, _mm256_set1_epi32(static_cast<int32_t>(lo | (uint32_t{hi} << 16)))));
  }
  const __m256 dx = bcast_f32(xb);
  return _mm256_add_ps(acc, _mm256_sub_ps(_mm256_mul_ps(_mm256_mul_ps(d, dx), _mm256_cvtepi32_ps(isum)),
                                          _mm256_mul_ps(_mm256_mul_ps(dmin, dx), _mm256_cvtepi32_ps(msum))));
}

// acc + d dx isum for half h of a Q6_K record and one token's block.
[[gnu::always_inline]] inline __m256 q6k_scaled(const uint8_t* rec, int h, const uint8_t* xb, __m256i isum, __m256 acc) {
  const __m256 d = _mm256_cvtph_ps(load128(rec + 16 * h));
  return _mm256_add_ps(acc, _mm256_mul_ps(_mm256_mul_ps(d, bcast_f32(xb)), _mm256_cvtepi32_ps(isum)));
}

// Sub-block s's dot of half h's 8 rows of a Q4_K / Q5_K record with 8 broadcast
// activation dwords (a[j]: quants 4j .. 4j + 3, a[4 + j]: 16 + 4j ..), times the rows'
// scales. Q5_K's fifth bits of dword j are bits j and 4 + j of a byte (packed_kquants.h):
// a 16-bit shift puts each at bit 4, where no other byte's bit lands.
template <GgmlType Type>
[[gnu::always_inline]] inline __m256i q45k_sub_dot(const uint8_t* rec, int s, int h, const __m256i a[8], __m256i sc) {
  const __m256i nib = _mm256_set1_epi8(0x0f), bit4 = _mm256_set1_epi8(0x10);
  const uint8_t* q = rec + kpacked::kQ4KQuants + 256 * s + 32 * h;
  __m256i top = _mm256_setzero_si256();
  if constexpr (Type == GgmlType::kQ5_K) top = load256(rec + kpacked::kQ5KHigh + 64 * s + 32 * h);
  __m256i dot = _mm256_setzero_si256(), out = _mm256_setzero_si256();
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    const __m256i v = load256(q + 64 * j);
    __m256i lo = _mm256_and_si256(v, nib), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nib);
    if constexpr (Type == GgmlType::kQ5_K) {
      lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(top, 4 - j), bit4));
      hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_srli_epi16(top, j), bit4));
    }
    dot = _mm256_add_epi16(dot, _mm256_maddubs_epi16(lo, a[j]));
    dot = _mm256_add_epi16(dot, _mm256_maddubs_epi16(hi, a[j + 4]));
    if (Type == GgmlType::kQ5_K && j % 2 == 1) {  // int16 holds four Q5_K pairs, not eight
      out = _mm256_add_epi32(out, _mm256_madd_epi16(dot, sc));
      dot = _mm256_setzero_si256();
    }
  }
  return Type == GgmlType::kQ5_K ? out : _mm256_madd_epi16(dot, sc);
}

// Group gr's dot of 8 rows (w: its 4 dwords) with 4 broadcast activation dwords, times
// the scales: Q6_K (int16 holds two maddubs exactly, not four).
[[gnu::always_inline]] inline __m256i q6k_group_dot(const __m256i w[4], const __m256i a[4], __m256i sc) {
  const __m256i d01 = _mm256_add_epi16(_mm256_maddubs_epi16(w[0], a[0]), _mm256_maddubs_epi16(w[1], a[1]));
  const __m256i d23 = _mm256_add_epi16(_mm256_maddubs_epi16(w[2], a[2]), _mm256_maddubs_epi16(w[3], a[3]));
  return _mm256_add_epi32(_mm256_madd_epi16(d01, sc), _mm256_madd_epi16(d23, sc));
}

// Group gr of half h of a Q6_K record (kernels/packed_kquants.h) as 4 registers of 8 rows:
// w[j] = dword j of its quants. Each is its nibble masked, ORed with its 2-bit field moved
// to bits 4-5 (maddubs takes no more than 6 bits without saturating, unlike VNNI's 4q).
[[gnu::always_inline]] inline void q6k_unpack(const uint8_t* rec, int gr, int h, __m256i w[4]) {
  const __m256i low4 = _mm256_set1_epi8(0x0f), field = _mm256_set1_epi8(0x30);
  const bool upper = gr % 2 == 1;  // the high nibbles of sub-block gr / 2
  const uint8_t* nib = rec + kpacked::kQ6KQuants + 256 * (gr / 2) + 32 * h;
#pragma GCC unroll 2
  for (int m = 0; m < 2; ++m) {
    const __m256i top = load256(rec + kpacked::kQ6KHigh + 128 * (gr / 2) + 64 * m + 32 * h);
    // Dword 2m's fields are bits 4-5 (low nibble's) and 6-7; dword 2m + 1's bits 0-1 and 2-3.
    const __m256i f0 = upper ? _mm256_srli_epi16(top, 2) : top;
    const __m256i f1 = upper ? _mm256_slli_epi16(top, 2) : _mm256_slli_epi16(top, 4);
#pragma GCC unroll 2
    for (int k = 0; k < 2; ++k) {
      const __m256i v = load256(nib + 64 * (2 * m + k));
      const __m256i n = _mm256_and_si256(upper ? _mm256_srli_epi16(v, 4) : v, low4);
      w[2 * m + k] = _mm256_or_si256(n, _mm256_and_si256(k == 0 ? f0 : f1, field));
    }
  }
}

// Where a Q6_K kernel gets group gr's registers for token t of a tile: unpacked from the
// record, or from a scratch copy `wide` of the record's quants unpacked once (a byte each,
// group gr's dword j at 256 gr + 64 j, half h at + 32 h) for many tokens; the first tile
// of tokens unpacks and fills it, interleaving that work with its products.
enum class Q6KSource { kRecord, kWide, kFillWide };
template <Q6KSource S>
struct Q6KQuants {
  const uint8_t* rec;
  uint8_t* wide;
  [[gnu::always_inline]] void operator()(int gr, int h, int t, __m256i w[4]) const {
    if constexpr (S == Q6KSource::kRecord) {
      q6k_unpack(rec, gr, h, w);
    } else if (S == Q6KSource::kFillWide && t == 0) {
      q6k_unpack(rec, gr, h, w);
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) _mm256_store_si256(reinterpret_cast<__m256i*>(wide + 256 * gr + 64 * j + 32 * h), w[j]);
    } else {  // the tile's later tokens read back what its first one stored
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) w[j] = load256(wide + 256 * gr + 64 * j + 32 * h);
    }
  }
};

// One super-block of G records (G groups: G memory streams) and T tokens, both halves of
// each record: acc[g][h][t] += what the super-block adds. Each token's activation
// broadcasts serve 16 G rows.
template <GgmlType Type, int G, int T>
[[gnu::always_inline]] inline void q45k_block(const uint8_t* const rec[G], const uint8_t* const xb[T], __m256 acc[G][2][T]) {
  __m256i isum[G][2][T];
  for (auto& g : isum)
    for (auto& h : g)
      for (auto& t : h) t = _mm256_setzero_si256();
#pragma GCC unroll 8
  for (int s = 0; s < 8; ++s)
#pragma GCC unroll 2
    for (int t = 0; t < T; ++t) {
      __m256i a[8];
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) a[j] = bcast32(xb[t] + kQ8KQs + 32 * s + 4 * j);
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g)
#pragma GCC unroll 2
        for (int h = 0; h < 2; ++h) {
          const __m256i sc_pair = _mm256_cvtepu8_epi16(load128(rec[g] + kpacked::kQ4KScales + 32 * (s / 2) + 16 * h));
          const __m256i sc = s % 2 == 0 ? first_of_pairs(sc_pair) : second_of_pairs(sc_pair);
          isum[g][h][t] = _mm256_add_epi32(isum[g][h][t], q45k_sub_dot<Type>(rec[g], s, h, a, sc));
        }
    }
  for (int g = 0; g < G; ++g)
    for (int h = 0; h < 2; ++h)
      for (int t = 0; t < T; ++t) acc[g][h][t] = q4k_scaled(rec[g], h, xb[t], isum[g][h][t], acc[g][h][t]);
}

// The same for Q6_K, quants[g] giving record g's registers. The offset of 32 goes into
// isum as -32 sc times the activations' group sums (|32 sc| fits int16).
template <int G, int T, class Quants>
[[gnu::always_inline]] inline void q6k_block(const uint8_t* const rec[G], const Quants quants[G], const uint8_t* const xb[T],
                                             __m256 acc[G][2][T]) {
  __m256i isum[G][2][T];
  for (auto& g : isum)
    for (auto& h : g)
      for (auto& t : h) t = _mm256_setzero_si256();
#pragma GCC unroll 16
  for (int gr = 0; gr < 16; ++gr)  // groups of 16 quants, each with its own scale
#pragma GCC unroll 2
    for (int t = 0; t < T; ++t) {
      __m256i a[4];
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) a[j] = bcast32(xb[t] + kQ8KQs + 16 * gr + 4 * j);
      const __m256i bsum_pair = bcast32(xb[t] + kQ8KBsums + 2 * gr);  // (bsums[gr], bsums[gr + 1]) for even gr
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g)
#pragma GCC unroll 2
        for (int h = 0; h < 2; ++h) {
          const __m256i sc_pair = _mm256_cvtepi8_epi16(load128(rec[g] + kpacked::kQ6KScales + 32 * (gr / 2) + 16 * h));
          const __m256i sc = gr % 2 == 0 ? first_of_pairs(sc_pair) : second_of_pairs(sc_pair);
          __m256i w[4];
          quants[g](gr, h, t, w);
          isum[g][h][t] = _mm256_add_epi32(isum[g][h][t], q6k_group_dot(w, a, sc));
          if (gr % 2 == 0) {  // times (-32 sc[gr], -32 sc[gr + 1])
            const __m256i offset_pair = _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(sc_pair, 5));
            isum[g][h][t] = _mm256_add_epi32(isum[g][h][t], _mm256_madd_epi16(offset_pair, bsum_pair));
          }
        }
    }
  for (int g = 0; g < G; ++g)
    for (int h = 0; h < 2; ++h)
      for (int t = 0; t < T; ++t) acc[g][h][t] = q6k_scaled(rec[g], h, xb[t], isum[g][h][t], acc[g][h][t]);
}

// G groups of 16 rows (`valid` rows real in all) times T tokens over super-blocks
// b0 .. b1 - 1, adding to what y holds unless b0 == 0. Q6_K's quants come from S; `wide`
// holds records b0 .. b1 - 1 of the G groups unpacked, record b of group g at
// ((b - b0) G + g) kQ6KWide.
template <GgmlType Type, int G, int T, Q6KSource S = Q6KSource::kRecord>
void tile(const uint8_t* groups, size_t group_bytes, uint8_t* wide, int64_t b0, int64_t b1, const uint8_t* x,
          size_t xs, int valid, float* y, size_t ys) {
  constexpr size_t kRecord = kpacked::record_bytes(Type);
  __m256 acc[G][2][T];
  for (int g = 0; g < G; ++g)
    for (int h = 0; h < 2; ++h) {
      const int rows = std::clamp(valid - kGroupRows * g - kLanes * h, 0, kLanes);
      for (int t = 0; t < T; ++t) {
        const float* in = y + t * ys + kGroupRows * g + kLanes * h;
        if (b0 == 0) {
          acc[g][h][t] = _mm256_setzero_ps();
        } else if (rows == kLanes) {
          acc[g][h][t] = _mm256_loadu_ps(in);
        } else {
          alignas(32) float tmp[kLanes] = {};
          std::memcpy(tmp, in, sizeof(float) * static_cast<size_t>(rows));
          acc[g][h][t] = _mm256_load_ps(tmp);
        }
      }
    }
  for (int64_t b = b0; b < b1; ++b) {
    const uint8_t* rec[G];
    for (int g = 0; g < G; ++g) rec[g] = groups + g * group_bytes + b * kRecord;
    // One token: a record of each stream ahead, Q4_K and Q5_K the next one (2.3, 2.9 KB),
    // Q6_K the one after (6.7 KB; measured 15.0 GB/s against 14.4 for the next one, 3 ahead
    // no faster).
    if constexpr (T == 1)
      for (int g = 0; g < G; ++g) prefetch_ahead<kRecord>(rec[g], (Type == GgmlType::kQ6_K ? 2 : 1) * kRecord);
    const uint8_t* xb[T];
    for (int t = 0; t < T; ++t) xb[t] = x + t * xs + b * kQ8KBytes;
    if constexpr (!kIsQ6K<Type>) {
      q45k_block<Type, G, T>(rec, xb, acc);
    } else {
      Q6KQuants<S> from[G];
      for (int g = 0; g < G; ++g)
        from[g] = {rec[g], S == Q6KSource::kRecord ? nullptr : wide + static_cast<size_t>((b - b0) * G + g) * kQ6KWide};
      q6k_block<G, T>(rec, from, xb, acc);
    }
  }
  for (int g = 0; g < G; ++g)
    for (int h = 0; h < 2; ++h) {
      const int rows = std::clamp(valid - kGroupRows * g - kLanes * h, 0, kLanes);
      for (int t = 0; t < T; ++t) {
        float* out = y + t * ys + kGroupRows * g + kLanes * h;
        if (rows == kLanes) {
          _mm256_storeu_ps(out, acc[g][h][t]);
        } else if (rows > 0) {
          alignas(32) float tmp[kLanes];
          _mm256_store_ps(tmp, acc[g][h][t]);
          std::memcpy(out, tmp, sizeof(float) * static_cast<size_t>(rows));
        }
      }
    }
}

// One token against `count` (1 .. G) groups.
template <GgmlType Type, int G>
void decode_tile(int count, const uint8_t* groups, size_t group_bytes, int64_t nb, const uint8_t* x, int valid, float* y) {
  if constexpr (G > 1)
    if (count < G) return decode_tile<Type, G - 1>(count, groups, group_bytes, nb, x, valid, y);
  tile<Type, G, 1>(groups, group_bytes, nullptr, 0, nb, x, 0, valid, y, 0);
}

template <GgmlType Type>
void gemm_packed(int64_t n, const void* w, int64_t n_rows, const void* x, size_t xs, int64_t n_tok, float* y,
                 size_t ys) {
  constexpr size_t kRecord = kpacked::record_bytes(Type);
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xb = static_cast<const uint8_t*>(x);
  const int64_t nb = n / 256;
  const size_t group_bytes = static_cast<size_t>(nb) * kRecord;
  // One token: several groups at once (memory streams). More: groups outer, token tiles
  // inner, so a group's records stay in L1/L2 while every tile of tokens passes over them;
  // Q6_K unpacks a few records at a time into L1 first, once for all the tokens instead of
  // once per tile.
  const int64_t blocks_at_once = kIsQ6K<Type> ? kWideBlocks : nb;
  alignas(64) uint8_t wide[kIsQ6K<Type> ? kWideBlocks * kQ6KWide : 1];
  const int64_t step = n_tok == 1 ? kDecodeGroups<Type> : 1;
  for (int64_t r0 = 0; r0 < n_rows; r0 += step * kGroupRows) {
    const uint8_t* groups = wb + (r0 / kGroupRows) * group_bytes;
    const int valid = static_cast<int>(std::min<int64_t>(step * kGroupRows, n_rows - r0));
    if (n_tok == 1) {  // never past the last group
      decode_tile<Type, kDecodeGroups<Type>>((valid + kGroupRows - 1) / kGroupRows, groups, group_bytes, nb, xb, valid,
                                             y + r0);
      continue;
    }
    for (int64_t b0 = 0; b0 < nb; b0 += blocks_at_once) {
      const int64_t b1 = std::min(nb, b0 + blocks_at_once);
      constexpr Q6KSource kFrom = kIsQ6K<Type> ? Q6KSource::kWide : Q6KSource::kRecord;
      constexpr Q6KSource kFirst = kIsQ6K<Type> ? Q6KSource::kFillWide : Q6KSource::kRecord;
      for (int64_t t0 = 0; t0 < n_tok; t0 += kMaxTok) {  // n_tok > 1: the first tile has 2 tokens
        const uint8_t* xt = xb + t0 * xs;
        float* yt = y + t0 * ys + r0;
        if (t0 == 0) tile<Type, 1, 2, kFirst>(groups, group_bytes, wide, b0, b1, xt, xs, valid, yt, ys);
        else if (n_tok - t0 == 1) tile<Type, 1, 1, kFrom>(groups, group_bytes, wide, b0, b1, xt, xs, valid, yt, ys);
        else tile<Type, 1, 2, kFrom>(groups, group_bytes, wide, b0, b1, xt, xs, valid, yt, ys);
      }
    }
  }
}

}  // namespace

void install_avx2_kquants_packed(TypeKernels* slots) {
  slots[static_cast<size_t>(GgmlType::kQ4_K)].gemm_packed = &gemm_packed<GgmlType::kQ4_K>;
  slots[static_cast<size_t>(GgmlType::kQ5_K)].gemm_packed = &gemm_packed<GgmlType::kQ5_K>;
  slots[static_cast<size_t>(GgmlType::kQ6_K)].gemm_packed = &gemm_packed<GgmlType::kQ6_K>;
}

}  // namespace mx::x86
#endif
