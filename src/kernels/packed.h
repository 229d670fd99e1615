// Interleaved ("packed") weight rows: Q8_0, Q5_0, Q4_0, IQ4_NL and MXFP4 matrices rearranged once
// at load so the VNNI kernels read registers straight from memory instead of transposing
// blocks on every pass (the idea behind ggml's repacked Q4_0 8x8 and ik_llama.cpp's interleaved rows).
//
// Rows go in groups of 16 (the last group padded with zero rows). Group g, block b is
// one record at g * group_bytes + b * record_bytes:
//   32 bytes   fp16 scale d of each of the 16 rows (0 for padding rows)
//   then per dword k of the block's quants (4 for Q4_0, 8 for Q8_0), 64 bytes:
//              lane i (4 bytes) = quant bytes 4k..4k+3 of row i
// Q8_0 quants are stored biased (q + 128, as unsigned bytes), and so are Q5_0's (q - 16
// as int8: Q5_0 takes the Q8_0 layout and kernels); Q4_0 bytes are as in GGUF
// (element j in the low nibble, j + 16 in the high one), and so are IQ4_NL's grid indices
// (its kernels map them to grid values in registers), and MXFP4's, whose E8M0 scale
// 2^(e - 128) goes into the fp16 slot: exact for e in 104..143 (2^-24 .. 2^15), which
// packs_exactly checks, so a matrix with a scale outside stays unpacked. So one 64-byte load is one
// register of 16 rows' worth of a dword, which vpdpbusd takes as it is.
//
// Each (row, token) output is still one block-ordered float sum of exact integer block
// dots, so packed and unpacked results agree to float rounding, and a row's result does
// not depend on how many tokens share the call.
#pragma once

#include <cstddef>
#include <cstdint>

#include "quant/types.h"

namespace mx {

inline constexpr int kPackRows = 16;

// Q8_0, Q5_0, Q4_0, IQ4_NL, MXFP4, Q4_K, Q5_K, Q6_K, and F16 in records of 32 elements of the 16
// rows (element k of the 16 rows at bytes 32k .. 32k + 31; rows a multiple of 32 long).
bool packable(GgmlType type);
// Whether these rows' packed form computes exactly their products (MXFP4: every block's
// scale fits the fp16 slot; F16: rows a multiple of 32 long; every other packable type: always).
bool packs_exactly(GgmlType type, const uint8_t* w, size_t w_stride, int64_t rows, int64_t cols);
size_t packed_record_bytes(GgmlType type);                    // one block of 16 rows
size_t packed_group_bytes(GgmlType type, int64_t cols);       // all blocks of 16 rows
size_t packed_size(GgmlType type, int64_t rows, int64_t cols);  // whole matrix, padded

// Rearranges `rows` rows (w_stride bytes apart) of `cols` elements into `dst`
// (packed_size bytes).
void pack_rows(GgmlType type, const uint8_t* w, size_t w_stride, int64_t rows, int64_t cols, uint8_t* dst);

// The scalar definition of a product with packed weights: the same contract as
// TypeKernels::gemm, with `w` the packed data starting at a group and n_rows the rows to
// compute from there (the last group may be partial).
void gemm_packed_reference(GgmlType type, int64_t n, const uint8_t* w, int64_t n_rows,
                           const uint8_t* x, size_t x_stride, int64_t n_tok, float* y, size_t y_stride);

}  // namespace mx
