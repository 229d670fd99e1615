// K-quant weights (Q4_K, Q5_K, Q6_K): scalar dequantization, the reference for their
// dot products. Super-blocks of 256 with per-sub-block scales.
#include "core/expected.h"
#include "quant/fp16.h"
#include "quant/quant.h"

namespace mx {

// Sub-blocks 0..3 keep their 6-bit scale and min in the low 6 bits of bytes j and j + 4;
// sub-blocks 4..7 put their low 4 bits in byte j + 4 and their top 2 bits in the spare
// high bits of bytes j - 4 (scale) and j (min).
void unpack_k_scale_min(const uint8_t* q, int j, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

void dequantize_row_q4_K(const BlockQ4_K* src, float* dst, int64_t n) {
  MX_CHECK(n % kQK_K == 0);
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const BlockQ4_K& x = src[b];
    const float d = fp16_to_fp32(x.d), dmin = fp16_to_fp32(x.dmin);
    float* y = dst + b * kQK_K;
    // Each 32 bytes of qs hold two sub-blocks: low nibbles, then high nibbles.
    for (int p = 0; p < 4; ++p) {
      const uint8_t* q = x.qs + 32 * p;
      uint8_t sc, m;
      unpack_k_scale_min(x.scales, 2 * p, &sc, &m);
      const float d1 = d * sc, m1 = dmin * m;
      unpack_k_scale_min(x.scales, 2 * p + 1, &sc, &m);
      const float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l) y[64 * p + l] = d1 * (q[l] & 0x0f) - m1;
      for (int l = 0; l < 32; ++l) y[64 * p + 32 + l] = d2 * (q[l] >> 4) - m2;
    }
  }
}

void dequantize_row_q5_K(const BlockQ5_K* src, float* dst, int64_t n) {
  MX_CHECK(n % kQK_K == 0);
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const BlockQ5_K& x = src[b];
    const float d = fp16_to_fp32(x.d), dmin = fp16_to_fp32(x.dmin);
    float* y = dst + b * kQK_K;
    // As Q4_K; sub-block s takes its fifth bit from bit s of qh[l].
    for (int p = 0; p < 4; ++p) {
      const uint8_t* q = x.qs + 32 * p;
      const uint8_t u1 = static_cast<uint8_t>(1u << (2 * p)), u2 = static_cast<uint8_t>(2u << (2 * p));
      uint8_t sc, m;
      unpack_k_scale_min(x.scales, 2 * p, &sc, &m);
      const float d1 = d * sc, m1 = dmin * m;
      unpack_k_scale_min(x.scales, 2 * p + 1, &sc, &m);
      const float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l)
        y[64 * p + l] = d1 * ((q[l] & 0x0f) + (x.qh[l] & u1 ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l)
        y[64 * p + 32 + l] = d2 * ((q[l] >> 4) + (x.qh[l] & u2 ? 16 : 0)) - m2;
    }
  }
}

void dequantize_row_q6_K(const BlockQ6_K* src, float* dst, int64_t n) {
  MX_CHECK(n % kQK_K == 0);
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const BlockQ6_K& x = src[b];
    const float d = fp16_to_fp32(x.d);
    float* y = dst + b * kQK_K;
    // Two halves of 128: 64 bytes of ql (low 4 bits) and 32 of qh (2 bits for each of
    // four elements l, l+32, l+64, l+96); sub-blocks of 16 each have an int8 scale.
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = x.ql + 64 * h;
      const uint8_t* qh = x.qh + 32 * h;
      const int8_t* sc = x.scales + 8 * h;
      float* yh = y + 128 * h;
      for (int l = 0; l < 32; ++l) {
        const int s = l / 16;
        const int q1 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        yh[l] = d * sc[s] * q1;
        yh[l + 32] = d * sc[s + 2] * q2;
        yh[l + 64] = d * sc[s + 4] * q3;
        yh[l + 96] = d * sc[s + 6] * q4;
      }
    }
  }
}

}  // namespace mx
