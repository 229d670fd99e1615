// AVX-512 attention: the shared online-softmax kernel (attention_blocks.h), 16 floats a
// step; head dims that are a multiple of 8 but not of 16 (stories260K's 8) take the
// 8-float instantiation rather than the reference.
#if defined(__x86_64__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "kernels/x86/attention_blocks.h"
#include "kernels/x86/avx2_math.h"
#include "kernels/x86/avx512_math.h"
#include "kernels/x86/install.h"

namespace mx::x86 {
namespace {

void attend_avx512(const AttentionArgs& a) {
  if (!attend_blocks_with<Avx512Floats>(a) && !attend_blocks_with<Avx2Floats>(a)) attend_reference(a);
}

}  // namespace

void install_avx512_attention(AttendFn* slot) { *slot = &attend_avx512; }

}  // namespace mx::x86
#endif
