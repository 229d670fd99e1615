// AVX2 gated activations: the shared SiLU(gate) · up (vector_math.h), 8 floats a step.
#if defined(__x86_64__)
#include "kernels/x86/avx2_math.h"
#include "kernels/x86/install.h"

namespace mx::x86 {

void install_avx2_activations(SiluMulFn* slot) { *slot = &silu_mul<Avx2Floats>; }

}  // namespace mx::x86
#endif
