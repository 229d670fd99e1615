// The AVX-512 VNNI products of packed weights (avx512_q8.cpp), the contract of
// TypeKernels::gemm_packed: what the AMX path (avx512_amx.cpp) runs for calls with too
// few tokens to fill its tiles, and what its results must equal bit for bit.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mx::x86 {

// Q8_0 layout (Q8_0 and Q5_0 weights) and Q4_0 layout, against Q8_0 activations.
void gemm_packed_q8_0_vnni(int64_t n, const void* w, int64_t n_rows, const void* x, size_t x_stride,
                           int64_t n_tok, float* y, size_t y_stride);
void gemm_packed_q4_0_vnni(int64_t n, const void* w, int64_t n_rows, const void* x, size_t x_stride,
                           int64_t n_tok, float* y, size_t y_stride);

}  // namespace mx::x86
