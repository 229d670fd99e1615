// K-quant quantizers (Q4_K, Q5_K, Q6_K) without an importance matrix: the same searches
// as ggml's *_ref functions, step for step in float, so a row quantized here is
// byte-identical to one llama-quantize writes for the same input.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/expected.h"
#include "quant/fp16.h"
#include "quant/quant.h"

namespace mx {
namespace {

// Round to nearest, ties to even (the default rounding mode), as ggml's nearest_int.
int nearest(float v) { return static_cast<int>(std::nearbyint(v)); }

// Asymmetric fit of x[0..n) to scale * L + min, L in [0, nmax], min <= 0: start from the
// full range, then try nstep + 1 slightly different ranges and keep the one with the least
// weighted squared error (each candidate solves the weighted least squares for scale and
// min). Returns the scale; *neg_min receives -min (>= 0).
float fit_scale_and_min(int n, int nmax, const float* x, const float* weights, uint8_t* L,
                        float* neg_min, float rmin, float rdelta, int nstep) {
  float min = x[0], max = x[0];
  float sum_w = weights[0], sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    min = std::min(min, x[i]);
    max = std::max(max, x[i]);
    sum_w += weights[i];
    sum_x += weights[i] * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    std::fill(L, L + n, uint8_t{0});
    *neg_min = -min;
    return 0.0f;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    L[i] = static_cast<uint8_t>(std::clamp(nearest(iscale * (x[i] - min)), 0, nmax));
    const float diff = scale * L[i] + min - x[i];
    best_error += weights[i] * (diff * diff);
  }
  uint8_t candidate[32];
  MX_CHECK(n <= 32);
  for (int step = 0; step <= nstep; ++step) {
    iscale = (rmin + rdelta * step + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest(iscale * (x[i] - min)), 0, nmax);
      candidate[i] = static_cast<uint8_t>(l);
      const float w = weights[i];
      sum_l += w * l;
      sum_l2 += w * l * l;
      sum_xl += w * l * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det <= 0) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (this_min > 0) {
      this_min = 0;
      this_scale = sum_xl / sum_l2;
    }
    float error = 0;
    for (int i = 0; i < n; ++i) {
      const float diff = this_scale * candidate[i] + this_min - x[i];
      error += weights[i] * (diff * diff);
    }
    if (error < best_error) {
      std::copy(candidate, candidate + n, L);
      best_error = error;
      scale = this_scale;
      min = this_min;
    }
  }
  *neg_min = -min;
  return scale;
}

// Symmetric fit of x[0..n) to scale * (L - nmax), L in [0, 2 nmax), weighting each
// element by x^2: the element of largest magnitude maps to -nmax, then 18 nearby scales
// are tried and the best least-squares one kept.
float fit_symmetric_scale(int n, int nmax, const float* x, int8_t* L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  if (amax < 1e-15f) {
    std::fill(L, L + n, int8_t{0});
    return 0.0f;
  }
  auto quantize_at = [&](float iscale, int i) {
    return std::clamp(nearest(iscale * x[i]), -nmax, nmax - 1);
  };
  float iscale = -nmax / max;
  float sum_lx = 0, sum_l2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = quantize_at(iscale, i);
    L[i] = static_cast<int8_t>(l + nmax);
    const float w = x[i] * x[i];
    sum_lx += w * x[i] * l;
    sum_l2 += w * l * l;
  }
  float scale = sum_l2 != 0 ? sum_lx / sum_l2 : 0.0f;
  float best = scale * sum_lx;
  for (int step = -9; step <= 9; ++step) {
    if (step == 0) continue;
    iscale = -(nmax + 0.1f * step) / max;
    sum_lx = sum_l2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = quantize_at(iscale, i);
      const float w = x[i] * x[i];
      sum_lx += w * x[i] * l;
      sum_l2 += w * l * l;
    }
    if (sum_l2 > 0 && sum_lx * sum_lx > best * sum_l2) {
      for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(quantize_at(iscale, i) + nmax);
      scale = sum_lx / sum_l2;
      best = scale * sum_lx;
    }
  }
  return scale;
}

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
    scales[j] = fit_scale_and_min(32, nmax, xs, weights, L + 32 * j, &mins[j], rmin, 0.1f, nstep);
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
