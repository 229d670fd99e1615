// The SIMD gated activation against the scalar reference, over the range activations take
// and beyond (saturation on both sides), with lengths that leave a masked tail.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "kernels/isa_tables.h"
#include "kernels/kernel_table.h"
#include "kernels/ops.h"

namespace mx {
namespace {

class ActivationsSimd : public ::testing::TestWithParam<const char*> {};

TEST_P(ActivationsSimd, SiluMulMatchesReference) {
  if (!cpu_has(GetParam())) GTEST_SKIP() << GetParam() << " not on this CPU";
  const KernelTable best = table_for(GetParam());
  ASSERT_NE(best.silu_mul, &ops::silu_mul) << "no SIMD activation for " << GetParam();
  const KernelTable ref = reference_kernels();
  EXPECT_EQ(ref.silu_mul, &ops::silu_mul);
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 4.0f);
  for (int64_t n : {1, 15, 16, 17, 100, 4864}) {
    std::vector<float> gate(n), up(n), want(n), got(n);
    for (int64_t i = 0; i < n; ++i) {
      gate[i] = normal(rng);
      up[i] = normal(rng);
    }
    if (n >= 4) gate[0] = -200.0f, gate[1] = 200.0f, gate[2] = 0.0f, gate[3] = -88.5f;
    ref.silu_mul(gate.data(), up.data(), want.data(), n);
    best.silu_mul(gate.data(), up.data(), got.data(), n);
    for (int64_t i = 0; i < n; ++i)
      ASSERT_NEAR(got[i], want[i], 1e-6f * (1.0f + std::fabs(want[i]))) << "n " << n << " i " << i << " gate " << gate[i];
  }
}

// An element's result does not depend on where it falls in a call (in the vector body or
// in the last n % width): a token's activations are the same whatever shares its batch.
TEST_P(ActivationsSimd, SiluMulElementsDoNotDependOnTheirPlace) {
  if (!cpu_has(GetParam())) GTEST_SKIP() << GetParam() << " not on this CPU";
  const KernelTable best = table_for(GetParam());
  std::mt19937 rng(4);
  std::normal_distribution<float> normal(0.0f, 4.0f);
  const int64_t n = 37;
  std::vector<float> gate(n), up(n), whole(n);
  for (int64_t i = 0; i < n; ++i) gate[i] = normal(rng), up[i] = normal(rng);
  best.silu_mul(gate.data(), up.data(), whole.data(), n);
  for (int64_t start = 1; start < n; ++start) {
    std::vector<float> part(n - start);
    best.silu_mul(gate.data() + start, up.data() + start, part.data(), n - start);
    for (int64_t i = start; i < n; ++i) ASSERT_EQ(part[i - start], whole[i]) << "from " << start << " element " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, ActivationsSimd, ::testing::Values("avx2", "avx512"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace mx
