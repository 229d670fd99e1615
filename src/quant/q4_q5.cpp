// Q4_0, Q5_0, Q4_1 and Q5_1 reference: blocks of 32 4- or 5-bit values with an fp16 scale,
// symmetric (the _0 types: offset by 8 or 16) or with an fp16 minimum (the _1 types).
// Element j sits in the low nibble of byte j, element j + 16 in its high nibble; the 5-bit
// types keep each element's fifth bit in the little-endian word qh (bit j for element j).
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "core/expected.h"
#include "quant/fp16.h"
#include "quant/quant.h"

namespace mx {
namespace {

template <typename Block>
constexpr bool kFiveBits = std::is_same_v<Block, BlockQ5_0> || std::is_same_v<Block, BlockQ5_1>;
template <typename Block>
constexpr bool kHasMin = std::is_same_v<Block, BlockQ4_1> || std::is_same_v<Block, BlockQ5_1>;

// Writes 32 quants (0..15 or 0..31) into a block's nibbles and high bits.
template <typename Block>
void store_quants(const int q[kQK4_0], Block& b) {
  uint32_t qh = 0;
  for (int j = 0; j < kQK4_0 / 2; ++j) {
    const int lo = q[j], hi = q[j + kQK4_0 / 2];
    b.qs[j] = static_cast<uint8_t>((lo & 0x0f) | ((hi & 0x0f) << 4));
    qh |= static_cast<uint32_t>((lo >> 4) & 1) << j;
    qh |= static_cast<uint32_t>((hi >> 4) & 1) << (j + kQK4_0 / 2);
  }
  if constexpr (kFiveBits<Block>) std::memcpy(b.qh, &qh, sizeof(qh));
}

template <typename Block>
void load_quants(const Block& b, int q[kQK4_0]) {
  uint32_t qh = 0;
  if constexpr (kFiveBits<Block>) std::memcpy(&qh, b.qh, sizeof(qh));
  for (int j = 0; j < kQK4_0 / 2; ++j) {
    q[j] = (b.qs[j] & 0x0f) | static_cast<int>(((qh >> j) & 1) << 4);
    q[j + kQK4_0 / 2] = (b.qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1) << 4);
  }
}

template <typename Block>
void quantize_blocks(const float* src, Block* dst, int64_t n) {
  constexpr int kLevels = kFiveBits<Block> ? 32 : 16;
  MX_CHECK(n % kQK4_0 == 0);
  for (int64_t b = 0; b < n / kQK4_0; ++b) {
    const float* x = src + b * kQK4_0;
    int q[kQK4_0];
    if constexpr (kHasMin<Block>) {
      float min = FLT_MAX, max = -FLT_MAX;
      for (int j = 0; j < kQK4_0; ++j) {
        if (x[j] < min) min = x[j];
        if (x[j] > max) max = x[j];
      }
      const float d = (max - min) / (kLevels - 1);
      const float id = d != 0.0f ? 1.0f / d : 0.0f;
      dst[b].d = fp32_to_fp16(d);
      dst[b].m = fp32_to_fp16(min);
      // Truncation after + 0.5 rounds the non-negative (x - min) / d; the 4-bit type
      // clamps the one value that float error can push to 16, as ggml does.
      for (int j = 0; j < kQK4_0; ++j) {
        const float v = (x[j] - min) * id + 0.5f;
        q[j] = kFiveBits<Block> ? static_cast<int>(static_cast<uint8_t>(v))
                                : std::min(15, static_cast<int>(static_cast<int8_t>(v)));
      }
    } else {
      // The signed extreme maps to -8 (-16), so the full range is used on its side; the
      // first element of largest magnitude wins a tie, as in ggml.
      float amax = 0.0f, max = 0.0f;
      for (int j = 0; j < kQK4_0; ++j) {
        if (amax < std::fabs(x[j])) {
          amax = std::fabs(x[j]);
          max = x[j];
        }
      }
      const float d = max / -static_cast<float>(kLevels / 2);
      const float id = d != 0.0f ? 1.0f / d : 0.0f;
      dst[b].d = fp32_to_fp16(d);
      // Truncation of v + offset + 0.5 rounds to nearest for the non-negative values that
      // occur; the int8 cast and the min reproduce ggml's clamp of the one overflowing case.
      for (int j = 0; j < kQK4_0; ++j)
        q[j] = std::min(kLevels - 1, static_cast<int>(static_cast<int8_t>(x[j] * id + (kLevels / 2 + 0.5f))));
    }
    store_quants(q, dst[b]);
  }
}

template <typename Block>
void dequantize_blocks(const Block* src, float* dst, int64_t n) {
  constexpr int kLevels = kFiveBits<Block> ? 32 : 16;
  MX_CHECK(n % kQK4_0 == 0);
  for (int64_t b = 0; b < n / kQK4_0; ++b) {
    const float d = fp16_to_fp32(src[b].d);
    int q[kQK4_0];
    load_quants(src[b], q);
    float* y = dst + b * kQK4_0;
    if constexpr (kHasMin<Block>) {
      const float m = fp16_to_fp32(src[b].m);
      for (int j = 0; j < kQK4_0; ++j) y[j] = q[j] * d + m;
    } else {
      for (int j = 0; j < kQK4_0; ++j) y[j] = (q[j] - kLevels / 2) * d;
    }
  }
}

}  // namespace

void quantize_row_q4_0(const float* src, BlockQ4_0* dst, int64_t n) { quantize_blocks(src, dst, n); }
void dequantize_row_q4_0(const BlockQ4_0* src, float* dst, int64_t n) { dequantize_blocks(src, dst, n); }
void quantize_row_q5_0(const float* src, BlockQ5_0* dst, int64_t n) { quantize_blocks(src, dst, n); }
void dequantize_row_q5_0(const BlockQ5_0* src, float* dst, int64_t n) { dequantize_blocks(src, dst, n); }
void quantize_row_q4_1(const float* src, BlockQ4_1* dst, int64_t n) { quantize_blocks(src, dst, n); }
void dequantize_row_q4_1(const BlockQ4_1* src, float* dst, int64_t n) { dequantize_blocks(src, dst, n); }
void quantize_row_q5_1(const float* src, BlockQ5_1* dst, int64_t n) { quantize_blocks(src, dst, n); }
void dequantize_row_q5_1(const BlockQ5_1* src, float* dst, int64_t n) { dequantize_blocks(src, dst, n); }

}  // namespace mx
