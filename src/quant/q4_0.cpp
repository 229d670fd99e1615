// Q4_0 reference: blocks of 32 4-bit values (offset by 8) with one fp16 scale.
#include <algorithm>
#include <cmath>

#include "core/expected.h"
#include "quant/fp16.h"
#include "quant/quant.h"

namespace mx {

void quantize_row_q4_0(const float* src, BlockQ4_0* dst, int64_t n) {
  MX_CHECK(n % kQK4_0 == 0);
  for (int64_t b = 0; b < n / kQK4_0; ++b) {
    const float* x = src + b * kQK4_0;
    // The signed extreme maps to -8, so the full range [-8, 7] is used on its side;
    // the first element of largest magnitude wins a tie, as in ggml.
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < kQK4_0; ++j) {
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    dst[b].d = fp32_to_fp16(d);
    auto quant = [id](float v) {
      // Truncation of v + 8.5 rounds to nearest for the non-negative values that occur;
      // the int8 cast and the min reproduce ggml's clamp of the one overflowing case.
      const int q = static_cast<int8_t>(v * id + 8.5f);
      return static_cast<uint8_t>(std::min(15, q));
    };
    for (int j = 0; j < kQK4_0 / 2; ++j)
      dst[b].qs[j] = static_cast<uint8_t>(quant(x[j]) | (quant(x[j + kQK4_0 / 2]) << 4));
  }
}

void dequantize_row_q4_0(const BlockQ4_0* src, float* dst, int64_t n) {
  MX_CHECK(n % kQK4_0 == 0);
  for (int64_t b = 0; b < n / kQK4_0; ++b) {
    const float d = fp16_to_fp32(src[b].d);
    float* y = dst + b * kQK4_0;
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      y[j] = ((src[b].qs[j] & 0x0f) - 8) * d;
      y[j + kQK4_0 / 2] = ((src[b].qs[j] >> 4) - 8) * d;
    }
  }
}

}  // namespace mx
