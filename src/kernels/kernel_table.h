// The hot loops, one slot per (operation × weight type). The scalar reference fills
// every slot; SIMD paths overwrite the slots they do better, chosen once at start-up.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "core/cpu_features.h"
#include "kernels/attention.h"
#include "quant/types.h"

namespace mx {

using SiluMulFn = void (*)(const float* gate, const float* up, float* out, int64_t n);

// Kernels for weights of one storage type.
struct TypeKernels {
  // Activations are converted to this type before the dot product (as the reference
  // engine does: F16 weights dot F16 activations, Q4_0/Q8_0 weights dot Q8_0 blocks).
  GgmlType vec_dot_type = GgmlType::kF32;
  // Row conversions; n is a multiple of the block size.
  void (*to_float)(const void* src, float* dst, int64_t n) = nullptr;
  void (*from_float)(const float* src, void* dst, int64_t n) = nullptr;
  // *out = sum_i w[i] * x[i], w a row of this type, x a row of vec_dot_type.
  void (*vec_dot)(int64_t n, const void* w, const void* x, float* out) = nullptr;
  // Register-tiled product: y[t * y_stride + r] = dot(w row r, x row t) for r < n_rows, t < n_tok.
  // Rows are w_stride bytes apart, activation rows x_stride bytes apart.
  void (*gemm)(int64_t n, const void* w, size_t w_stride, int64_t n_rows, const void* x,
               size_t x_stride, int64_t n_tok, float* y, size_t y_stride) = nullptr;
  // The same product with weights packed as kernels/packed.h lays them out; `w` starts at
  // a group of 16 rows. Set only where the instruction set gains from packing: the model
  // then packs such weights once at load.
  void (*gemm_packed)(int64_t n, const void* w, int64_t n_rows, const void* x, size_t x_stride,
                      int64_t n_tok, float* y, size_t y_stride) = nullptr;
};

struct KernelTable {
  std::array<TypeKernels, 40> by_type{};  // indexed by the GgmlType number
  AttendFn attend = nullptr;              // grouped-query attention over cached keys
  SiluMulFn silu_mul = nullptr;           // out = SiLU(gate) · up, elementwise
  const char* isa = "scalar";             // the best instruction set installed

  const TypeKernels& operator[](GgmlType t) const { return by_type[static_cast<size_t>(t)]; }
  TypeKernels& operator[](GgmlType t) { return by_type[static_cast<size_t>(t)]; }
  bool supports(GgmlType t) const { return (*this)[t].vec_dot != nullptr; }
};

// The scalar reference table: readable, the ground truth every SIMD path is tested against.
KernelTable reference_kernels();
// The best table this CPU runs: the reference with SIMD slots installed per feature.
KernelTable best_kernels(const CpuFeatures& cpu);

}  // namespace mx
