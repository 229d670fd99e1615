// Scalar reference conversions between f32 and each storage format: readable, the ground
// truth for every SIMD path. Rounding follows ggml's reference quantizers so a row
// quantized here is byte-identical to one quantized by llama.cpp's *_ref functions.
//
// n is the element count of the row and must be a multiple of the type's block size.
#pragma once

#include <cstdint>

#include "quant/blocks.h"
#include "quant/types.h"

namespace mx {

// ---- Float formats (block size 1). dst and src may not overlap.
void f32_to_f16_row(const float* src, uint16_t* dst, int64_t n);
void f16_to_f32_row(const uint16_t* src, float* dst, int64_t n);
void f32_to_bf16_row(const float* src, uint16_t* dst, int64_t n);
void bf16_to_f32_row(const uint16_t* src, float* dst, int64_t n);

// ---- Q8_0: d = max|x| / 127, q = round(x / d) (half away from zero).
void quantize_row_q8_0(const float* src, BlockQ8_0* dst, int64_t n);
void dequantize_row_q8_0(const BlockQ8_0* src, float* dst, int64_t n);

// ---- Q4_0: d = m / -8 with m the element of largest magnitude (its sign kept),
// q = min(15, trunc(x / d + 8.5)).
void quantize_row_q4_0(const float* src, BlockQ4_0* dst, int64_t n);
void dequantize_row_q4_0(const BlockQ4_0* src, float* dst, int64_t n);

// ---- Q5_0: as Q4_0 with 5 bits: d = m / -16, q = min(31, trunc(x / d + 16.5)).
void quantize_row_q5_0(const float* src, BlockQ5_0* dst, int64_t n);
void dequantize_row_q5_0(const BlockQ5_0* src, float* dst, int64_t n);

// ---- Q4_1 / Q5_1: m = min(x), d = (max - min) / (2^bits - 1), q = trunc((x - m) / d + 0.5).
void quantize_row_q4_1(const float* src, BlockQ4_1* dst, int64_t n);
void dequantize_row_q4_1(const BlockQ4_1* src, float* dst, int64_t n);
void quantize_row_q5_1(const float* src, BlockQ5_1* dst, int64_t n);
void dequantize_row_q5_1(const BlockQ5_1* src, float* dst, int64_t n);

// ---- Q8_1: as Q8_0 (q = roundf(x / d)), plus s = d * sum(q).
void quantize_row_q8_1(const float* src, BlockQ8_1* dst, int64_t n);
void dequantize_row_q8_1(const BlockQ8_1* src, float* dst, int64_t n);

// ---- Q8_K: d = m / -127 with m the element of largest magnitude, q = nearest (ties to
// even), bsums filled. An all-zero block gets d = 0 and zero quants and sums.
void quantize_row_q8_K(const float* src, BlockQ8_K* dst, int64_t n);
void dequantize_row_q8_K(const BlockQ8_K* src, float* dst, int64_t n);

// ---- K-quant weights. Quantization searches each sub-block's scale (and min) as ggml's
// reference quantizers do without an importance matrix: the same bytes as llama-quantize.
void quantize_row_q4_K(const float* src, BlockQ4_K* dst, int64_t n);
void quantize_row_q5_K(const float* src, BlockQ5_K* dst, int64_t n);
void quantize_row_q6_K(const float* src, BlockQ6_K* dst, int64_t n);
void dequantize_row_q4_K(const BlockQ4_K* src, float* dst, int64_t n);
void dequantize_row_q5_K(const BlockQ5_K* src, float* dst, int64_t n);
void dequantize_row_q6_K(const BlockQ6_K* src, float* dst, int64_t n);

// ---- Q2_K / Q3_K (the low-bit K-quants) and IQ4_NL (a 4-bit non-linear grid): the
// searches of llama-quantize without an importance matrix, the same bytes.
void quantize_row_q2_K(const float* src, BlockQ2_K* dst, int64_t n);
void quantize_row_q3_K(const float* src, BlockQ3_K* dst, int64_t n);
void quantize_row_iq4_nl(const float* src, BlockIQ4_NL* dst, int64_t n);
void dequantize_row_q2_K(const BlockQ2_K* src, float* dst, int64_t n);
void dequantize_row_q3_K(const BlockQ3_K* src, float* dst, int64_t n);
void dequantize_row_iq4_nl(const BlockIQ4_NL* src, float* dst, int64_t n);

// ---- MXFP4: e = floor(log2(max|x|)) - 2 + 127 (clamped to 0..254), each element the
// nearest of the 16 codes at scale 2^(e - 128) (the first of equals), as ggml's
// quantize_row_mxfp4_ref: the same bytes.
void quantize_row_mxfp4(const float* src, BlockMXFP4* dst, int64_t n);
void dequantize_row_mxfp4(const BlockMXFP4* src, float* dst, int64_t n);

// The signed 6-bit scale (-32..31) of sub-block s (0..15) of a Q3_K super-block.
int q3_k_scale(const uint8_t* scales, int s);

// The 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes of Q4_K / Q5_K.
void unpack_k_scale_min(const uint8_t* scales, int j, uint8_t* sc, uint8_t* m);

// ---- Any type, by GgmlType. Types without a converter are an invariant violation:
// check can_dequantize / can_quantize first (the GGUF loader does).
bool can_dequantize(GgmlType type);
bool can_quantize(GgmlType type);
void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n);
void quantize_row(GgmlType type, const float* src, void* dst, int64_t n);

}  // namespace mx
