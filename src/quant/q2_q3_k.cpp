// Q2_K and Q3_K: the low-bit K-quants, 16 sub-blocks of 16 per super-block of 256.
// Quantization follows ggml's *_ref functions step for step (no importance matrix), so
// the bytes match llama-quantize's; dequantization is the reference for their dots.
//
// Both keep 2 bits of every element in qs: 32 bytes hold 128 elements, bits 2k..2k+1 of
// byte l being element 32k + l of that 128. Q3_K's third bit of element e is bit e / 32
// of hmask[e % 32].
#include <algorithm>
#include <cstring>

#include "core/expected.h"
#include "quant/fp16.h"
#include "quant/quant.h"
#include "quant/scale_search.h"

namespace mx {
namespace {

// The 2-bit field of element e (0..255) of a super-block's qs.
int low_bits(const uint8_t* qs, int e) {
  const int half = e / 128, k = (e % 128) / 32, l = e % 32;
  return (qs[32 * half + l] >> (2 * k)) & 3;
}

void pack_low_bits(const uint8_t L[kQK_K], uint8_t* qs) {
  for (int j = 0; j < kQK_K; j += 128)
    for (int l = 0; l < 32; ++l)
      qs[j / 4 + l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
}

}  // namespace

int q3_k_scale(const uint8_t* scales, int s) {
  const int low = s < 8 ? scales[s] & 0x0f : scales[s - 8] >> 4;
  const int high = (scales[8 + s % 4] >> (2 * (s / 4))) & 3;
  return (low | (high << 4)) - 32;
}

void dequantize_row_q2_K(const BlockQ2_K* src, float* dst, int64_t n) {
  MX_CHECK(n % kQK_K == 0);
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const BlockQ2_K& x = src[b];
    const float d = fp16_to_fp32(x.d), dmin = fp16_to_fp32(x.dmin);
    for (int e = 0; e < kQK_K; ++e) {
      const uint8_t sc = x.scales[e / 16];
      dst[b * kQK_K + e] = d * (sc & 0x0f) * static_cast<float>(low_bits(x.qs, e)) - dmin * (sc >> 4);
    }
  }
}

void dequantize_row_q3_K(const BlockQ3_K* src, float* dst, int64_t n) {
  MX_CHECK(n % kQK_K == 0);
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const BlockQ3_K& x = src[b];
    const float d = fp16_to_fp32(x.d);
    for (int e = 0; e < kQK_K; ++e) {
      const int high = (x.hmask[e % 32] >> (e / 32)) & 1;
      const int q = low_bits(x.qs, e) - (high ? 0 : 4);
      dst[b * kQK_K + e] = d * static_cast<float>(q3_k_scale(x.scales, e / 16)) * static_cast<float>(q);
    }
  }
}

// Per sub-block: fit scale and min (absolute error, weights |x|), quantize both to 4 bits
// against the largest, then requantize every element against the rounded pair.
void quantize_row_q2_K(const float* src, BlockQ2_K* dst, int64_t n) {
  MX_CHECK(n % kQK_K == 0);
  uint8_t L[kQK_K];
  float weights[16], scales[16], mins[16];
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const float* x = src + b * kQK_K;
    BlockQ2_K& y = dst[b];
    float max_scale = 0, max_min = 0;
    for (int s = 0; s < 16; ++s) {
      for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * s + l]);
      scales[s] = fit_scale_and_min(16, 3, x + 16 * s, weights, L + 16 * s, &mins[s], -0.5f, 0.1f, 15, true);
      max_scale = std::max(max_scale, scales[s]);
      max_min = std::max(max_min, mins[s]);
    }
    std::memset(y.scales, 0, sizeof(y.scales));
    y.d = fp32_to_fp16(0.0f);
    if (max_scale > 0) {
      const float iscale = 15.0f / max_scale;
      for (int s = 0; s < 16; ++s) y.scales[s] = static_cast<uint8_t>(nearest(iscale * scales[s]));
      y.d = fp32_to_fp16(max_scale / 15.0f);
    }
    y.dmin = fp32_to_fp16(0.0f);
    if (max_min > 0) {
      const float iscale = 15.0f / max_min;
      for (int s = 0; s < 16; ++s) y.scales[s] = static_cast<uint8_t>(y.scales[s] | (nearest(iscale * mins[s]) << 4));
      y.dmin = fp32_to_fp16(max_min / 15.0f);
    }
    for (int s = 0; s < 16; ++s) {
      const float d = fp16_to_fp32(y.d) * (y.scales[s] & 0x0f);
      if (d == 0.0f) continue;  // keeps the quants of the search
      const float dm = fp16_to_fp32(y.dmin) * (y.scales[s] >> 4);
      for (int i = 0; i < 16; ++i)
        L[16 * s + i] = static_cast<uint8_t>(std::clamp(nearest((x[16 * s + i] + dm) / d), 0, 3));
    }
    pack_low_bits(L, y.qs);
  }
}

// Per sub-block: a symmetric 3-bit fit by coordinate descent; the 16 scales quantized to
// 6 bits against the largest (which maps to -32, so d carries its sign); then every
// element requantized against its rounded scale.
void quantize_row_q3_K(const float* src, BlockQ3_K* dst, int64_t n) {
  MX_CHECK(n % kQK_K == 0);
  int8_t L[kQK_K];
  float scales[16];
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const float* x = src + b * kQK_K;
    BlockQ3_K& y = dst[b];
    for (int s = 0; s < 16; ++s) scales[s] = fit_symmetric_scale_by_descent(16, 4, x + 16 * s, L + 16 * s);
    const float max_scale = largest_magnitude(16, scales);
    std::memset(y.scales, 0, sizeof(y.scales));
    y.d = fp32_to_fp16(0.0f);
    if (max_scale != 0.0f) {
      const float iscale = -32.0f / max_scale;
      for (int s = 0; s < 16; ++s) {
        const int l = std::clamp(nearest(iscale * scales[s]), -32, 31) + 32;
        if (s < 8)
          y.scales[s] = static_cast<uint8_t>(l & 0x0f);
        else
          y.scales[s - 8] = static_cast<uint8_t>(y.scales[s - 8] | ((l & 0x0f) << 4));
        y.scales[8 + s % 4] = static_cast<uint8_t>(y.scales[8 + s % 4] | ((l >> 4) << (2 * (s / 4))));
      }
      y.d = fp32_to_fp16(1 / iscale);
    }
    for (int s = 0; s < 16; ++s) {
      const float d = fp16_to_fp32(y.d) * static_cast<float>(q3_k_scale(y.scales, s));
      if (d == 0.0f) continue;
      for (int i = 0; i < 16; ++i)
        L[16 * s + i] = static_cast<int8_t>(std::clamp(nearest(x[16 * s + i] / d), -4, 3) + 4);
    }
    std::memset(y.hmask, 0, sizeof(y.hmask));
    uint8_t low[kQK_K];
    for (int e = 0; e < kQK_K; ++e) {
      int l = L[e];
      if (l > 3) {
        y.hmask[e % 32] = static_cast<uint8_t>(y.hmask[e % 32] | (1 << (e / 32)));
        l -= 4;
      }
      low[e] = static_cast<uint8_t>(l);
    }
    pack_low_bits(low, y.qs);
  }
}

}  // namespace mx
