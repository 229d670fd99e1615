// AVX-512 attention: the shared online-softmax kernel (attention_blocks.h), 16 floats a step.
#if defined(__x86_64__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "kernels/x86/attention_blocks.h"
#include "kernels/x86/avx512_math.h"
#include "kernels/x86/install.h"

namespace mx::x86 {

void install_avx512_attention(AttendFn* slot) { *slot = &attend_blocks<Avx512Floats>; }

}  // namespace mx::x86
#endif
