// MXFP4: blocks of 32 4-bit floats (E2M1) sharing one power-of-two scale (E8M0), the
// format of gpt-oss's expert weights. Quantization is ggml's quantize_row_mxfp4_ref step
// for step, so the bytes match: the exponent comes from the block's largest magnitude
// alone (no search: a power-of-two scale leaves little to choose), then every element
// takes the nearest code.
#include <cmath>

#include "core/expected.h"
#include "quant/quant.h"
#include "quant/scale_search.h"

namespace mx {
namespace {

// e such that amax / 2^(e - 127) lies in [4, 8): the largest E2M1 magnitude, 6, then
// covers amax to within a rounding step. Computed in float through log2f, as ggml does,
// so an amax just below a power of two rounds the same way. ggml casts the float to
// uint8_t directly, which is undefined outside [0, 255]: amax below 2^-125 (clamped
// here to 0, the smallest scale) or infinite (254, the largest finite E8M0).
uint8_t shared_exponent(float amax) {
  if (!(amax > 0.0f)) return 0;
  const float e = std::floor(std::log2(amax)) - 2 + 127;
  return static_cast<uint8_t>(std::fmin(std::fmax(e, 0.0f), 254.0f));
}

// The first code whose value (kMXFP4Values[i] * d, exact) is nearest to v: ties keep the
// lower index, so +0 wins over -0 and, between two codes, the one listed first.
int nearest_code(float v, float d) {
  int best = 0;
  float best_err = std::fabs(kMXFP4Values[0] * d - v);
  for (int i = 1; i < 16; ++i) {
    const float err = std::fabs(kMXFP4Values[i] * d - v);
    if (err < best_err) {
      best = i;
      best_err = err;
    }
  }
  return best;
}

}  // namespace

void quantize_row_mxfp4(const float* src, BlockMXFP4* dst, int64_t n) {
  MX_CHECK(n % kQK_MXFP4 == 0);
  for (int64_t b = 0; b < n / kQK_MXFP4; ++b) {
    const float* x = src + b * kQK_MXFP4;
    const uint8_t e = shared_exponent(std::fabs(largest_magnitude(kQK_MXFP4, x)));
    const float d = kE8M0Half.v[e];
    dst[b].e = e;
    for (int j = 0; j < kQK_MXFP4 / 2; ++j)
      dst[b].qs[j] = static_cast<uint8_t>(nearest_code(x[j], d) | (nearest_code(x[j + kQK_MXFP4 / 2], d) << 4));
  }
}

void dequantize_row_mxfp4(const BlockMXFP4* src, float* dst, int64_t n) {
  MX_CHECK(n % kQK_MXFP4 == 0);
  for (int64_t b = 0; b < n / kQK_MXFP4; ++b) {
    const float d = kE8M0Half.v[src[b].e];
    float* y = dst + b * kQK_MXFP4;
    for (int j = 0; j < kQK_MXFP4 / 2; ++j) {
      y[j] = kMXFP4Values[src[b].qs[j] & 0x0f] * d;
      y[j + kQK_MXFP4 / 2] = kMXFP4Values[src[b].qs[j] >> 4] * d;
    }
  }
}

}  // namespace mx
