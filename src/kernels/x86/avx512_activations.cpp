// AVX-512 gated activations: the shared SiLU(gate) · up (vector_math.h), 16 floats a step.
#if defined(__x86_64__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "kernels/x86/avx512_math.h"
#include "kernels/x86/install.h"

namespace mx::x86 {

void install_avx512_activations(SiluMulFn* slot) { *slot = &silu_mul<Avx512Floats>; }

}  // namespace mx::x86
#endif
