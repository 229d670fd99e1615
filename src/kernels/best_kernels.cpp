// Chooses the kernels once at start-up: the scalar table, then each instruction set the
// CPU has installs its slots over it, narrowest first.
#include "kernels/kernel_table.h"

#if defined(__x86_64__) || defined(_M_X64)
#include "kernels/x86/install.h"
#endif

namespace mx {

KernelTable best_kernels(const CpuFeatures& cpu) {
  KernelTable t = reference_kernels();
#if defined(__x86_64__) || defined(_M_X64)
  if (cpu.avx2) {
    x86::install_avx2_float(t.by_type.data());
    x86::install_avx2_q8(t.by_type.data());
    x86::install_avx2_kquants(t.by_type.data());
    x86::install_avx2_packed(t.by_type.data());
    x86::install_avx2_kquants_packed(t.by_type.data());
    x86::install_avx2_attention(&t.attend);
    x86::install_avx2_activations(&t.silu_mul);
    t.isa = "avx2";
  }
  if (cpu.avx512) {
    x86::install_avx512_float(t.by_type.data());
    x86::install_avx512_attention(&t.attend);
    x86::install_avx512_activations(&t.silu_mul);
    t.isa = "avx512";
  }
  if (cpu.avx512_vnni) {
    x86::install_avx512_vnni(t.by_type.data());
    x86::install_avx512_kquants(t.by_type.data());
    x86::install_avx512_kquants_packed(t.by_type.data());
    t.isa = "avx512-vnni";
  }
  if (cpu.avx512_bf16) {
    x86::install_avx512_bf16(t.by_type.data());
    t.isa = cpu.avx512_vnni ? "avx512-vnni-bf16" : "avx512-bf16";
  }
  if (cpu.amx_int8) {  // implies VNNI, whose kernels it takes over for many tokens
    x86::install_avx512_amx(t.by_type.data());
    t.isa = cpu.avx512_bf16 ? "avx512-vnni-bf16-amx" : "avx512-vnni-amx";
  }
#else
  (void)cpu;
#endif
  return t;
}

}  // namespace mx
