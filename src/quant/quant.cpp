// Row conversions by GgmlType: the one switch over formats that callers outside the hot
// loop (loaders, tools, tests) use.
#include <cstring>

#include "core/expected.h"
#include "quant/quant.h"

namespace mx {

bool can_dequantize(GgmlType type) {
  switch (type) {
    case GgmlType::kF32: case GgmlType::kF16: case GgmlType::kBF16:
    case GgmlType::kQ8_0: case GgmlType::kQ8_1: case GgmlType::kQ4_0: case GgmlType::kQ4_1:
    case GgmlType::kQ5_0: case GgmlType::kQ5_1: case GgmlType::kQ8_K:
    case GgmlType::kQ2_K: case GgmlType::kQ3_K: case GgmlType::kQ4_K: case GgmlType::kQ5_K:
    case GgmlType::kQ6_K: case GgmlType::kIQ4_NL: case GgmlType::kMXFP4:
      return true;
    default:
      return false;
  }
}

bool can_quantize(GgmlType type) { return can_dequantize(type); }

void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n) {
  switch (type) {
    case GgmlType::kF32: std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float)); return;
    case GgmlType::kF16: return f16_to_f32_row(static_cast<const uint16_t*>(src), dst, n);
    case GgmlType::kBF16: return bf16_to_f32_row(static_cast<const uint16_t*>(src), dst, n);
    case GgmlType::kQ8_0: return dequantize_row_q8_0(static_cast<const BlockQ8_0*>(src), dst, n);
    case GgmlType::kQ4_0: return dequantize_row_q4_0(static_cast<const BlockQ4_0*>(src), dst, n);
    case GgmlType::kQ8_1: return dequantize_row_q8_1(static_cast<const BlockQ8_1*>(src), dst, n);
    case GgmlType::kQ4_1: return dequantize_row_q4_1(static_cast<const BlockQ4_1*>(src), dst, n);
    case GgmlType::kQ5_0: return dequantize_row_q5_0(static_cast<const BlockQ5_0*>(src), dst, n);
    case GgmlType::kQ5_1: return dequantize_row_q5_1(static_cast<const BlockQ5_1*>(src), dst, n);
    case GgmlType::kQ8_K: return dequantize_row_q8_K(static_cast<const BlockQ8_K*>(src), dst, n);
    case GgmlType::kQ4_K: return dequantize_row_q4_K(static_cast<const BlockQ4_K*>(src), dst, n);
    case GgmlType::kQ5_K: return dequantize_row_q5_K(static_cast<const BlockQ5_K*>(src), dst, n);
    case GgmlType::kQ6_K: return dequantize_row_q6_K(static_cast<const BlockQ6_K*>(src), dst, n);
    case GgmlType::kQ2_K: return dequantize_row_q2_K(static_cast<const BlockQ2_K*>(src), dst, n);
    case GgmlType::kQ3_K: return dequantize_row_q3_K(static_cast<const BlockQ3_K*>(src), dst, n);
    case GgmlType::kIQ4_NL: return dequantize_row_iq4_nl(static_cast<const BlockIQ4_NL*>(src), dst, n);
    case GgmlType::kMXFP4: return dequantize_row_mxfp4(static_cast<const BlockMXFP4*>(src), dst, n);
    default: MX_CHECK(false && "dequantize_row: unsupported type");
  }
}

void quantize_row(GgmlType type, const float* src, void* dst, int64_t n) {
  switch (type) {
    case GgmlType::kF32: std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float)); return;
    case GgmlType::kF16: return f32_to_f16_row(src, static_cast<uint16_t*>(dst), n);
    case GgmlType::kBF16: return f32_to_bf16_row(src, static_cast<uint16_t*>(dst), n);
    case GgmlType::kQ8_0: return quantize_row_q8_0(src, static_cast<BlockQ8_0*>(dst), n);
    case GgmlType::kQ4_0: return quantize_row_q4_0(src, static_cast<BlockQ4_0*>(dst), n);
    case GgmlType::kQ8_K: return quantize_row_q8_K(src, static_cast<BlockQ8_K*>(dst), n);
    case GgmlType::kQ8_1: return quantize_row_q8_1(src, static_cast<BlockQ8_1*>(dst), n);
    case GgmlType::kQ4_1: return quantize_row_q4_1(src, static_cast<BlockQ4_1*>(dst), n);
    case GgmlType::kQ5_0: return quantize_row_q5_0(src, static_cast<BlockQ5_0*>(dst), n);
    case GgmlType::kQ5_1: return quantize_row_q5_1(src, static_cast<BlockQ5_1*>(dst), n);
    case GgmlType::kQ4_K: return quantize_row_q4_K(src, static_cast<BlockQ4_K*>(dst), n);
    case GgmlType::kQ5_K: return quantize_row_q5_K(src, static_cast<BlockQ5_K*>(dst), n);
    case GgmlType::kQ6_K: return quantize_row_q6_K(src, static_cast<BlockQ6_K*>(dst), n);
    case GgmlType::kQ2_K: return quantize_row_q2_K(src, static_cast<BlockQ2_K*>(dst), n);
    case GgmlType::kQ3_K: return quantize_row_q3_K(src, static_cast<BlockQ3_K*>(dst), n);
    case GgmlType::kIQ4_NL: return quantize_row_iq4_nl(src, static_cast<BlockIQ4_NL*>(dst), n);
    case GgmlType::kMXFP4: return quantize_row_mxfp4(src, static_cast<BlockMXFP4*>(dst), n);
    default: MX_CHECK(false && "quantize_row: unsupported type");
  }
}

}  // namespace mx
