// Q5_0 reference: blocks of 32 5-bit values (offset by 16) with one fp16 scale.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/expected.h"
#include "quant/fp16.h"
#include "quant/quant.h"

namespace mx {

void quantize_row_q5_0(const float* src, BlockQ5_0* dst, int64_t n) {
  MX_CHECK(n % kQK4_0 == 0);
  for (int64_t b = 0; b < n / kQK4_0; ++b) {
    const float* x = src + b * kQK4_0;
    // As Q4_0: the signed extreme maps to -16, the first of largest magnitude wins a tie.
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < kQK4_0; ++j) {
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -16.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    dst[b].d = fp32_to_fp16(d);
    auto quant = [id](float v) { return std::min(31, static_cast<int>(static_cast<int8_t>(v * id + 16.5f))); };
    uint32_t qh = 0;
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      const int lo = quant(x[j]), hi = quant(x[j + kQK4_0 / 2]);
      dst[b].qs[j] = static_cast<uint8_t>((lo & 0x0f) | ((hi & 0x0f) << 4));
      qh |= static_cast<uint32_t>((lo >> 4) & 1) << j;
      qh |= static_cast<uint32_t>((hi >> 4) & 1) << (j + kQK4_0 / 2);
    }
    std::memcpy(dst[b].qh, &qh, sizeof(qh));
  }
}

void dequantize_row_q5_0(const BlockQ5_0* src, float* dst, int64_t n) {
  MX_CHECK(n % kQK4_0 == 0);
  for (int64_t b = 0; b < n / kQK4_0; ++b) {
    const float d = fp16_to_fp32(src[b].d);
    uint32_t qh;
    std::memcpy(&qh, src[b].qh, sizeof(qh));
    float* y = dst + b * kQK4_0;
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      const int lo = (src[b].qs[j] & 0x0f) | static_cast<int>(((qh >> j) & 1) << 4);
      const int hi = (src[b].qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1) << 4);
      y[j] = (lo - 16) * d;
      y[j + kQK4_0 / 2] = (hi - 16) * d;
    }
  }
}

}  // namespace mx
