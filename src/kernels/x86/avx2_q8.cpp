// AVX2 paths for the 8-bit family: Q8_0, Q4_0, IQ4_NL and MXFP4 weights against Q8_0
// activations, and the f32 -> Q8_0 activation quantizer. Without VNNI the int8 products
// go through maddubs (u8 x s8 -> pairs of int16): the sign of each weight is moved onto
// the activation so the unsigned side is |w| <= 128 and a pair never saturates
// (2 * 128 * 127 < 32767). That needs activations in [-127, 127], which every Q8_0 row
// this program quantizes satisfies.
#if defined(__x86_64__)
#include <immintrin.h>

#include <cstring>

#include "kernels/x86/install.h"
#include "kernels/x86/tiling.h"
#include "quant/blocks.h"

namespace mx::x86 {
namespace {

constexpr size_t kQ8Bytes = 34;  // fp16 d + 32 int8

float load_half(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, sizeof(h));
  return _cvtsh_ss(h);
}

// Weight formats, each widened to 32 signed bytes per block, with the block's scale.
struct HalfScaled {  // an fp16 d first, the quants from byte 2
  static constexpr size_t kQsAt = 2;
  static float scale(const uint8_t* blk) { return load_half(blk); }
};
struct E8M0Scaled {  // MXFP4: an E8M0 exponent first, the quants from byte 1
  static constexpr size_t kQsAt = 1;
  static float scale(const uint8_t* blk) { return kE8M0Half.v[blk[0]]; }
};

struct Q8W : HalfScaled {
  static constexpr size_t kBytes = 34;
  static __m256i load(const uint8_t* blk) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2));
  }
};

// Low nibbles are elements 0..15, high nibbles 16..31.
__m256i nibbles(const uint8_t* qs) {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i mask = _mm_set1_epi8(0x0f);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), mask), _mm_and_si128(raw, mask));
}

struct Q4W : HalfScaled {
  static constexpr size_t kBytes = 18;
  // Stored values are q + 8.
  static __m256i load(const uint8_t* blk) { return _mm256_sub_epi8(nibbles(blk + 2), _mm256_set1_epi8(8)); }
};

// IQ4_NL, MXFP4: Q4_0's nibbles index a grid of 16 int8 values; a byte shuffle gives the
// signed values (|value| <= 127, so maddubs pairs cannot saturate).
template <const int8_t* Grid, class Scaled, size_t Bytes>
struct Grid4W : Scaled {
  static constexpr size_t kBytes = Bytes;
  static __m256i load(const uint8_t* blk) {
    const __m128i grid = _mm_loadu_si128(reinterpret_cast<const __m128i*>(Grid));
    return _mm256_shuffle_epi8(_mm256_set_m128i(grid, grid), nibbles(blk + Scaled::kQsAt));
  }
};
using IQ4NLW = Grid4W<kIQ4NLValues, HalfScaled, sizeof(BlockIQ4_NL)>;
using MXFP4W = Grid4W<kMXFP4Values, E8M0Scaled, sizeof(BlockMXFP4)>;

float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// R weight rows x T tokens. Per block, each (row, token) pair makes 8 int32 partial sums
// (exact), converted to float and scaled by d_w * d_x into a float accumulator.
template <class W>
struct QTile {
  template <int R, int T>
  struct Of {
    static void run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs,
                    float* y, size_t ys) {
      const __m256i ones = _mm256_set1_epi16(1);
      __m256 acc[R][T];
      for (int r = 0; r < R; ++r)
        for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
      for (int64_t b = 0; b < n / 32; ++b) {
        __m256i wq[R], wabs[R];
        float dw[R];
        for (int r = 0; r < R; ++r) {
          const uint8_t* blk = w + r * ws + b * W::kBytes;
          wq[r] = W::load(blk);
          wabs[r] = _mm256_abs_epi8(wq[r]);
          dw[r] = W::scale(blk);
        }
        for (int t = 0; t < T; ++t) {
          const uint8_t* xb = x + t * xs + b * kQ8Bytes;
          const __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb + 2));
          const float dx = load_half(xb);
          for (int r = 0; r < R; ++r) {
            const __m256i pairs = _mm256_maddubs_epi16(wabs[r], _mm256_sign_epi8(xq, wq[r]));
            const __m256 sums = _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, ones));
            acc[r][t] = _mm256_fmadd_ps(sums, _mm256_set1_ps(dw[r] * dx), acc[r][t]);
          }
        }
      }
      for (int t = 0; t < T; ++t)
        for (int r = 0; r < R; ++r) y[t * ys + r] = hsum(acc[r][t]);
    }
  };
};

template <class W>
constexpr auto kQTiles = make_tile_table<QTile<W>::template Of, 2, 4>();

template <class W>
void gemm(int64_t n, const void* w, size_t ws, int64_t nr, const void* x, size_t xs, int64_t nt,
          float* y, size_t ys) {
  run_tiles(kQTiles<W>, n, w, ws, nr, x, xs, nt, y, ys);
}

template <class W>
void vec_dot(int64_t n, const void* w, const void* x, float* out) {
  QTile<W>::template Of<1, 1>::run(n, static_cast<const uint8_t*>(w), 0,
                                   static_cast<const uint8_t*>(x), 0, out, 0);
}

// round() of the scalar reference: to nearest, ties away from zero. v - trunc(v) is exact.
__m256 round_half_away(__m256 v) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 frac = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t));
  const __m256 away = _mm256_or_ps(_mm256_and_ps(v, sign), _mm256_set1_ps(1.0f));
  return _mm256_add_ps(t, _mm256_and_ps(_mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ), away));
}

// Bit-identical to quantize_row_q8_0: same amax, same d and 1/d, same rounding.
void quantize_q8_0(const float* src, void* dst, int64_t n) {
  auto* out = static_cast<uint8_t*>(dst);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int64_t b = 0; b < n / 32; ++b, src += 32, out += kQ8Bytes) {
    __m256 v[4];
    for (int i = 0; i < 4; ++i) v[i] = _mm256_loadu_ps(src + 8 * i);
    __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v[0]), _mm256_andnot_ps(sign, v[1])),
                             _mm256_max_ps(_mm256_andnot_ps(sign, v[2]), _mm256_andnot_ps(sign, v[3])));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float d = _mm_cvtss_f32(m4) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const uint16_t dh = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
    std::memcpy(out, &dh, sizeof(dh));
    __m256i q[4];
    for (int i = 0; i < 4; ++i)
      q[i] = _mm256_cvtps_epi32(round_half_away(_mm256_mul_ps(v[i], _mm256_set1_ps(id))));
    // The packs work per 128-bit half; a dword permute restores element order.
    const __m256i p16 = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    const __m256i ordered = _mm256_permutevar8x32_epi32(p16, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 2), ordered);
  }
}

}  // namespace

void install_avx2_q8(TypeKernels* slots) {
  TypeKernels& q8 = slots[static_cast<size_t>(GgmlType::kQ8_0)];
  q8.vec_dot = &vec_dot<Q8W>;
  q8.gemm = &gemm<Q8W>;
  q8.from_float = &quantize_q8_0;

  TypeKernels& q4 = slots[static_cast<size_t>(GgmlType::kQ4_0)];
  q4.vec_dot = &vec_dot<Q4W>;
  q4.gemm = &gemm<Q4W>;
  q4.from_float = &quantize_q8_0;  // Q4_0 weights dot Q8_0 activations

  TypeKernels& iq4 = slots[static_cast<size_t>(GgmlType::kIQ4_NL)];
  iq4.vec_dot = &vec_dot<IQ4NLW>;
  iq4.gemm = &gemm<IQ4NLW>;
  iq4.from_float = &quantize_q8_0;

  TypeKernels& mxfp4 = slots[static_cast<size_t>(GgmlType::kMXFP4)];
  mxfp4.vec_dot = &vec_dot<MXFP4W>;
  mxfp4.gemm = &gemm<MXFP4W>;
  mxfp4.from_float = &quantize_q8_0;
}

}  // namespace mx::x86
#endif
