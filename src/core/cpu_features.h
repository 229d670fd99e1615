// Instruction sets this CPU offers, read once at start-up (CPUID + XGETBV).
#pragma once

#include <string>

namespace mx {

struct CpuFeatures {
  bool avx2 = false;  // with FMA and F16C
  bool avx512 = false;  // F + BW + VL + DQ
  bool avx512_vnni = false;
  bool avx512_bf16 = false;
  // AMX-TILE + AMX-INT8, usable: the CPU has them, the OS saves the tile state, and Linux
  // granted this process the tile data (ARCH_REQ_XCOMP_PERM; without it tile
  // instructions fault).
  bool amx_int8 = false;

  static CpuFeatures detect();
  // Pretends fewer features than present (MOXING_ISA=scalar|avx2|avx512|avx512-vnni;
  // avx512-amx or anything else: all of them), for tests and A/B runs.
  CpuFeatures limited_to(const std::string& isa) const;
  std::string describe() const;
};

}  // namespace mx
