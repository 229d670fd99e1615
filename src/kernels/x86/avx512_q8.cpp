// AVX-512 VNNI paths for the 8-bit family: Q8_0, Q4_0, IQ4_NL and MXFP4 weights against
// Q8_0 activations, and the f32 -> Q8_0 activation quantizer. Installed only on CPUs with
// AVX512_VNNI (the file is compiled with every AVX-512 flag CMake gives avx512_*).
//
// Both gemm paths transpose 16 blocks into lanes, so that after 8 vpdpbusd each 32-bit
// lane holds one block's exact integer sum and a single FMA applies that block's scale:
// no per-block horizontal sums.
// - Rows in lanes (prefill, >= 4 tokens): lane i is row i of a group of 16 rows; the
//   4 activation bytes of step k are broadcast to every lane, and one transpose of the
//   weights serves a tile of up to 8 tokens.
// - Blocks in lanes (decode, <= 3 tokens): lane i is block i of a run of 16 consecutive
//   blocks of one row, so every row is one sequential stream; the activations, shared
//   by all rows, are transposed once per call, and each row ends in one horizontal sum.
//
// vpdpbusd multiplies unsigned by signed bytes. The weights are the unsigned side with a
// bias (Q8_0: w + 128 by flipping the top bit; Q4_0: the stored nibble, q + 8; IQ4_NL and
// MXFP4: grid value + 128 from a byte shuffle), and the bias times the block's activation
// sum is subtracted by starting the accumulator at -bias * sum(x). That is exact for every
// int8 input, -128 included.
#if defined(__x86_64__)
// GCC 12's AVX-512 headers build results from _mm512_undefined_*() and then warn that
// those are uninitialized (GCC bug 105593, fixed in 13): false positives, silenced here.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>

#include "kernels/x86/avx512_dpbusd.h"
#include "kernels/x86/avx512_vnni_packed.h"
#include "kernels/x86/install.h"
#include "kernels/x86/prefetch.h"
#include "quant/blocks.h"

namespace mx::x86 {
namespace {

constexpr size_t kQ8Bytes = 34;  // fp16 d + 32 int8
constexpr int kLanes = 16;       // weight rows per tile, one per 32-bit lane
constexpr int kMaxTok = 8;       // tokens per register tile, rows in lanes (measured: 12 spills)
constexpr int kChunk = 64;       // blocks per pass: bounds the per-token tables below
constexpr int kMaxBlocksTok = 3; // up to this many tokens, blocks in lanes (measured)
// Software prefetch of each row about 512 bytes ahead, once per cache line or so.
template <class W>
constexpr int64_t kPrefetchAhead = 512 / W::kBytes;
template <class W>
constexpr int64_t kPrefetchEvery = 64 / W::kBytes;

float load_half(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, sizeof(h));
  return _cvtsh_ss(h);
}

// Where the 16 lanes' data lives: 16 weight rows `ws` bytes apart (rows in lanes), or
// 16 consecutive blocks of one row, `kStride` bytes apart (blocks in lanes).
struct StridedRows {
  const uint8_t* w;
  size_t ws;
  const uint8_t* operator()(int i) const { return w + i * ws; }
};
template <size_t kStride>
struct ConsecutiveBlocks {
  const uint8_t* p;
  const uint8_t* operator()(int i) const { return p + i * kStride; }
};

// 16 lanes of data. In the last group only `valid` lanes exist: the others read as zeros
// without touching memory (masked loads), and their results are never used.
template <class Addr, bool kTail>
struct Lanes {
  Addr addr;
  int valid;

  [[gnu::always_inline]] __m128i load16(int i, size_t off) const {
    // A missing lane points at lane 0: never read, but never outside the matrix either.
    const uint8_t* p = (kTail && i >= valid ? addr(0) : addr(i)) + off;
    if constexpr (kTail)
      return _mm_maskz_loadu_epi32(static_cast<__mmask8>(i < valid ? 0xf : 0), p);
    else
      return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  }

  // The fp16 at offset `off` of every lane, widened to f32 (zero in missing lanes). Four
  // scales are packed into a 64-bit register with integer ops, which run beside the
  // vector pipes; a gather is microcoded and slow on some CPUs (Zen 4).
  [[gnu::always_inline]] __m512 scales(size_t off) const {
    uint64_t h[kLanes];
    for (int i = 0; i < kLanes; ++i) {
      uint16_t v = 0;
      if (!kTail || i < valid) std::memcpy(&v, addr(i) + off, sizeof(v));
      h[i] = v;
    }
    auto four = [&](int i) {
      return _mm_cvtsi64_si128(static_cast<long long>(h[i] | h[i + 1] << 16 | h[i + 2] << 32 | h[i + 3] << 48));
    };
    const __m128i lo = _mm_unpacklo_epi64(four(0), four(4));
    const __m128i hi = _mm_unpacklo_epi64(four(8), four(12));
    return _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1));
  }

  // The byte at offset `off` of every lane (zero in missing lanes), packed with integer
  // ops as in scales(). (A loop ORing each lane into one of two words GCC turned into
  // stores and vector reloads through the stack: one token on 2880 x 2880 took 407 us, now 189.)
  [[gnu::always_inline]] __m128i bytes(size_t off) const {
    uint64_t b[kLanes];
    for (int i = 0; i < kLanes; ++i) b[i] = !kTail || i < valid ? addr(i)[off] : 0;
    auto eight = [&](int i) {
      return _mm_cvtsi64_si128(static_cast<long long>(b[i] | b[i + 1] << 8 | b[i + 2] << 16 | b[i + 3] << 24 |
                                                      b[i + 4] << 32 | b[i + 5] << 40 | b[i + 6] << 48 |
                                                      b[i + 7] << 56));
    };
    return _mm_unpacklo_epi64(eight(0), eight(8));
  }

  void prefetch(size_t off) const {
    for (int i = 0; i < kLanes; ++i)
      if (!kTail || i < valid) _mm_prefetch(reinterpret_cast<const char*>(addr(i) + off), _MM_HINT_T0);
  }
};

template <bool kTail>
using RowGroup = Lanes<StridedRows, kTail>;

// 16 rows x 16 bytes at offset `off` -> out[k] with lane i = dword k of row i.
template <class Rows>
[[gnu::always_inline]] inline void transpose_16x4(const Rows& rows, size_t off, __m512i out[4]) {
  // z[j] holds rows j, j+4, j+8, j+12 in its four 128-bit lanes; a 4x4 dword transpose
  // inside every 128-bit lane then leaves row 4L+m in lane L, position m.
  __m512i z[4];
  for (int j = 0; j < 4; ++j) {
    z[j] = _mm512_castsi128_si512(rows.load16(j, off));
    z[j] = _mm512_inserti32x4(z[j], rows.load16(j + 4, off), 1);
    z[j] = _mm512_inserti32x4(z[j], rows.load16(j + 8, off), 2);
    z[j] = _mm512_inserti32x4(z[j], rows.load16(j + 12, off), 3);
  }
  const __m512i t0 = _mm512_unpacklo_epi32(z[0], z[1]);
  const __m512i t1 = _mm512_unpackhi_epi32(z[0], z[1]);
  const __m512i t2 = _mm512_unpacklo_epi32(z[2], z[3]);
  const __m512i t3 = _mm512_unpackhi_epi32(z[2], z[3]);
  out[0] = _mm512_unpacklo_epi64(t0, t2);
  out[1] = _mm512_unpackhi_epi64(t0, t2);
  out[2] = _mm512_unpacklo_epi64(t1, t3);
  out[3] = _mm512_unpackhi_epi64(t1, t3);
}

// 2^(e - 128) in every lane from 16 E8M0 bytes, as kE8M0Half: (e - 1) << 23 are the
// float's bits for e >= 2, and e = 0, 1 are the subnormals 2^-128, 2^-127.
__m512 e8m0_half(__m128i bytes) {
  const __m512i e = _mm512_cvtepu8_epi32(bytes);
  const __m512i normal = _mm512_slli_epi32(_mm512_sub_epi32(e, _mm512_set1_epi32(1)), 23);
  const __m512i subnormal = _mm512_sllv_epi32(_mm512_set1_epi32(0x00200000), e);
  const __mmask16 tiny = _mm512_cmplt_epu32_mask(e, _mm512_set1_epi32(2));
  return _mm512_castsi512_ps(_mm512_mask_blend_epi32(tiny, normal, subnormal));
}

// Where a block keeps its scale and how it reads: the 16 lanes' scales as floats, or one
// block's. Its quants follow from byte kQsAt.
struct HalfScaled {  // Q8_0, Q4_0, IQ4_NL: fp16 d
  static constexpr size_t kQsAt = 2;
  template <class Rows>
  [[gnu::always_inline]] static __m512 scales(const Rows& rows, size_t blk) { return rows.scales(blk); }
  static float scale(const uint8_t* blk) { return load_half(blk); }
};
struct E8M0Scaled {  // MXFP4: a bare exponent e, scale 2^(e - 128)
  static constexpr size_t kQsAt = 1;
  template <class Rows>
  [[gnu::always_inline]] static __m512 scales(const Rows& rows, size_t blk) { return e8m0_half(rows.bytes(blk)); }
  static float scale(const uint8_t* blk) { return kE8M0Half.v[blk[0]]; }
};

// Weight formats: a block's quants as 8 registers of unsigned bytes (transposed), and
// the bias those bytes carry.
struct Q8Weights : HalfScaled {
  static constexpr size_t kBytes = 34;
  static constexpr int32_t kBias = 128;
  template <class Rows>
  [[gnu::always_inline]] static void unpack(const Rows& rows, size_t blk, __m512i wt[8]) {
    transpose_16x4(rows, blk + 2, wt);
    transpose_16x4(rows, blk + 18, wt + 4);
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
    for (int k = 0; k < 8; ++k) wt[k] = _mm512_xor_si512(wt[k], flip);
  }
  // A packed record's quants (kernels/packed.h): already transposed and biased.
  static constexpr int kPackedDwords = 8;
  [[gnu::always_inline]] static void unpack_packed(const uint8_t* q, __m512i wt[8]) {
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) wt[k] = _mm512_loadu_si512(q + 64 * k);
  }
  // One block, untransposed: 32 unsigned bytes in element order.
  static __m256i load(const uint8_t* blk) {
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2));
    return _mm256_xor_si256(q, _mm256_set1_epi8(static_cast<char>(0x80)));
  }
};

// 4-bit quants as in Q4_0, from byte kQsAt of the block, as unsigned nibbles. Byte j holds
// element j (low nibble) and j + 16 (high): dwords 0..3 of the low nibbles are elements
// 0..15, of the high nibbles 16..31.
template <class Scaled>
struct Nibbles : Scaled {
  template <class Rows>
  [[gnu::always_inline]] static void unpack(const Rows& rows, size_t blk, __m512i wt[8]) {
    __m512i raw[4];
    transpose_16x4(rows, blk + Scaled::kQsAt, raw);
    const __m512i mask = _mm512_set1_epi8(0x0f);
    for (int k = 0; k < 4; ++k) {
      wt[k] = _mm512_and_si512(raw[k], mask);
      wt[k + 4] = _mm512_and_si512(_mm512_srli_epi32(raw[k], 4), mask);
    }
  }
  static constexpr int kPackedDwords = 4;
  [[gnu::always_inline]] static void unpack_packed(const uint8_t* q, __m512i wt[8]) {
    const __m512i mask = _mm512_set1_epi8(0x0f);
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      const __m512i raw = _mm512_loadu_si512(q + 64 * k);
      wt[k] = _mm512_and_si512(raw, mask);
      wt[k + 4] = _mm512_and_si512(_mm512_srli_epi32(raw, 4), mask);
    }
  }
  static __m256i load(const uint8_t* blk) {
    const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + Scaled::kQsAt));
    const __m128i mask = _mm_set1_epi8(0x0f);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), mask), _mm_and_si128(raw, mask));
  }
};

struct Q4Weights : Nibbles<HalfScaled> {
  static constexpr size_t kBytes = 18;
  static constexpr int32_t kBias = 8;  // stored nibbles are q + 8
};

// IQ4_NL, MXFP4: Q4_0's nibbles, each an index into a grid of 16 int8 values. A byte
// shuffle turns the indices into grid value + 128 (unsigned), so the products are Q8_0's
// with Q4_0's bytes.
template <const int8_t* Grid, class Scaled, size_t Bytes>
struct GridWeights : Nibbles<Scaled> {
  static constexpr size_t kBytes = Bytes;
  static constexpr int32_t kBias = 128;
  static __m128i grid() {
    static constexpr struct Biased {
      alignas(16) uint8_t v[16];
    } kBiased = [] {
      Biased g{};
      for (int i = 0; i < 16; ++i) g.v[i] = static_cast<uint8_t>(Grid[i] + 128);
      return g;
    }();
    return _mm_load_si128(reinterpret_cast<const __m128i*>(kBiased.v));
  }
  [[gnu::always_inline]] static void to_values(__m512i wt[8]) {
    const __m512i g = _mm512_broadcast_i32x4(grid());
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) wt[k] = _mm512_shuffle_epi8(g, wt[k]);
  }
  template <class Rows>
  [[gnu::always_inline]] static void unpack(const Rows& rows, size_t blk, __m512i wt[8]) {
    Nibbles<Scaled>::unpack(rows, blk, wt);
    to_values(wt);
  }
  [[gnu::always_inline]] static void unpack_packed(const uint8_t* q, __m512i wt[8]) {
    Nibbles<Scaled>::unpack_packed(q, wt);
    to_values(wt);
  }
  static __m256i load(const uint8_t* blk) {
    const __m128i g = grid();
    return _mm256_shuffle_epi8(_mm256_set_m128i(g, g), Nibbles<Scaled>::load(blk));
  }
};
using IQ4NLWeights = GridWeights<kIQ4NLValues, HalfScaled, sizeof(BlockIQ4_NL)>;
using MXFP4Weights = GridWeights<kMXFP4Values, E8M0Scaled, sizeof(BlockMXFP4)>;
// Packed MXFP4 records hold the scale as fp16 (kernels/packed.h), as IQ4_NL's do.
using MXFP4PackedWeights = GridWeights<kMXFP4Values, HalfScaled, sizeof(BlockMXFP4)>;

int32_t sum_i8x32(const uint8_t* q) {
  // sad against zero sums unsigned bytes, so sum q + 128 and take 32 * 128 back off.
  const __m256i u = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q)),
                                     _mm256_set1_epi8(static_cast<char>(0x80)));
  const __m256i s = _mm256_sad_epu8(u, _mm256_setzero_si256());
  __m128i s2 = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
  s2 = _mm_add_epi64(s2, _mm_unpackhi_epi64(s2, s2));
  return _mm_cvtsi128_si32(s2) - 32 * 128;
}

// ---- Rows in lanes: the prefill path.

// Each (block, token) of a chunk: its quants, copied so that a block's tokens sit side by
// side (the tile then reads them at constant offsets from one pointer, not through a
// pointer per token), the starting accumulator -bias * sum(x) and the activation scale.
struct TokenSide {
  alignas(64) uint8_t q[kChunk][kMaxTok][32];
  int32_t start[kChunk][kMaxTok];
  float d[kChunk][kMaxTok];
};

void fill_token_side(TokenSide& side, const uint8_t* x, size_t xs, int n_tok, int64_t c0,
                     int64_t c1, int32_t bias) {
  for (int64_t b = c0; b < c1; ++b)
    for (int t = 0; t < n_tok; ++t) {
      const uint8_t* xb = x + t * xs + b * kQ8Bytes;
      std::memcpy(side.q[b - c0][t], xb + 2, 32);
      side.start[b - c0][t] = -bias * sum_i8x32(xb + 2);
      side.d[b - c0][t] = load_half(xb);
    }
}

// One block of 16 rows (wt: transposed unsigned quants, dw: their scales) against T
// tokens' activation blocks at xq (quants, 32 bytes apart): acc[t] lane i += the block's
// dot for row i, token t. Every token's arithmetic is the same whatever T is.
template <int T>
[[gnu::always_inline]] inline void dot_block(const __m512i wt[8], __m512 dw, const uint8_t (*xq)[32],
                                             const int32_t* start, const float* dx, __m512 acc[T]) {
  // k outer, tokens inner: independent dpbusd chains in flight. Few tokens give few
  // chains, so each token's 8 steps are then split over C chains to hide the latency.
  constexpr int C = T >= 4 ? 1 : (T >= 2 ? 2 : 4);
  // Fully unrolled (GCC's -O2 keeps these loops, and s[][] then lives on the stack).
  __m512i s[T][C];
#pragma GCC unroll 16
  for (int t = 0; t < T; ++t) {
    s[t][0] = _mm512_set1_epi32(start[t]);
#pragma GCC unroll 4
    for (int c = 1; c < C; ++c) s[t][c] = _mm512_setzero_si512();
  }
#pragma GCC unroll 8
  for (int k = 0; k < 8; ++k)
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t)
      s[t][k % C] = dpbusd_broadcast(s[t][k % C], wt[k], xq[t] + 4 * k);
#pragma GCC unroll 16
  for (int t = 0; t < T; ++t) {
#pragma GCC unroll 4
    for (int c = 1; c < C; ++c) s[t][0] = _mm512_add_epi32(s[t][0], s[t][c]);
    acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[t][0]), _mm512_mul_ps(dw, _mm512_set1_ps(dx[t])), acc[t]);
  }
}

// 16 rows x T tokens over blocks [c0, c1): y[t * ys + i] (+)= dot of row i, token t.
template <class W, int T, bool kTail>
void tile(const RowGroup<kTail>& rows, int64_t c0, int64_t c1, const TokenSide& side, float* y, size_t ys) {
  const auto store_mask = static_cast<__mmask16>((1u << rows.valid) - 1);
  __m512 acc[T];
  // Later chunks continue the sums left in y: each lane adds in the same order as in
  // one pass.
  for (int t = 0; t < T; ++t)
    acc[t] = c0 == 0 ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(store_mask, y + t * ys);
  for (int64_t b = c0; b < c1; ++b) {
    // 16 rows are 16 streams, more than the hardware prefetcher keeps ahead of.
    if (b % kPrefetchEvery<W> == 0 && b + kPrefetchAhead<W> < c1) rows.prefetch((b + kPrefetchAhead<W>) * W::kBytes);
    __m512i wt[8];
    W::unpack(rows, b * W::kBytes, wt);
    dot_block<T>(wt, W::scales(rows, b * W::kBytes), side.q[b - c0], side.start[b - c0], side.d[b - c0], acc);
  }
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * ys, store_mask, acc[t]);
}

template <class W, bool kTail>
void tile_any(int nt, const RowGroup<kTail>& rows, int64_t c0, int64_t c1, const TokenSide& side, float* y,
              size_t ys) {
  switch (nt) {
    case 1: return tile<W, 1>(rows, c0, c1, side, y, ys);
    case 2: return tile<W, 2>(rows, c0, c1, side, y, ys);
    case 3: return tile<W, 3>(rows, c0, c1, side, y, ys);
    case 4: return tile<W, 4>(rows, c0, c1, side, y, ys);
    case 5: return tile<W, 5>(rows, c0, c1, side, y, ys);
    case 6: return tile<W, 6>(rows, c0, c1, side, y, ys);
    case 7: return tile<W, 7>(rows, c0, c1, side, y, ys);
    default: return tile<W, 8>(rows, c0, c1, side, y, ys);
  }
}

// ---- Blocks in lanes: the decode path (few tokens). Lane i holds block i of a run of
// 16 consecutive blocks of one row, so each row is read as one sequential stream and all
// addresses are constant offsets; the activations, shared by every row, are transposed
// the same way once per call. Rows end with one horizontal sum per token.

// One token's run of 16 activation blocks, transposed: lane i = block i.
struct ActRun {
  __m512i xt[8];  // dword k of each block's quants
  __m512i start;  // -bias * sum(x) of each block
  __m512 d;       // each block's scale
};

constexpr int kActRuns = 16;  // ActRuns per pass: 10 KB of stack, well inside L1

template <class W, bool kTail>
void build_act(ActRun& a, const uint8_t* x, int valid) {
  const Lanes<ConsecutiveBlocks<kQ8Bytes>, kTail> xr{{x}, valid};
  transpose_16x4(xr, 2, a.xt);
  transpose_16x4(xr, 18, a.xt + 4);
  __m512i sum = _mm512_setzero_si512();
  const __m512i bias = _mm512_set1_epi8(static_cast<char>(W::kBias));
  for (int k = 0; k < 8; ++k) sum = _mm512_dpbusd_epi32(sum, bias, a.xt[k]);
  a.start = _mm512_sub_epi32(_mm512_setzero_si512(), sum);
  a.d = xr.scales(0);
}

// One run of one row against T tokens: acc[t] lane i += dot of block i.
template <class W, int T, bool kTail>
[[gnu::always_inline]] inline void run_blocks(const uint8_t* wrun, int valid, const ActRun* act,
                                              int act_stride, __m512 acc[T]) {
  const Lanes<ConsecutiveBlocks<W::kBytes>, kTail> wr{{wrun}, valid};
  __m512i wt[8];
  W::unpack(wr, 0, wt);
  const __m512 dw = W::scales(wr, 0);
  constexpr int C = T >= 4 ? 1 : (T >= 2 ? 2 : 4);  // dpbusd chains per token
  for (int t = 0; t < T; ++t) {
    const ActRun& a = act[t * act_stride];
    __m512i s[C];
    s[0] = a.start;
    for (int c = 1; c < C; ++c) s[c] = _mm512_setzero_si512();
    for (int k = 0; k < 8; ++k) s[k % C] = _mm512_dpbusd_epi32(s[k % C], wt[k], a.xt[k]);
    for (int c = 1; c < C; ++c) s[0] = _mm512_add_epi32(s[0], s[c]);
    acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[0]), _mm512_mul_ps(dw, a.d), acc[t]);
  }
}

// Exactly T tokens, any number of rows.
template <class W, int T>
void gemm_blocks(int64_t nb, const uint8_t* w, size_t ws, int64_t n_rows, const uint8_t* x,
                 size_t xs, float* y, size_t ys) {
  constexpr int64_t kRunsPerPass = kActRuns / T;
  alignas(64) ActRun act[kActRuns];
  const int64_t n_runs = (nb + kLanes - 1) / kLanes;
  for (int64_t g0 = 0; g0 < n_runs; g0 += kRunsPerPass) {
    const int64_t g1 = n_runs - g0 < kRunsPerPass ? n_runs : g0 + kRunsPerPass;
    const bool tail = g1 * kLanes > nb;  // the last run is partial
    for (int t = 0; t < T; ++t)
      for (int64_t g = g0; g < g1; ++g) {
        const uint8_t* xg = x + t * xs + g * kLanes * kQ8Bytes;
        ActRun& a = act[t * kRunsPerPass + (g - g0)];
        if (tail && g == g1 - 1) build_act<W, true>(a, xg, static_cast<int>(nb - g * kLanes));
        else build_act<W, false>(a, xg, kLanes);
      }
    for (int64_t r = 0; r < n_rows; ++r) {
      const uint8_t* wrow = w + r * ws;
      __m512 acc[T];
      for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
      const int64_t full_end = tail ? g1 - 1 : g1;
      for (int64_t g = g0; g < full_end; ++g)
        run_blocks<W, T, false>(wrow + g * kLanes * W::kBytes, kLanes, act + (g - g0), kRunsPerPass, acc);
      if (tail)
        run_blocks<W, T, true>(wrow + (g1 - 1) * kLanes * W::kBytes, static_cast<int>(nb - (g1 - 1) * kLanes),
                               act + (g1 - 1 - g0), kRunsPerPass, acc);
      // Passes after the first add their part to what the earlier ones stored.
      for (int t = 0; t < T; ++t) {
        const float v = _mm512_reduce_add_ps(acc[t]);
        y[t * ys + r] = g0 == 0 ? v : y[t * ys + r] + v;
      }
    }
  }
}

template <class W>
void gemm(int64_t n, const void* w, size_t ws, int64_t n_rows, const void* x, size_t xs,
          int64_t n_tok, float* y, size_t ys) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xb = static_cast<const uint8_t*>(x);
  const int64_t nb = n / 32;
  if (nb == 0) {  // an empty row: every dot is zero
    for (int64_t t = 0; t < n_tok; ++t)
      for (int64_t r = 0; r < n_rows; ++r) y[t * ys + r] = 0.0f;
    return;
  }
  if (n_tok <= kMaxBlocksTok) {
    static_assert(kMaxBlocksTok == 3);
    switch (n_tok) {
      case 1: return gemm_blocks<W, 1>(nb, wb, ws, n_rows, xb, xs, y, ys);
      case 2: return gemm_blocks<W, 2>(nb, wb, ws, n_rows, xb, xs, y, ys);
      default: return gemm_blocks<W, 3>(nb, wb, ws, n_rows, xb, xs, y, ys);
    }
  }
  TokenSide side;
  for (int64_t t0 = 0; t0 < n_tok; t0 += kMaxTok) {
    const int nt = static_cast<int>(n_tok - t0 < kMaxTok ? n_tok - t0 : kMaxTok);
    const uint8_t* xt = xb + t0 * xs;
    float* yt = y + t0 * ys;
    for (int64_t c0 = 0; c0 < nb; c0 += kChunk) {
      const int64_t c1 = nb - c0 < kChunk ? nb : c0 + kChunk;
      fill_token_side(side, xt, xs, nt, c0, c1, W::kBias);
      int64_t r0 = 0;
      for (; r0 + kLanes <= n_rows; r0 += kLanes)
        tile_any<W>(nt, RowGroup<false>{{wb + r0 * ws, ws}, kLanes}, c0, c1, side, yt + r0, ys);
      if (r0 < n_rows)
        tile_any<W>(nt, RowGroup<true>{{wb + r0 * ws, ws}, static_cast<int>(n_rows - r0)}, c0, c1, side, yt + r0,
                    ys);
    }
  }
}

// ---- Packed weights (kernels/packed.h): the prefill tile without any transposes, used
// for every token count, so results do not depend on how many tokens share a call.

template <class W>
struct PackedGroup {
  static constexpr size_t kRecord = 32 + 64 * W::kPackedDwords;
  const uint8_t* g;  // the group's first record
  const uint8_t* record(int64_t b) const { return g + b * kRecord; }
};

// G groups of 16 rows x T tokens over blocks [c0, c1). Several groups at once give the
// memory system several streams to fetch in parallel, which decoding (T = 1) needs to
// approach the bandwidth; `valid` rows exist in the last group.
template <class W, int T, int G>
void packed_tile(const PackedGroup<W>* groups, int valid, int64_t c0, int64_t c1, const TokenSide& side, float* y,
                 size_t ys) {
  __m512 acc[G][T];
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g) {
    const auto mask = static_cast<__mmask16>(g + 1 < G ? 0xffff : (1u << valid) - 1);
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t)
      acc[g][t] = c0 == 0 ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mask, y + g * kLanes + t * ys);
  }
  for (int64_t b = c0; b < c1; ++b) {
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) {
      const uint8_t* rec = groups[g].record(b);
      // One token: prefetch 8 records (2.3-4.4 KB) ahead in each stream. The hardware
      // prefetcher alone kept the product at ~60% of the read bandwidth at two threads
      // (measured on Zen 5 with huge pages: GgmlShape/Q4_0/n1 31-39 -> 45-52 GB/s).
      if constexpr (T == 1) prefetch_ahead<PackedGroup<W>::kRecord>(rec, 8 * PackedGroup<W>::kRecord);
      __m512i wt[8];
      W::unpack_packed(rec + 32, wt);
      const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(rec)));
      dot_block<T>(wt, dw, side.q[b - c0], side.start[b - c0], side.d[b - c0], acc[g]);
    }
  }
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g) {
    const auto mask = static_cast<__mmask16>(g + 1 < G ? 0xffff : (1u << valid) - 1);
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + g * kLanes + t * ys, mask, acc[g][t]);
  }
}

template <class W>
void packed_tile_any(int nt, int n_groups, const PackedGroup<W>* groups, int valid, int64_t c0, int64_t c1,
                     const TokenSide& side, float* y, size_t ys) {
  if (nt == 1) {  // decode: up to 4 groups' streams at once
    switch (n_groups) {
      case 4: return packed_tile<W, 1, 4>(groups, valid, c0, c1, side, y, ys);
      case 3: return packed_tile<W, 1, 3>(groups, valid, c0, c1, side, y, ys);
      case 2: return packed_tile<W, 1, 2>(groups, valid, c0, c1, side, y, ys);
      default: return packed_tile<W, 1, 1>(groups, valid, c0, c1, side, y, ys);
    }
  }
  if (nt == 2 && n_groups == 2) return packed_tile<W, 2, 2>(groups, valid, c0, c1, side, y, ys);
  switch (nt) {
    case 2: return packed_tile<W, 2, 1>(groups, valid, c0, c1, side, y, ys);
    case 3: return packed_tile<W, 3, 1>(groups, valid, c0, c1, side, y, ys);
    case 4: return packed_tile<W, 4, 1>(groups, valid, c0, c1, side, y, ys);
    case 5: return packed_tile<W, 5, 1>(groups, valid, c0, c1, side, y, ys);
    case 6: return packed_tile<W, 6, 1>(groups, valid, c0, c1, side, y, ys);
    case 7: return packed_tile<W, 7, 1>(groups, valid, c0, c1, side, y, ys);
    default: return packed_tile<W, 8, 1>(groups, valid, c0, c1, side, y, ys);
  }
}

template <class W>
void gemm_packed(int64_t n, const void* w, int64_t n_rows, const void* x, size_t xs, int64_t n_tok,
                 float* y, size_t ys) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xb = static_cast<const uint8_t*>(x);
  const int64_t nb = n / 32;
  const size_t group_bytes = static_cast<size_t>(nb) * PackedGroup<W>::kRecord;
  if (nb == 0) {
    for (int64_t t = 0; t < n_tok; ++t)
      for (int64_t r = 0; r < n_rows; ++r) y[t * ys + r] = 0.0f;
    return;
  }
  // The activation side of every chunk of a token tile, computed once per call.
  const int64_t n_chunks = (nb + kChunk - 1) / kChunk;
  // Rows up to 8192 long keep it on the stack (80 KB): a one-token call is a few
  // microseconds, and a heap block of this size per call cost ~1% of generation.
  constexpr int64_t kStackChunks = 4;
  TokenSide on_stack[kStackChunks];  // filled below, no zeroing
  const std::unique_ptr<TokenSide[]> on_heap(n_chunks > kStackChunks ? new TokenSide[n_chunks] : nullptr);
  TokenSide* const sides = on_heap ? on_heap.get() : on_stack;
  for (int64_t t0 = 0; t0 < n_tok; t0 += kMaxTok) {
    const int nt = static_cast<int>(n_tok - t0 < kMaxTok ? n_tok - t0 : kMaxTok);
    const uint8_t* xt = xb + t0 * xs;
    float* yt = y + t0 * ys;
    for (int64_t c = 0; c < n_chunks; ++c)
      fill_token_side(sides[c], xt, xs, nt, c * kChunk, std::min(nb, (c + 1) * kChunk), W::kBias);
    // Each group's records are one sequential stream: read it start to end. (The sums
    // come out the same in any loop order: every output adds its blocks in order.)
    // One token: up to 4 groups at a time (the rest of a call too: one stream alone
    // reads far below the bandwidth); two tokens: 2 (what the registers hold).
    const int64_t step = nt == 1 ? 4 : nt == 2 ? 2 : 1;
    for (int64_t r0 = 0; r0 < n_rows;) {
      const int64_t groups_left = (n_rows - r0 + kLanes - 1) / kLanes;
      const int64_t g_count = nt == 1 ? std::min(step, groups_left) : n_rows - r0 >= step * kLanes ? step : 1;
      const int64_t rows_here = std::min(n_rows - r0, g_count * kLanes);
      const int valid = static_cast<int>(rows_here - (g_count - 1) * kLanes);
      PackedGroup<W> groups[4];
      for (int64_t g = 0; g < g_count; ++g) groups[g] = {wb + (r0 / kLanes + g) * group_bytes};
      for (int64_t c = 0; c < n_chunks; ++c)
        packed_tile_any<W>(nt, static_cast<int>(g_count), groups, valid, c * kChunk, std::min(nb, (c + 1) * kChunk),
                           sides[c], yt + r0, ys);
      r0 += rows_here;
    }
  }
}

// One row, one token, untransposed: 8 partial sums per block, scaled, reduced at the end.
template <class W>
void vec_dot(int64_t n, const void* w, const void* x, float* out) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xb = static_cast<const uint8_t*>(x);
  const __m256i bias = _mm256_set1_epi8(static_cast<char>(W::kBias));
  __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  for (int64_t b = 0; b < n / 32; ++b) {
    const uint8_t* wblk = wb + b * W::kBytes;
    const uint8_t* xblk = xb + b * kQ8Bytes;
    const __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xblk + 2));
    const __m256i neg = _mm256_dpbusd_epi32(_mm256_setzero_si256(), bias, xq);
    const __m256i s = _mm256_dpbusd_epi32(_mm256_sub_epi32(_mm256_setzero_si256(), neg), W::load(wblk), xq);
    acc[b & 1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(W::scale(wblk) * load_half(xblk)), acc[b & 1]);
  }
  const __m256 v = _mm256_add_ps(acc[0], acc[1]);
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  *out = _mm_cvtss_f32(s);
}

// round() of the scalar reference: to nearest, ties away from zero. v - trunc(v) is exact.
__m512 round_half_away(__m512 v) {
  const __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __mmask16 up = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_sub_ps(v, t)), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
  const __m512 away = _mm512_or_ps(_mm512_and_ps(v, _mm512_set1_ps(-0.0f)), _mm512_set1_ps(1.0f));
  return _mm512_mask_add_ps(t, up, t, away);
}

// Bit-identical to quantize_row_q8_0.
void quantize_q8_0(const float* src, void* dst, int64_t n) {
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t b = 0; b < n / 32; ++b, src += 32, out += kQ8Bytes) {
    const __m512 v0 = _mm512_loadu_ps(src), v1 = _mm512_loadu_ps(src + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const uint16_t dh = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
    std::memcpy(out, &dh, sizeof(dh));
    const __m512 vid = _mm512_set1_ps(id);
    const __m128i q0 = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(round_half_away(_mm512_mul_ps(v0, vid))));
    const __m128i q1 = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(round_half_away(_mm512_mul_ps(v1, vid))));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 2), q0);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 18), q1);
  }
}

}  // namespace

void gemm_packed_q8_0_vnni(int64_t n, const void* w, int64_t n_rows, const void* x, size_t xs, int64_t n_tok,
                           float* y, size_t ys) {
  gemm_packed<Q8Weights>(n, w, n_rows, x, xs, n_tok, y, ys);
}
void gemm_packed_q4_0_vnni(int64_t n, const void* w, int64_t n_rows, const void* x, size_t xs, int64_t n_tok,
                           float* y, size_t ys) {
  gemm_packed<Q4Weights>(n, w, n_rows, x, xs, n_tok, y, ys);
}

void install_avx512_vnni(TypeKernels* slots) {
  TypeKernels& q8 = slots[static_cast<size_t>(GgmlType::kQ8_0)];
  q8.vec_dot = &vec_dot<Q8Weights>;
  q8.gemm = &gemm<Q8Weights>;
  q8.gemm_packed = &gemm_packed<Q8Weights>;
  q8.from_float = &quantize_q8_0;

  TypeKernels& q4 = slots[static_cast<size_t>(GgmlType::kQ4_0)];
  q4.vec_dot = &vec_dot<Q4Weights>;
  q4.gemm = &gemm<Q4Weights>;
  q4.gemm_packed = &gemm_packed<Q4Weights>;
  q4.from_float = &quantize_q8_0;

  // Q5_0 is packed into the Q8_0 layout (kernels/packed.h): the same product, exactly.
  TypeKernels& q5 = slots[static_cast<size_t>(GgmlType::kQ5_0)];
  q5.gemm_packed = &gemm_packed<Q8Weights>;
  q5.from_float = &quantize_q8_0;

  TypeKernels& iq4 = slots[static_cast<size_t>(GgmlType::kIQ4_NL)];
  iq4.vec_dot = &vec_dot<IQ4NLWeights>;
  iq4.gemm = &gemm<IQ4NLWeights>;
  iq4.gemm_packed = &gemm_packed<IQ4NLWeights>;
  iq4.from_float = &quantize_q8_0;

  TypeKernels& mxfp4 = slots[static_cast<size_t>(GgmlType::kMXFP4)];
  mxfp4.vec_dot = &vec_dot<MXFP4Weights>;
  mxfp4.gemm = &gemm<MXFP4Weights>;
  mxfp4.gemm_packed = &gemm_packed<MXFP4PackedWeights>;
  mxfp4.from_float = &quantize_q8_0;
}

}  // namespace mx::x86
#endif
