// Q8_K reference: the 256-element activation blocks the K-quant dot products use.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/expected.h"
#include "quant/quant.h"

namespace mx {

void quantize_row_q8_K(const float* src, BlockQ8_K* dst, int64_t n) {
  MX_CHECK(n % kQK_K == 0);
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const float* x = src + b * kQK_K;
    BlockQ8_K& y = dst[b];
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < kQK_K; ++j) {
      if (std::fabs(x[j]) > amax) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    if (amax == 0.0f) {  // ggml leaves bsums unset here; zero is what they sum to
      y = BlockQ8_K{};
      continue;
    }
    // -127 (not -128) so |q| <= 127 and SIMD sign tricks never meet -128.
    const float iscale = -127.0f / max;
    for (int j = 0; j < kQK_K; ++j) {
      // nearbyint in the default rounding mode: ties to even, as ggml's nearest_int.
      const int v = static_cast<int>(std::nearbyint(iscale * x[j]));
      y.qs[j] = static_cast<int8_t>(std::min(127, v));
    }
    for (int g = 0; g < kQK_K / 16; ++g) {
      int sum = 0;
      for (int j = 0; j < 16; ++j) sum += y.qs[g * 16 + j];
      y.bsums[g] = static_cast<int16_t>(sum);
    }
    y.d = 1.0f / iscale;
  }
}

void dequantize_row_q8_K(const BlockQ8_K* src, float* dst, int64_t n) {
  MX_CHECK(n % kQK_K == 0);
  for (int64_t b = 0; b < n / kQK_K; ++b)
    for (int j = 0; j < kQK_K; ++j) dst[b * kQK_K + j] = src[b].d * src[b].qs[j];
}

}  // namespace mx
