// IQ4_NL: blocks of 32 4-bit indices into a fixed non-linear grid of int8 values
// (kIQ4NLValues, denser near zero where weights cluster) with an fp16 scale. Quantization
// is llama-quantize's without an importance matrix (ggml's quantize_iq4_nl: weights x^2,
// 15 candidate scales), step for step, so the bytes match.
#include <cmath>
#include <cstring>

#include "core/expected.h"
#include "quant/fp16.h"
#include "quant/quant.h"
#include "quant/scale_search.h"

namespace mx {
namespace {

constexpr int kCandidates = 7;  // scales tried on each side of the largest element's

int grid_index(float v) { return nearest_grid_index(16, kIQ4NLValues, v); }

// The weighted least-squares scale of x against the grid values chosen at inverse scale
// `id`: *sum_qx / *sum_q2 with weights x^2.
void fit_at(const float* x, float id, float* sum_qx, float* sum_q2) {
  *sum_qx = *sum_q2 = 0;
  for (int j = 0; j < kQK4_0; ++j) {
    const float q = kIQ4NLValues[grid_index(id * x[j])];
    const float w = x[j] * x[j];
    *sum_qx += w * q * x[j];
    *sum_q2 += w * q * q;
  }
}

float best_scale(const float* x) {
  const float max = largest_magnitude(kQK4_0, x);
  if (std::fabs(max) < 1e-15f) return 0.0f;
  float sum_qx, sum_q2;
  fit_at(x, 1 / (-max / kIQ4NLValues[0]), &sum_qx, &sum_q2);
  float d = sum_qx / sum_q2, best = d * sum_qx;
  for (int step = -kCandidates; step <= kCandidates; ++step) {
    fit_at(x, (step + kIQ4NLValues[0]) / max, &sum_qx, &sum_q2);
    if (sum_q2 > 0 && sum_qx * sum_qx > best * sum_q2) {
      d = sum_qx / sum_q2;
      best = d * sum_qx;
    }
  }
  return d;
}

}  // namespace

void quantize_row_iq4_nl(const float* src, BlockIQ4_NL* dst, int64_t n) {
  MX_CHECK(n % kQK4_0 == 0);
  for (int64_t b = 0; b < n / kQK4_0; ++b) {
    const float* x = src + b * kQK4_0;
    const float d = best_scale(x);
    dst[b].d = fp32_to_fp16(d);
    // Indices against the unrounded scale, as ggml does.
    const float id = d != 0.0f ? 1 / d : 0.0f;
    for (int j = 0; j < kQK4_0 / 2; ++j)
      dst[b].qs[j] = static_cast<uint8_t>(grid_index(id * x[j]) | (grid_index(id * x[j + kQK4_0 / 2]) << 4));
  }
}

void dequantize_row_iq4_nl(const BlockIQ4_NL* src, float* dst, int64_t n) {
  MX_CHECK(n % kQK4_0 == 0);
  for (int64_t b = 0; b < n / kQK4_0; ++b) {
    const float d = fp16_to_fp32(src[b].d);
    float* y = dst + b * kQK4_0;
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      y[j] = d * kIQ4NLValues[src[b].qs[j] & 0x0f];
      y[j + kQK4_0 / 2] = d * kIQ4NLValues[src[b].qs[j] >> 4];
    }
  }
}

}  // namespace mx
