// AVX2 attention: the shared online-softmax kernel (attention_blocks.h), 8 floats a step.
#if defined(__x86_64__)
#include "kernels/x86/attention_blocks.h"
#include "kernels/x86/avx2_math.h"
#include "kernels/x86/install.h"

namespace mx::x86 {
namespace {

void attend_avx2(const AttentionArgs& a) {
  if (!attend_blocks_with<Avx2Floats>(a)) attend_reference(a);
}

}  // namespace

void install_avx2_attention(AttendFn* slot) { *slot = &attend_avx2; }

}  // namespace mx::x86
#endif
