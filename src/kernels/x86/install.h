// Installers of the x86 SIMD paths: each overwrites the table slots its instruction set
// does better. Defined in the avx2_* / avx512_* files, which alone get those ISA flags;
// call one only when CpuFeatures says the CPU has it. They take the slots as a plain
// array (KernelTable::by_type.data()) so those files instantiate no inline library code:
// an out-of-line copy compiled with AVX-512 flags could be the one the linker keeps.
#pragma once

#include "kernels/attention.h"
#include "kernels/kernel_table.h"

namespace mx::x86 {

void install_avx2_float(TypeKernels* slots);    // F32, F16 (F16C), BF16: dots, gemm, conversions
void install_avx2_q8(TypeKernels* slots);       // Q8_0, Q4_0, IQ4_NL, MXFP4 with maddubs; Q8_0 quantization
void install_avx2_kquants(TypeKernels* slots);  // Q2_K, Q3_K, Q4_K, Q5_K, Q6_K dots with maddubs
void install_avx2_packed(TypeKernels* slots);   // packed Q4_0, IQ4_NL, Q8_0, Q5_0 with maddubs
void install_avx2_kquants_packed(TypeKernels* slots);  // packed Q4_K, Q5_K, Q6_K with maddubs
void install_avx2_attention(AttendFn* slot);    // grouped heads, online softmax over key blocks
void install_avx2_activations(SiluMulFn* slot);  // SiLU-gated products
void install_avx512_float(TypeKernels* slots);  // AVX-512 F/BW/VL/DQ: F32, F16, BF16 (emulated)
void install_avx512_bf16(TypeKernels* slots);   // BF16 dots with vdpbf16ps
void install_avx512_vnni(TypeKernels* slots);   // Q8_0, Q4_0, IQ4_NL, MXFP4 with vpdpbusd; Q8_0 quantization
void install_avx512_kquants(TypeKernels* slots);  // Q2_K..Q6_K, 64 bytes a step (needs VNNI)
void install_avx512_kquants_packed(TypeKernels* slots);  // packed Q4_K, Q5_K, Q6_K (needs VNNI)
void install_avx512_amx(TypeKernels* slots);    // packed Q8_0, Q5_0, Q4_0 prefill with AMX-INT8 (after VNNI)
void install_avx512_attention(AttendFn* slot);    // grouped heads, online softmax over key blocks
void install_avx512_activations(SiluMulFn* slot);  // SiLU-gated products

}  // namespace mx::x86
