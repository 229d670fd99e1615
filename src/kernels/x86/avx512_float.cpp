// AVX-512 paths for the float formats (F32, F16, BF16): dot products, a register-tiled
// gemm with 16-wide FMAs, and the f32 -> F16 / BF16 conversions. Row tails use masked
// loads. install_avx512_float needs only F/BW/VL/DQ (BF16 is widened by a shift);
// install_avx512_bf16 adds vdpbf16ps for CPUs with AVX512_BF16.
#if defined(__x86_64__)
// GCC 12's AVX-512 headers build results from _mm512_undefined_*() and then warn that
// those are uninitialized (GCC bug 105593, fixed in 13): false positives, silenced here.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>

#include "kernels/x86/install.h"
#include "kernels/x86/prefetch.h"
#include "kernels/x86/tiling.h"

namespace mx::x86 {
namespace {

__mmask16 tail_mask16(int64_t count) { return static_cast<__mmask16>((1u << count) - 1); }

// Each format widens 16 elements to f32; load_tail fills lanes >= count with zeros.
struct F32 {
  using Elem = float;
  static __m512 load(const Elem* p) { return _mm512_loadu_ps(p); }
  static __m512 load_tail(const Elem* p, int64_t count) {
    return _mm512_maskz_loadu_ps(tail_mask16(count), p);
  }
};
struct F16 {
  using Elem = uint16_t;
  static __m512 load(const Elem* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static __m512 load_tail(const Elem* p, int64_t count) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(tail_mask16(count), p));
  }
};
struct BF16 {
  using Elem = uint16_t;
  static __m512 widen(__m256i h) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
  static __m512 load(const Elem* p) {
    return widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static __m512 load_tail(const Elem* p, int64_t count) {
    return widen(_mm256_maskz_loadu_epi16(tail_mask16(count), p));
  }
};

template <class F>
void vec_dot(int64_t n, const void* w, const void* x, float* out) {
  const auto* a = static_cast<const typename F::Elem*>(w);
  const auto* b = static_cast<const typename F::Elem*>(x);
  __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                   _mm512_setzero_ps()};
  int64_t i = 0;
  for (; i + 64 <= n; i += 64)
    for (int u = 0; u < 4; ++u)
      acc[u] = _mm512_fmadd_ps(F::load(a + i + 16 * u), F::load(b + i + 16 * u), acc[u]);
  for (; i + 16 <= n; i += 16) acc[0] = _mm512_fmadd_ps(F::load(a + i), F::load(b + i), acc[0]);
  if (i < n)
    acc[1] = _mm512_fmadd_ps(F::load_tail(a + i, n - i), F::load_tail(b + i, n - i), acc[1]);
  *out = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
}

// R weight rows x T tokens of 16-wide f32 accumulators, reduced across lanes once at
// the end of the row.
template <class F>
struct FloatTile {
  template <int R, int T>
  struct Of {
    static void run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs,
                    float* y, size_t ys) {
      using E = typename F::Elem;
      __m512 acc[R][T];
      for (int r = 0; r < R; ++r)
        for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
      auto row = [](const uint8_t* base, size_t stride, int i) {
        return reinterpret_cast<const E*>(base + i * stride);
      };
      int64_t i = 0;
      for (; i + 16 <= n; i += 16) {
        // One token reads weights only, R rows as R streams: each is asked for about 1 KB
        // ahead, once per cache line (the hardware prefetcher alone left F16 decode at ~60%
        // of the read bandwidth).
        if constexpr (T == 1)
          if (i % (64 / sizeof(E)) == 0)
            for (int r = 0; r < R; ++r) prefetch_ahead<64>(reinterpret_cast<const uint8_t*>(row(w, ws, r) + i), 1024);
        __m512 wv[R];
        for (int r = 0; r < R; ++r) wv[r] = F::load(row(w, ws, r) + i);
        for (int t = 0; t < T; ++t) {
          const __m512 xv = F::load(row(x, xs, t) + i);
          for (int r = 0; r < R; ++r) acc[r][t] = _mm512_fmadd_ps(wv[r], xv, acc[r][t]);
        }
      }
      if (i < n) {
        __m512 wv[R];
        for (int r = 0; r < R; ++r) wv[r] = F::load_tail(row(w, ws, r) + i, n - i);
        for (int t = 0; t < T; ++t) {
          const __m512 xv = F::load_tail(row(x, xs, t) + i, n - i);
          for (int r = 0; r < R; ++r) acc[r][t] = _mm512_fmadd_ps(wv[r], xv, acc[r][t]);
        }
      }
      for (int t = 0; t < T; ++t)
        for (int r = 0; r < R; ++r) y[t * ys + r] = _mm512_reduce_add_ps(acc[r][t]);
    }
  };
};

template <class F>
constexpr auto kFloatTiles = make_tile_table<FloatTile<F>::template Of, 4, 6>();
// One token reads weights only: 16 rows at a time are 16 streams for the memory system to
// fetch in parallel (4 left decode ~20% short of the bandwidth; 16 gave F16 llama-3.2-1b
// 12.7 against 12.3 tokens/s with 8 at two threads). The same arithmetic per (row, token)
// as the tiles above, so results do not depend on the token count.
template <class F>
constexpr auto kDecodeTiles = make_tile_table<FloatTile<F>::template Of, 16, 1>();

template <class F>
void gemm(int64_t n, const void* w, size_t ws, int64_t nr, const void* x, size_t xs,
          int64_t nt, float* y, size_t ys) {
  if (nt == 1) return run_tiles(kDecodeTiles<F>, n, w, ws, nr, x, xs, nt, y, ys);
  run_tiles(kFloatTiles<F>, n, w, ws, nr, x, xs, nt, y, ys);
}

// vdpbf16ps: 32 bf16 pairs per instruction, products summed into 16 f32 lanes. The
// instruction treats denormal inputs as zero; activations and weights that small
// contribute nothing measurable to a dot.
struct Bf16DotTile {
  template <int R, int T>
  struct Of {
    static void run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs,
                    float* y, size_t ys) {
      __m512 acc[R][T];
      for (int r = 0; r < R; ++r)
        for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
      auto step = [&](auto load) {
        __m512bh wv[R];
        for (int r = 0; r < R; ++r) wv[r] = (__m512bh)load(w + r * ws);
        for (int t = 0; t < T; ++t) {
          const __m512bh xv = (__m512bh)load(x + t * xs);
          for (int r = 0; r < R; ++r) acc[r][t] = _mm512_dpbf16_ps(acc[r][t], wv[r], xv);
        }
      };
      int64_t i = 0;
      for (; i + 32 <= n; i += 32) {
        if constexpr (T == 1)  // one token: each row a stream, asked for ~1 KB ahead (as F16's)
          for (int r = 0; r < R; ++r) prefetch_ahead<64>(w + r * ws + 2 * i, 1024);
        step([i](const uint8_t* p) { return _mm512_loadu_si512(p + 2 * i); });
      }
      if (i < n) {
        const __mmask32 m = static_cast<__mmask32>((1ull << (n - i)) - 1);
        step([i, m](const uint8_t* p) { return _mm512_maskz_loadu_epi16(m, p + 2 * i); });
      }
      for (int t = 0; t < T; ++t)
        for (int r = 0; r < R; ++r) y[t * ys + r] = _mm512_reduce_add_ps(acc[r][t]);
    }
  };
};

constexpr auto kBf16DotTiles = make_tile_table<Bf16DotTile::Of, 4, 6>();
// One token: more rows, more streams (as kDecodeTiles); the same arithmetic per row.
constexpr auto kBf16DecodeTiles = make_tile_table<Bf16DotTile::Of, 12, 1>();

void gemm_bf16_dp(int64_t n, const void* w, size_t ws, int64_t nr, const void* x, size_t xs,
                  int64_t nt, float* y, size_t ys) {
  if (nt == 1) return run_tiles(kBf16DecodeTiles, n, w, ws, nr, x, xs, nt, y, ys);
  run_tiles(kBf16DotTiles, n, w, ws, nr, x, xs, nt, y, ys);
}

void vec_dot_bf16_dp(int64_t n, const void* w, const void* x, float* out) {
  Bf16DotTile::Of<1, 1>::run(n, static_cast<const uint8_t*>(w), 0,
                             static_cast<const uint8_t*>(x), 0, out, 0);
}

void f32_to_f16(const float* src, void* dst, int64_t n) {
  auto* d = static_cast<uint16_t*>(dst);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + i),
                        _mm512_cvtps_ph(_mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
  if (i < n) {
    const __mmask16 m = tail_mask16(n - i);
    _mm256_mask_storeu_epi16(d + i, m, _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, src + i), _MM_FROUND_TO_NEAREST_INT));
  }
}

void f16_to_f32(const void* src, float* dst, int64_t n) {
  const auto* s = static_cast<const uint16_t*>(src);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, F16::load(s + i));
  if (i < n) _mm512_mask_storeu_ps(dst + i, tail_mask16(n - i), F16::load_tail(s + i, n - i));
}

// Same rounding as the scalar fp32_to_bf16 (vcvtneps2bf16 would flush subnormals).
__m256i f32_to_bf16_16(__m512 v) {
  const __m512i u = _mm512_castps_si512(v);
  const __m512i abs = _mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff));
  const __mmask16 is_nan = _mm512_cmpgt_epi32_mask(abs, _mm512_set1_epi32(0x7f800000));
  const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  const __m512i rounded =
      _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(odd, _mm512_set1_epi32(0x7fff))), 16);
  const __m512i quiet = _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40));
  return _mm512_cvtepi32_epi16(_mm512_mask_blend_epi32(is_nan, rounded, quiet));
}

void f32_to_bf16(const float* src, void* dst, int64_t n) {
  auto* d = static_cast<uint16_t*>(dst);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + i), f32_to_bf16_16(_mm512_loadu_ps(src + i)));
  if (i < n) {
    const __mmask16 m = tail_mask16(n - i);
    _mm256_mask_storeu_epi16(d + i, m, f32_to_bf16_16(_mm512_maskz_loadu_ps(m, src + i)));
  }
}

void bf16_to_f32(const void* src, float* dst, int64_t n) {
  const auto* s = static_cast<const uint16_t*>(src);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, BF16::load(s + i));
  if (i < n) _mm512_mask_storeu_ps(dst + i, tail_mask16(n - i), BF16::load_tail(s + i, n - i));
}

// ---- Packed F16 (kernels/packed.h): 16 rows in the lanes of a register, element k of a
// record at bytes 32k. Each (row, token) sums its records in order, each record's products
// in order, whatever the tiling, so a token's result does not depend on how many share the call.

constexpr int64_t kF16Record = 32;                      // elements per record
constexpr size_t kF16RecordBytes = 16 * kF16Record * 2;  // 1 KB
constexpr int64_t kF16Chunk = 2048;                      // activation elements widened at a time

// One group of 16 rows (`valid` real) x T tokens over elements [e0, e1) (multiples of 32);
// xf: T rows of kF16Chunk floats holding elements [e0, e0 + kF16Chunk). Sums continue
// those left in y after e0 > 0. One token reads one group at a time, a single sequential
// stream: 4 groups side by side (4 streams) read F16 at 87% of the bandwidth of one thread
// and 84% of two, one group at 96% and 93% (llama-3.2-1b, Xeon, 2026-12-07).
template <int T>
void f16_packed_tile(const uint8_t* group, int64_t e0, int64_t e1, const float* xf, int valid, float* y, size_t ys) {
  const auto mask = static_cast<__mmask16>(valid == 16 ? 0xffff : (1u << valid) - 1);
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = e0 == 0 ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mask, y + t * ys);
  for (int64_t b = e0 / kF16Record; b < e1 / kF16Record; ++b) {
    const float* xb = xf + (b * kF16Record - e0);
    const uint8_t* rec = group + b * kF16RecordBytes;
    // One token: asked for ~2 KB ahead (two records).
    if constexpr (T == 1) prefetch_ahead<kF16RecordBytes>(rec, 2 * kF16RecordBytes);
    // A record's 32 products are summed on their own, then added to the row's sum: a
    // chain of 32 and one of n / 32 rounding steps instead of one of n.
    __m512 part[T];
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) part[t] = _mm512_setzero_ps();
#pragma GCC unroll 8
    for (int k = 0; k < kF16Record; ++k) {
      const __m512 w = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(rec + 32 * k)));
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) part[t] = _mm512_fmadd_ps(w, _mm512_set1_ps(xb[t * kF16Chunk + k]), part[t]);
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) acc[t] = _mm512_add_ps(acc[t], part[t]);
  }
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * ys, mask, acc[t]);
}

// Every group in order; more than one token: the weights widened once for all of them.
template <int T>
void f16_token_tile(const uint8_t* w, size_t group_bytes, int64_t n_rows, int64_t e0, int64_t e1, const float* xf,
                    float* y, size_t ys) {
  for (int64_t r0 = 0; r0 < n_rows; r0 += 16) {
    const int valid = static_cast<int>(std::min<int64_t>(16, n_rows - r0));
    f16_packed_tile<T>(w + (r0 / 16) * group_bytes, e0, e1, xf, valid, y + r0, ys);
  }
}

void gemm_packed_f16(int64_t n, const void* w, int64_t n_rows, const void* x, size_t xs, int64_t n_tok, float* y,
                     size_t ys) {
  constexpr int kMaxT = 8;
  const auto* wb = static_cast<const uint8_t*>(w);
  const size_t group_bytes = static_cast<size_t>(n / kF16Record) * kF16RecordBytes;
  alignas(64) float xf[kMaxT * kF16Chunk];  // 64 KB: the activations widened once per chunk
  for (int64_t t0 = 0; t0 < n_tok; t0 += kMaxT) {
    const int nt = static_cast<int>(std::min<int64_t>(kMaxT, n_tok - t0));
    for (int64_t e0 = 0; e0 < n; e0 += kF16Chunk) {
      const int64_t e1 = std::min(n, e0 + kF16Chunk);
      for (int t = 0; t < nt; ++t)
        f16_to_f32(static_cast<const uint8_t*>(x) + (t0 + t) * xs + 2 * e0, xf + t * kF16Chunk, e1 - e0);
      float* yt = y + t0 * ys;
      switch (nt) {
        case 1: f16_token_tile<1>(wb, group_bytes, n_rows, e0, e1, xf, yt, ys); break;
        case 2: f16_token_tile<2>(wb, group_bytes, n_rows, e0, e1, xf, yt, ys); break;
        case 3: f16_token_tile<3>(wb, group_bytes, n_rows, e0, e1, xf, yt, ys); break;
        case 4: f16_token_tile<4>(wb, group_bytes, n_rows, e0, e1, xf, yt, ys); break;
        case 5: f16_token_tile<5>(wb, group_bytes, n_rows, e0, e1, xf, yt, ys); break;
        case 6: f16_token_tile<6>(wb, group_bytes, n_rows, e0, e1, xf, yt, ys); break;
        case 7: f16_token_tile<7>(wb, group_bytes, n_rows, e0, e1, xf, yt, ys); break;
        default: f16_token_tile<8>(wb, group_bytes, n_rows, e0, e1, xf, yt, ys); break;
      }
    }
  }
}

}  // namespace

void install_avx512_float(TypeKernels* slots) {
  TypeKernels& f32 = slots[static_cast<size_t>(GgmlType::kF32)];
  f32.vec_dot = &vec_dot<F32>;
  f32.gemm = &gemm<F32>;

  TypeKernels& f16 = slots[static_cast<size_t>(GgmlType::kF16)];
  f16.vec_dot = &vec_dot<F16>;
  f16.gemm = &gemm<F16>;
  f16.gemm_packed = &gemm_packed_f16;
  f16.from_float = &f32_to_f16;
  f16.to_float = &f16_to_f32;

  TypeKernels& bf16 = slots[static_cast<size_t>(GgmlType::kBF16)];
  bf16.vec_dot = &vec_dot<BF16>;
  bf16.gemm = &gemm<BF16>;
  bf16.from_float = &f32_to_bf16;
  bf16.to_float = &bf16_to_f32;
}

void install_avx512_bf16(TypeKernels* slots) {
  TypeKernels& bf16 = slots[static_cast<size_t>(GgmlType::kBF16)];
  bf16.vec_dot = &vec_dot_bf16_dp;
  bf16.gemm = &gemm_bf16_dp;
}

}  // namespace mx::x86
#endif
