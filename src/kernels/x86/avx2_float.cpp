// AVX2 + FMA + F16C paths for the float formats (F32, F16, BF16): dot products, a
// register-tiled gemm, and the f32 -> F16 / BF16 activation conversions.
// Compiled with -mavx2 -mfma -mf16c; installed only when the CPU has them.
#if defined(__x86_64__)
#include <immintrin.h>

#include <cstring>

#include "kernels/x86/install.h"
#include "kernels/x86/prefetch.h"
#include "kernels/x86/tiling.h"

namespace mx::x86 {
namespace {

// How each format widens 8 elements to f32. The tail of a row (< 8 elements) is copied
// into a zero-padded buffer so the same load serves it: zeros add nothing to a dot.
struct F32 {
  using Elem = float;
  static __m256 load(const Elem* p) { return _mm256_loadu_ps(p); }
};
struct F16 {
  using Elem = uint16_t;
  static __m256 load(const Elem* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
};
struct BF16 {  // bf16 is the top half of an f32: widening is a shift
  using Elem = uint16_t;
  static __m256 load(const Elem* p) {
    const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
  }
};

template <class F>
__m256 load_tail(const typename F::Elem* p, int64_t count) {
  typename F::Elem buf[8] = {};
  std::memcpy(buf, p, static_cast<size_t>(count) * sizeof(buf[0]));
  return F::load(buf);
}

float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

template <class F>
void vec_dot(int64_t n, const void* w, const void* x, float* out) {
  const auto* a = static_cast<const typename F::Elem*>(w);
  const auto* b = static_cast<const typename F::Elem*>(x);
  // Four accumulators hide the FMA latency.
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int u = 0; u < 4; ++u)
      acc[u] = _mm256_fmadd_ps(F::load(a + i + 8 * u), F::load(b + i + 8 * u), acc[u]);
  for (; i + 8 <= n; i += 8) acc[0] = _mm256_fmadd_ps(F::load(a + i), F::load(b + i), acc[0]);
  if (i < n) acc[1] = _mm256_fmadd_ps(load_tail<F>(a + i, n - i), load_tail<F>(b + i, n - i), acc[1]);
  *out = hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
}

// R weight rows x T tokens: each loaded vector of weights serves T tokens and each
// vector of activations R rows; R * T accumulators (<= 12 of the 16 ymm registers).
template <class F>
struct FloatTile {
  template <int R, int T>
  struct Of {
    static void run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs,
                    float* y, size_t ys) {
      using E = typename F::Elem;
      __m256 acc[R][T];
      for (int r = 0; r < R; ++r)
        for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
      auto step = [&](auto load_w, auto load_x) {
        __m256 wv[R];
        for (int r = 0; r < R; ++r) wv[r] = load_w(reinterpret_cast<const E*>(w + r * ws));
        for (int t = 0; t < T; ++t) {
          const __m256 xv = load_x(reinterpret_cast<const E*>(x + t * xs));
          for (int r = 0; r < R; ++r) acc[r][t] = _mm256_fmadd_ps(wv[r], xv, acc[r][t]);
        }
      };
      int64_t i = 0;
      for (; i + 8 <= n; i += 8) {
        // One token reads weights only: each row asked for ~1 KB ahead, once per line.
        if constexpr (T == 1)
          if (i % (64 / sizeof(E)) == 0)
            for (int r = 0; r < R; ++r) prefetch_ahead<64>(w + r * ws + i * sizeof(E), 1024);
        auto ld = [i](const E* p) { return F::load(p + i); };
        step(ld, ld);
      }
      if (i < n) {
        auto ld = [i, n](const E* p) { return load_tail<F>(p + i, n - i); };
        step(ld, ld);
      }
      for (int t = 0; t < T; ++t)
        for (int r = 0; r < R; ++r) y[t * ys + r] = hsum(acc[r][t]);
    }
  };
};

template <class F>
constexpr auto kFloatTiles = make_tile_table<FloatTile<F>::template Of, 3, 4>();

// One token: 8 rows at a time, each prefetched ahead (the same arithmetic per row and token
// as above, so results do not depend on the token count). With MOXING_ISA=avx2 on a Xeon,
// llama-3.2-1b F16 generated 9.3-9.9 tokens/s at two threads with 3-row tiles and no
// prefetch, 12.0-12.2 with the prefetch, 13.1-13.3 with 8 rows (5.2 -> 6.6-6.8 at one).
template <class F>
constexpr auto kDecodeTiles = make_tile_table<FloatTile<F>::template Of, 8, 1>();

template <class F>
void gemm(int64_t n, const void* w, size_t ws, int64_t nr, const void* x, size_t xs,
          int64_t nt, float* y, size_t ys) {
  if (nt == 1) return run_tiles(kDecodeTiles<F>, n, w, ws, nr, x, xs, nt, y, ys);
  run_tiles(kFloatTiles<F>, n, w, ws, nr, x, xs, nt, y, ys);
}

void f32_to_f16(const float* src, void* dst, int64_t n) {
  auto* d = static_cast<uint16_t*>(dst);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; ++i) d[i] = _cvtss_sh(src[i], _MM_FROUND_TO_NEAREST_INT);
}

void f16_to_f32(const void* src, float* dst, int64_t n) {
  const auto* s = static_cast<const uint16_t*>(src);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, F16::load(s + i));
  for (; i < n; ++i) dst[i] = _cvtsh_ss(s[i]);
}

// Round to nearest even on the dropped 16 bits; NaN keeps its top bits and is made quiet.
__m256i f32_to_bf16_8(__m256 v) {
  const __m256i u = _mm256_castps_si256(v);
  const __m256i abs = _mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff));
  const __m256i is_nan = _mm256_cmpgt_epi32(abs, _mm256_set1_epi32(0x7f800000));
  const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  const __m256i rounded =
      _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(odd, _mm256_set1_epi32(0x7fff))), 16);
  const __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40));
  return _mm256_blendv_epi8(rounded, quiet, is_nan);  // 32-bit lanes, each < 0x10000
}

void f32_to_bf16(const float* src, void* dst, int64_t n) {
  auto* d = static_cast<uint16_t*>(dst);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i h = f32_to_bf16_8(_mm256_loadu_ps(src + i));
    // packus works within 128-bit halves: pack, then gather the two useful quarters.
    const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(h, h), 0x08);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d + i), _mm256_castsi256_si128(packed));
  }
  if (i < n) {
    float buf[8] = {};
    std::memcpy(buf, src + i, static_cast<size_t>(n - i) * sizeof(float));
    const __m256i h = f32_to_bf16_8(_mm256_loadu_ps(buf));
    alignas(32) uint32_t lanes[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), h);
    for (int64_t j = 0; i + j < n; ++j) d[i + j] = static_cast<uint16_t>(lanes[j]);
  }
}

void bf16_to_f32(const void* src, float* dst, int64_t n) {
  const auto* s = static_cast<const uint16_t*>(src);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, BF16::load(s + i));
  for (; i < n; ++i) {
    const uint32_t bits = static_cast<uint32_t>(s[i]) << 16;
    std::memcpy(dst + i, &bits, sizeof(bits));
  }
}

}  // namespace

void install_avx2_float(TypeKernels* slots) {
  TypeKernels& f32 = slots[static_cast<size_t>(GgmlType::kF32)];
  f32.vec_dot = &vec_dot<F32>;
  f32.gemm = &gemm<F32>;

  TypeKernels& f16 = slots[static_cast<size_t>(GgmlType::kF16)];
  f16.vec_dot = &vec_dot<F16>;
  f16.gemm = &gemm<F16>;
  f16.from_float = &f32_to_f16;
  f16.to_float = &f16_to_f32;

  TypeKernels& bf16 = slots[static_cast<size_t>(GgmlType::kBF16)];
  bf16.vec_dot = &vec_dot<BF16>;
  bf16.gemm = &gemm<BF16>;
  bf16.from_float = &f32_to_bf16;
  bf16.to_float = &bf16_to_f32;
}

}  // namespace mx::x86
#endif
