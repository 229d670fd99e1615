// Q4_1 and Q5_1 reference: blocks of 32 unsigned values with an fp16 scale and minimum.
// One template serves both; Q5_1 keeps the fifth bits in qh as Q5_0 does.
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
constexpr bool kHasHighBits = std::is_same_v<Block, BlockQ5_1>;

template <typename Block>
void quantize_with_min(const float* src, Block* dst, int64_t n) {
  constexpr int kMaxQ = kHasHighBits<Block> ? 31 : 15;
  MX_CHECK(n % kQK4_0 == 0);
  for (int64_t b = 0; b < n / kQK4_0; ++b) {
    const float* x = src + b * kQK4_0;
    float min = FLT_MAX, max = -FLT_MAX;
    for (int j = 0; j < kQK4_0; ++j) {
      if (x[j] < min) min = x[j];
      if (x[j] > max) max = x[j];
    }
    const float d = (max - min) / kMaxQ;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    dst[b].d = fp32_to_fp16(d);
    dst[b].m = fp32_to_fp16(min);
    // Truncation after + 0.5 rounds the non-negative (x - min) / d; the 4-bit variant
    // clamps the one value that can reach 16 through float error, as ggml does.
    auto quant = [&](float v) {
      const float q = (v - min) * id + 0.5f;
      if constexpr (kHasHighBits<Block>) return static_cast<int>(static_cast<uint8_t>(q));
      else return std::min(15, static_cast<int>(static_cast<int8_t>(q)));
    };
    uint32_t qh = 0;
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      const int lo = quant(x[j]), hi = quant(x[j + kQK4_0 / 2]);
      dst[b].qs[j] = static_cast<uint8_t>((lo & 0x0f) | ((hi & 0x0f) << 4));
      qh |= static_cast<uint32_t>((lo >> 4) & 1) << j;
      qh |= static_cast<uint32_t>((hi >> 4) & 1) << (j + kQK4_0 / 2);
    }
    if constexpr (kHasHighBits<Block>) std::memcpy(dst[b].qh, &qh, sizeof(qh));
  }
}

template <typename Block>
void dequantize_with_min(const Block* src, float* dst, int64_t n) {
  MX_CHECK(n % kQK4_0 == 0);
  for (int64_t b = 0; b < n / kQK4_0; ++b) {
    const float d = fp16_to_fp32(src[b].d), m = fp16_to_fp32(src[b].m);
    uint32_t qh = 0;
    if constexpr (kHasHighBits<Block>) std::memcpy(&qh, src[b].qh, sizeof(qh));
    float* y = dst + b * kQK4_0;
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      const int lo = (src[b].qs[j] & 0x0f) | static_cast<int>(((qh >> j) & 1) << 4);
      const int hi = (src[b].qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1) << 4);
      y[j] = lo * d + m;
      y[j + kQK4_0 / 2] = hi * d + m;
    }
  }
}

}  // namespace

void quantize_row_q4_1(const float* src, BlockQ4_1* dst, int64_t n) { quantize_with_min(src, dst, n); }
void dequantize_row_q4_1(const BlockQ4_1* src, float* dst, int64_t n) { dequantize_with_min(src, dst, n); }
void quantize_row_q5_1(const float* src, BlockQ5_1* dst, int64_t n) { quantize_with_min(src, dst, n); }
void dequantize_row_q5_1(const BlockQ5_1* src, float* dst, int64_t n) { dequantize_with_min(src, dst, n); }

}  // namespace mx
