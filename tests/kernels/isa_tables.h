// The kernel table of each instruction set, for tests that check every SIMD path against
// the reference: a path the best table overrides (AVX2 under AVX-512) is still tested.
#pragma once

#include <string>

#include "core/cpu_features.h"
#include "kernels/kernel_table.h"

namespace mx {

// Whether this CPU runs `isa` ("scalar", "avx2", "avx512", "avx512-vnni", "avx512-amx" or
// "native": what it has).
inline bool cpu_has(const std::string& isa) {
  const CpuFeatures cpu = CpuFeatures::detect();
  if (isa == "avx2") return cpu.avx2;
  if (isa == "avx512") return cpu.avx512;
  if (isa == "avx512-vnni") return cpu.avx512_vnni;
  if (isa == "avx512-amx") return cpu.amx_int8;
  return true;
}

inline KernelTable table_for(const std::string& isa) {
  const CpuFeatures cpu = CpuFeatures::detect();
  return best_kernels(isa == "native" ? cpu : cpu.limited_to(isa));
}

}  // namespace mx
