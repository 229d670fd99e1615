// AMX-INT8 prefill of packed Q8_0 (and Q5_0, in its layout) and Q4_0 weights against
// Q8_0 activations. Installed over the VNNI path only where CpuFeatures says AMX is
// usable (the CPU has it and Linux granted this process the tile state).
//
// A packed record (kernels/packed.h) is already the VNNI layout of an AMX B tile: 8 rows
// of 64 bytes, row k holding dword k of the 16 weight rows' block. Per block, TDPBSSD
// multiplies an A tile of 16 tokens' 32 activation bytes (read straight from the
// activation rows, tileloadd takes their stride) by that B tile, giving each (token, row)
// the block's exact integer dot: a 16 x 16 int32 tile whose row t is token t's 16 weight
// rows, the lanes of the VNNI path's accumulator. The weights are made signed first
// (Q8_0: the stored q + 128 flipped back; Q4_0: nibble - 8), so no bias correction is
// needed: the integer is the same as the VNNI path's start + biased dot, and the scales
// are then applied in its float order, acc = fma(float(dot), dw * dx, acc), block by
// block. Every token's result is therefore bit-identical to the VNNI path's, whichever
// path and whatever batch it goes through.
//
// The int32 tiles go through memory (tilestored) to the vector unit, which applies the
// scales; two C tiles alternate so the tile unit computes one block while the vector
// unit scales the other. Calls with few tokens stay on VNNI (the tiles would run mostly empty).
#if defined(__x86_64__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "kernels/x86/avx512_vnni_packed.h"
#include "kernels/x86/install.h"

namespace mx::x86 {
namespace {

constexpr size_t kQ8Bytes = 34;  // fp16 d + 32 int8
constexpr int kTok = 16;         // tokens per A tile (rows of A and C)
constexpr int kLanes = 16;       // weight rows per group (columns of C)
constexpr int kChunk = 32;       // blocks made signed at once: 16 KB of B tiles, in L1
// Fewer tokens than this go to VNNI (measured, 1024 x 4096 on Emerald Rapids: AMX Q4_0 is
// 0.94x VNNI at 16 tokens, 1.3x at 64; at 4-8 tokens 0.5x).
constexpr int64_t kMinTok = 16;

// Tiles: 0, 1 C (16 tokens x 16 rows, int32) of two consecutive blocks, with A (16 tokens
// x 32 bytes) in 4, 6 and B (8 dwords x 16 rows) in 5, 7. (2 and 3 are configured but unused.)
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {64, 64, 64, 64, 32, 64, 32, 64};  // A rows: 32 contiguous bytes
  uint8_t rows[16] = {kTok, kTok, kTok, kTok, kTok, 8, kTok, 8};
};

// Holds the tile configuration for its scope: every path out releases the tiles.
struct Tiles {
  Tiles() {
    static constexpr TileConfig kConfig{};
    _tile_loadconfig(&kConfig);
  }
  ~Tiles() { _tile_release(); }
  Tiles(const Tiles&) = delete;
  Tiles& operator=(const Tiles&) = delete;
};

// The compiler does not know tileloadd reads memory: stores it must see come before this.
inline void memory_barrier() { asm volatile("" ::: "memory"); }

// A chunk of one group's blocks as B tiles of signed quants, with the rows' scales.
struct SignedChunk {
  alignas(64) int8_t q[kChunk][8][64];
  __m512 d[kChunk];
};

// Packed Q8_0 records: the quants are q + 128; flipping the top bit gives q back.
struct Q8Records {
  static constexpr size_t kRecord = 32 + 8 * 64;
  static void make_signed(const uint8_t* q, int8_t out[8][64]) {
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
    for (int k = 0; k < 8; ++k)
      _mm512_store_si512(out[k], _mm512_xor_si512(_mm512_loadu_si512(q + 64 * k), flip));
  }
};

// Packed Q4_0 records: dword k's low nibbles are elements 4k..4k+3 (B row k), its high
// nibbles elements 16 + 4k.. (B row k + 4); each nibble is q + 8.
struct Q4Records {
  static constexpr size_t kRecord = 32 + 4 * 64;
  static void make_signed(const uint8_t* q, int8_t out[8][64]) {
    const __m512i mask = _mm512_set1_epi8(0x0f), eight = _mm512_set1_epi8(8);
    for (int k = 0; k < 4; ++k) {
      const __m512i raw = _mm512_loadu_si512(q + 64 * k);
      _mm512_store_si512(out[k], _mm512_sub_epi8(_mm512_and_si512(raw, mask), eight));
      _mm512_store_si512(out[k + 4], _mm512_sub_epi8(_mm512_and_si512(_mm512_srli_epi16(raw, 4), mask), eight));
    }
  }
};

template <class R>
void make_chunk(const uint8_t* group, int64_t c0, int64_t c1, SignedChunk& s) {
  for (int64_t b = c0; b < c1; ++b) {
    const uint8_t* rec = group + b * R::kRecord;
    s.d[b - c0] = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(rec)));
    R::make_signed(rec + 32, s.q[b - c0]);
  }
  memory_barrier();
}

// acc[t] += float(C row t) * (dw * dx[t]) for tokens lo <= t < hi: the VNNI path's FMA.
template <bool kAll>
[[gnu::always_inline]] inline void scale_block(const int32_t* c, __m512 dw, const float* dx, int lo, int hi,
                                               __m512 acc[kTok]) {
#pragma GCC unroll 16
  for (int t = 0; t < kTok; ++t) {
    if (!kAll && (t < lo || t >= hi)) continue;
    const __m512 dot = _mm512_cvtepi32_ps(_mm512_load_si512(c + kLanes * t));
    acc[t] = _mm512_fmadd_ps(dot, _mm512_mul_ps(dw, _mm512_set1_ps(dx[t])), acc[t]);
  }
}

// The int32 dots of one block into C tile kC: 16 tokens' activation quants at a (xs
// bytes apart) by the 16 rows' signed quants bq.
template <int kC>
[[gnu::always_inline]] inline void block_product(const int8_t* a, const int8_t (*bq)[64]) {
  static_assert(kC == 0 || kC == 1);
  // GCC's tile intrinsics are macros that paste the tile number into the assembly text, so
  // each tile must be a literal: C tile 0 uses A 4, B 5; C tile 1 uses A 6, B 7.
  if constexpr (kC == 0) {
    _tile_loadd(4, a, 32);
    _tile_loadd(5, bq, 64);
    _tile_zero(0);
    _tile_dpbssd(0, 4, 5);
  } else {
    _tile_loadd(6, a, 32);
    _tile_loadd(7, bq, 64);
    _tile_zero(1);
    _tile_dpbssd(1, 6, 7);
  }
}

// One group of 16 rows (`valid` real) x one tile of 16 tokens over blocks [c0, c1): the
// tiles' activation quants aq[b] (16 tokens x 32 bytes) and scales dx[b][t]; tokens from
// hi on are padding. y[t * ys + i] (+)= the dot of row i, token t: chunks after the
// first continue the sums.
template <bool kAll>
void token_tile(const SignedChunk& s, int64_t c0, int64_t c1, const int8_t (*aq)[kTok][32],
                const float (*dx)[kTok], int hi, int valid, float* y, size_t ys) {
  const auto mask = static_cast<__mmask16>(valid == kLanes ? 0xffff : (1u << valid) - 1);
  __m512 acc[kTok];
#pragma GCC unroll 16
  for (int t = 0; t < kTok; ++t)
    acc[t] = c0 == 0 || (!kAll && t >= hi) ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mask, y + t * ys);
  // Two blocks at a time in two C tiles: the second's product runs while the first's
  // result is stored and scaled. (Four blocks' products before their stores, or block
  // b + 1's product before block b's scales, measured slower: 1.3-1.5 ms against 0.84.)
  alignas(64) int32_t c[2][kTok * kLanes];
  int64_t b = c0;
  for (; b + 2 <= c1; b += 2) {
    block_product<0>(aq[b][0], s.q[b - c0]);
    block_product<1>(aq[b + 1][0], s.q[b + 1 - c0]);
    _tile_stored(0, c[0], 64);
    scale_block<kAll>(c[0], s.d[b - c0], dx[b], 0, hi, acc);
    _tile_stored(1, c[1], 64);
    scale_block<kAll>(c[1], s.d[b + 1 - c0], dx[b + 1], 0, hi, acc);
  }
  if (b < c1) {
    block_product<0>(aq[b][0], s.q[b - c0]);
    _tile_stored(0, c[0], 64);
    scale_block<kAll>(c[0], s.d[b - c0], dx[b], 0, hi, acc);
  }
#pragma GCC unroll 16
  for (int t = 0; t < kTok; ++t)
    if (kAll || t < hi) _mm512_mask_storeu_ps(y + t * ys, mask, acc[t]);
}

// The activations as A tiles: per tile of 16 tokens and block, the tokens' 32 quants side
// by side (aligned, so a tile load reads 8 whole lines), and their scales as floats.
// Tokens past the last are zeros.
struct TokenTiles {
  int64_t nb;
  std::unique_ptr<int8_t[]> q_mem;  // [tile][block][token][32], 64-byte aligned inside
  int8_t (*q)[kTok][32];
  std::unique_ptr<float[][kTok]> d;  // [tile * nb + block][token]

  TokenTiles(const uint8_t* x, size_t xs, int64_t n_tok, int64_t nb_) : nb(nb_) {
    const int64_t n_tiles = (n_tok + kTok - 1) / kTok;
    const size_t blocks = static_cast<size_t>(n_tiles * nb);
    q_mem.reset(new int8_t[blocks * kTok * 32 + 64]);
    q = reinterpret_cast<int8_t(*)[kTok][32]>((reinterpret_cast<uintptr_t>(q_mem.get()) + 63) & ~uintptr_t{63});
    d.reset(new float[blocks][kTok]);
    for (int64_t tile = 0; tile < n_tiles; ++tile)
      for (int64_t b = 0; b < nb; ++b)
        for (int t = 0; t < kTok; ++t) {
          const int64_t tok = tile * kTok + t;
          int8_t* dst = q[tile * nb + b][t];
          if (tok < n_tok) {
            const uint8_t* blk = x + tok * xs + b * kQ8Bytes;
            std::memcpy(dst, blk + 2, 32);
            uint16_t h;
            std::memcpy(&h, blk, sizeof(h));
            d[tile * nb + b][t] = _cvtsh_ss(h);
          } else {
            std::memset(dst, 0, 32);
            d[tile * nb + b][t] = 0.0f;
          }
        }
    memory_barrier();
  }
};

template <class R>
void gemm_packed_amx(int64_t n, const void* w, int64_t n_rows, const void* x, size_t xs, int64_t n_tok, float* y,
                     size_t ys, decltype(&gemm_packed_q8_0_vnni) few_tokens) {
  const int64_t nb = n / 32;
  if (n_tok < kMinTok || nb == 0) return few_tokens(n, w, n_rows, x, xs, n_tok, y, ys);
  const auto* wb = static_cast<const uint8_t*>(w);
  const TokenTiles tok(static_cast<const uint8_t*>(x), xs, n_tok, nb);
  const size_t group_bytes = static_cast<size_t>(nb) * R::kRecord;
  alignas(64) SignedChunk chunk;
  const Tiles tiles;
  for (int64_t r0 = 0; r0 < n_rows; r0 += kLanes) {
    const int valid = static_cast<int>(std::min<int64_t>(kLanes, n_rows - r0));
    const uint8_t* group = wb + (r0 / kLanes) * group_bytes;
    for (int64_t c0 = 0; c0 < nb; c0 += kChunk) {
      const int64_t c1 = std::min(nb, c0 + kChunk);
      make_chunk<R>(group, c0, c1, chunk);
      for (int64_t t0 = 0; t0 < n_tok; t0 += kTok) {
        const int64_t at = t0 / kTok * nb;
        float* yt = y + t0 * ys + r0;
        if (n_tok - t0 >= kTok) token_tile<true>(chunk, c0, c1, tok.q + at, tok.d.get() + at, kTok, valid, yt, ys);
        else token_tile<false>(chunk, c0, c1, tok.q + at, tok.d.get() + at, static_cast<int>(n_tok - t0), valid, yt, ys);
      }
    }
  }
}

void gemm_packed_q8_0(int64_t n, const void* w, int64_t n_rows, const void* x, size_t xs, int64_t n_tok, float* y,
                      size_t ys) {
  gemm_packed_amx<Q8Records>(n, w, n_rows, x, xs, n_tok, y, ys, &gemm_packed_q8_0_vnni);
}
void gemm_packed_q4_0(int64_t n, const void* w, int64_t n_rows, const void* x, size_t xs, int64_t n_tok, float* y,
                      size_t ys) {
  gemm_packed_amx<Q4Records>(n, w, n_rows, x, xs, n_tok, y, ys, &gemm_packed_q4_0_vnni);
}

}  // namespace

void install_avx512_amx(TypeKernels* slots) {
  slots[static_cast<size_t>(GgmlType::kQ8_0)].gemm_packed = &gemm_packed_q8_0;
  slots[static_cast<size_t>(GgmlType::kQ5_0)].gemm_packed = &gemm_packed_q8_0;  // packed as Q8_0
  slots[static_cast<size_t>(GgmlType::kQ4_0)].gemm_packed = &gemm_packed_q4_0;
}

}  // namespace mx::x86
#endif
