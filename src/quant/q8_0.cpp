// Q8_0 and Q8_1 reference: blocks of 32 int8 with one fp16 scale (Q8_1 adds d * sum).
#include <cmath>
#include <cstring>

#include "core/expected.h"
#include "quant/fp16.h"
#include "quant/quant.h"

namespace mx {

void quantize_row_q8_0(const float* src, BlockQ8_0* dst, int64_t n) {
  MX_CHECK(n % kQK8_0 == 0);
  for (int64_t b = 0; b < n / kQK8_0; ++b) {
    const float* x = src + b * kQK8_0;
    float amax = 0.0f;
    for (int j = 0; j < kQK8_0; ++j) amax = std::fmax(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    // The quants use the unrounded scale, as ggml does; only the stored d is fp16.
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    dst[b].d = fp32_to_fp16(d);
    for (int j = 0; j < kQK8_0; ++j) dst[b].qs[j] = static_cast<int8_t>(std::round(x[j] * id));
  }
}

void dequantize_row_q8_0(const BlockQ8_0* src, float* dst, int64_t n) {
  MX_CHECK(n % kQK8_0 == 0);
  for (int64_t b = 0; b < n / kQK8_0; ++b) {
    const float d = fp16_to_fp32(src[b].d);
    for (int j = 0; j < kQK8_0; ++j) dst[b * kQK8_0 + j] = src[b].qs[j] * d;
  }
}

void quantize_row_q8_1(const float* src, BlockQ8_1* dst, int64_t n) {
  MX_CHECK(n % kQK8_0 == 0);
  for (int64_t b = 0; b < n / kQK8_0; ++b) {
    BlockQ8_0 q;
    quantize_row_q8_0(src + b * kQK8_0, &q, kQK8_0);
    int sum = 0;
    for (int j = 0; j < kQK8_0; ++j) sum += q.qs[j];
    dst[b].d = q.d;
    // The sum is scaled by the unrounded d, as ggml does.
    float amax = 0.0f;
    for (int j = 0; j < kQK8_0; ++j) amax = std::fmax(amax, std::fabs(src[b * kQK8_0 + j]));
    dst[b].s = fp32_to_fp16(static_cast<float>(sum) * (amax / 127.0f));
    std::memcpy(dst[b].qs, q.qs, sizeof(q.qs));
  }
}

void dequantize_row_q8_1(const BlockQ8_1* src, float* dst, int64_t n) {
  MX_CHECK(n % kQK8_0 == 0);
  for (int64_t b = 0; b < n / kQK8_0; ++b) {
    const float d = fp16_to_fp32(src[b].d);
    for (int j = 0; j < kQK8_0; ++j) dst[b * kQK8_0 + j] = src[b].qs[j] * d;
  }
}

}  // namespace mx
