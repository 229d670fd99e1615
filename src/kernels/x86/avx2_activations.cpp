// AVX2 gated activations: SiLU(gate) · up with a polynomial e^x (the reference calls
// libm's expf per element).
#if defined(__x86_64__)
#include <immintrin.h>

#include <cmath>

#include "kernels/x86/avx2_math.h"
#include "kernels/x86/install.h"

namespace mx::x86 {
namespace {

__m256 silu_times(__m256 g, __m256 u) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 sig = _mm256_div_ps(one, _mm256_add_ps(one, exp256(_mm256_sub_ps(_mm256_setzero_ps(), g))));
  return _mm256_mul_ps(_mm256_mul_ps(g, sig), u);
}

void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, silu_times(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
  for (; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

}  // namespace

void install_avx2_activations(SiluMulFn* slot) { *slot = &silu_mul; }

}  // namespace mx::x86
#endif
