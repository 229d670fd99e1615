// K-quant quantizers (Q4_K, Q5_K, Q6_K) without an importance matrix: the same searches
// as ggml's *_ref functions, step for step in float, so a row quantized here is
// byte-identical to one llama-quantize writes for the same input.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/expected.h"
#include "quant/fp16.h"
#include "quant/quant.h"
#include "quant/scale_search.h"

namespace mx {
namespace {

// Inverse of unpack_k_scale_min: packs the eight 6-bit scales and mins.
void pack_k_scales(const uint8_t sc[8], const uint8_t m[8], uint8_t* q) {
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      q[j] = sc[j];
      q[j + 4] = m[j];
    } else {
      q[j + 4] = static_cast<uint8_t>((sc[j] & 0x0f) | ((m[j] & 0x0f) << 4));
      q[j - 4] |= static_cast<uint8_t>((sc[j] >> 4) << 6);
      q[j] |= static_cast<uint8_t>((m[j] >> 4) << 6);
    }
  }
}

// The shared part of Q4_K and Q5_K: per sub-block of 32, fit scale and min with weights
// |x| + rms; quantize those to 6 bits against the super-block's largest; then requantize
// every element against the rounded scale and min. Writes d, dmin, scales and L.
template <typename Block>
void quantize_super_block_with_mins(const float* x, Block& y, int nmax, float rmin, int nstep,
                                    uint8_t L[kQK_K]) {
  float scales[8], mins[8], weights[32];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    const float* xs = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
    const float rms = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = rms + std::fabs(xs[l]);
    scales[j] = fit_scale_and_min(32, nmax, xs, weights, L + 32 * j, &mins[j], rmin, 0.1f, nstep, false);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
  uint8_t sc[8], m[8];
  for (int j = 0; j < 8; ++j) {
    // Narrowed to a byte before the clamp, as ggml does.
    sc[j] = std::min<uint8_t>(63, static_cast<uint8_t>(nearest(inv_scale * scales[j])));
    m[j] = std::min<uint8_t>(63, static_cast<uint8_t>(nearest(inv_min * mins[j])));
  }
  std::memset(y.scales, 0, sizeof(y.scales));
  pack_k_scales(sc, m, y.scales);
  y.d = fp32_to_fp16(max_scale / 63.0f);
  y.dmin = fp32_to_fp16(max_min / 63.0f);
  for (int j = 0; j < 8; ++j) {
    const float d = fp16_to_fp32(y.d) * sc[j];
    if (d == 0.0f) continue;  // keeps the quants of the search
    const float dm = fp16_to_fp32(y.dmin) * m[j];
    for (int i = 0; i < 32; ++i)
      L[32 * j + i] = static_cast<uint8_t>(std::clamp(nearest((x[32 * j + i] + dm) / d), 0, nmax));
  }
}

}  // namespace

void quantize_row_q4_K(const float* src, BlockQ4_K* dst, int64_t n) {
  MX_CHECK(n % kQK_K == 0);
  uint8_t L[kQK_K];
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const float* x = src + b * kQK_K;
    quantize_super_block_with_mins(x, dst[b], 15, -1.0f, 20, L);
    for (int p = 0; p < 4; ++p)
      for (int l = 0; l < 32; ++l)
        dst[b].qs[32 * p + l] = static_cast<uint8_t>(L[64 * p + l] | (L[64 * p + 32 + l] << 4));
  }
}

void quantize_row_q5_K(const float* src, BlockQ5_K* dst, int64_t n) {
  MX_CHECK(n % kQK_K == 0);
  uint8_t L[kQK_K];
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const float* x = src + b * kQK_K;
    BlockQ5_K& y = dst[b];
    quantize_super_block_with_mins(x, y, 31, -0.5f, 15, L);
    std::memset(y.qh, 0, sizeof(y.qh));
    for (int p = 0; p < 4; ++p)
      for (int l = 0; l < 32; ++l) {
        const int lo = L[64 * p + l], hi = L[64 * p + 32 + l];
        y.qh[l] |= static_cast<uint8_t>(((lo >> 4) << (2 * p)) | ((hi >> 4) << (2 * p + 1)));
        y.qs[32 * p + l] = static_cast<uint8_t>((lo & 0x0f) | ((hi & 0x0f) << 4));
      }
  }
}

void quantize_row_q6_K(const float* src, BlockQ6_K* dst, int64_t n) {
  MX_CHECK(n % kQK_K == 0);
  int8_t L[kQK_K];
  float scales[kQK_K / 16];
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const float* x = src + b * kQK_K;
    BlockQ6_K& y = dst[b];
    float max_scale = 0, max_abs_scale = 0;
    for (int s = 0; s < kQK_K / 16; ++s) {
      scales[s] = fit_symmetric_scale(16, 32, x + 16 * s, L + 16 * s);
      if (std::fabs(scales[s]) > max_abs_scale) {
        max_abs_scale = std::fabs(scales[s]);
        max_scale = scales[s];
      }
    }
    if (max_abs_scale < 1e-15f) {  // an all-zero block
      y = BlockQ6_K{};
      continue;
    }
    // The scale of largest magnitude maps to -128 so its sign is absorbed by d.
    const float iscale = -128.0f / max_scale;
    y.d = fp32_to_fp16(1 / iscale);
    for (int s = 0; s < kQK_K / 16; ++s)
      y.scales[s] = static_cast<int8_t>(std::min(127, nearest(iscale * scales[s])));
    for (int s = 0; s < kQK_K / 16; ++s) {
      const float d = fp16_to_fp32(y.d) * y.scales[s];
      if (d == 0.0f) continue;
      for (int i = 0; i < 16; ++i)
        L[16 * s + i] = static_cast<int8_t>(std::clamp(nearest(x[16 * s + i] / d), -32, 31) + 32);
    }
    for (int h = 0; h < 2; ++h) {
      const int8_t* l = L + 128 * h;
      for (int i = 0; i < 32; ++i) {
        y.ql[64 * h + i] = static_cast<uint8_t>((l[i] & 0x0f) | ((l[i + 64] & 0x0f) << 4));
        y.ql[64 * h + i + 32] = static_cast<uint8_t>((l[i + 32] & 0x0f) | ((l[i + 96] & 0x0f) << 4));
        y.qh[32 * h + i] = static_cast<uint8_t>((l[i] >> 4) | ((l[i + 32] >> 4) << 2) |
                                                ((l[i + 64] >> 4) << 4) | ((l[i + 96] >> 4) << 6));
      }
    }
  }
}

}  // namespace mx
