// Packed weights (kernels/packed.h): packing loses nothing (the reference product on packed
// rows equals the plain reference bit for bit), the SIMD product matches it for every
// row count (partial groups), token count and row length, and a token's result does not
// depend on how many tokens share the call.
#include "kernels/packed.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/aligned_buffer.h"
#include "core/cpu_features.h"
#include "kernels/isa_tables.h"
#include "kernels/kernel_table.h"
#include "quant/quant.h"

namespace mx {
namespace {

using enum GgmlType;

std::vector<uint8_t> random_rows(GgmlType type, int64_t n, int64_t rows, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(n);
  std::vector<uint8_t> out(row_size(type, n) * rows);
  for (int64_t r = 0; r < rows; ++r) {
    for (float& v : x) v = dist(rng);
    quantize_row(type, x.data(), out.data() + r * row_size(type, n), n);
  }
  return out;
}

AlignedBuffer pack(GgmlType type, const std::vector<uint8_t>& w, int64_t rows, int64_t n) {
  AlignedBuffer p(packed_size(type, rows, n));
  pack_rows(type, w.data(), row_size(type, n), rows, n, p.data());
  return p;
}

TEST(Packed, Sizes) {
  EXPECT_EQ(packed_record_bytes(kQ4_0), 16u * 18u);
  EXPECT_EQ(packed_record_bytes(kQ8_0), 16u * 34u);
  EXPECT_EQ(packed_record_bytes(kQ5_0), 16u * 34u);  // as bytes, in the Q8_0 layout
  EXPECT_EQ(packed_size(kQ4_0, 16, 64), 2u * 288u);
  EXPECT_EQ(packed_size(kQ4_0, 17, 64), 4u * 288u);  // the second group is padded
  EXPECT_EQ(packed_size(kQ4_K, 16, 512), 2u * 2368u);
  EXPECT_EQ(packed_size(kQ6_K, 20, 256), 2u * 4384u);
  EXPECT_FALSE(packable(kQ5_K));
}

TEST(Packed, ReferenceOnPackedRowsEqualsThePlainReference) {
  const KernelTable ref = reference_kernels();
  for (GgmlType type : {kQ8_0, kQ5_0, kQ4_0, kIQ4_NL, kQ4_K, kQ6_K})
    for (int64_t rows : {1, 15, 16, 17, 33}) {
      const GgmlType xt = ref[type].vec_dot_type;
      const int64_t n = xt == kQ8_K ? 512 : 96, n_tok = 3;
      const auto w = random_rows(type, n, rows, 1);
      const auto x = random_rows(xt, n, n_tok, 2);
      const AlignedBuffer p = pack(type, w, rows, n);
      std::vector<float> want(rows * n_tok), got(rows * n_tok);
      ref[type].gemm(n, w.data(), row_size(type, n), rows, x.data(), row_size(xt, n), n_tok, want.data(), rows);
      gemm_packed_reference(type, n, p.data(), rows, x.data(), row_size(xt, n), n_tok, got.data(), rows);
      EXPECT_EQ(got, want) << type_name(type) << " rows " << rows;
    }
}

class PackedSimd : public ::testing::TestWithParam<const char*> {};

TEST_P(PackedSimd, MatchesReferenceAndIsBatchInvariant) {
  if (!cpu_has(GetParam())) GTEST_SKIP() << GetParam() << " not on this CPU";
  const KernelTable best = table_for(GetParam());
  int checked = 0;
  for (GgmlType type : {kQ8_0, kQ5_0, kQ4_0, kIQ4_NL, kQ4_K, kQ6_K}) {
    if (!best[type].gemm_packed) continue;
    const GgmlType xt = best[type].vec_dot_type;
    // 8192 + 256: more blocks than the kernels' per-call tables keep on the stack.
    for (int64_t n : {32, 96, 512, 2048 + 32, 4864, 8192 + 256})
      for (int64_t rows : {1, 16, 23, 48, 71, 150}) {  // 48, 71, 150: decode tiles of 3 and 4 groups, then the rest
        if (n % traits(type).block_size != 0) continue;
        const int64_t max_tok = 11;
        const size_t xs = row_size(xt, n);
        const auto w = random_rows(type, n, rows, 3);
        const auto x = random_rows(xt, n, max_tok, 4);
        const AlignedBuffer p = pack(type, w, rows, n);
        std::vector<float> want(rows * max_tok), all(rows * max_tok);
        gemm_packed_reference(type, n, p.data(), rows, x.data(), xs, max_tok, want.data(), rows);
        best[type].gemm_packed(n, p.data(), rows, x.data(), xs, max_tok, all.data(), rows);
        for (size_t i = 0; i < want.size(); ++i)
          // K-quants sum exact integers in the reference's float order: equal bit for bit.
          ASSERT_NEAR(all[i], want[i], xt == kQ8_K ? 0.0 : 1e-4 * (1 + std::fabs(want[i])))
              << type_name(type) << " n " << n << " rows " << rows << " at " << i;
        // Any number of tokens per call gives each token exactly the same result.
        for (int64_t n_tok = 1; n_tok <= max_tok; ++n_tok) {
          std::vector<float> some(rows * n_tok);
          best[type].gemm_packed(n, p.data(), rows, x.data(), xs, n_tok, some.data(), rows);
          for (int64_t i = 0; i < rows * n_tok; ++i)
            ASSERT_EQ(some[i], all[i]) << type_name(type) << " n " << n << " rows " << rows << " tokens " << n_tok;
        }
        ++checked;
      }
  }
  if (checked == 0) GTEST_SKIP() << "no packed kernels on this CPU";
}

// Prefill-sized batches: paths that take tokens in register tiles (a full tile at a time,
// then the rest) give every token what it gets alone, bit for bit, and match the reference.
TEST_P(PackedSimd, ManyTokensGiveEachTokenItsOwnResult) {
  if (!cpu_has(GetParam())) GTEST_SKIP() << GetParam() << " not on this CPU";
  const KernelTable best = table_for(GetParam());
  int checked = 0;
  for (GgmlType type : {kQ8_0, kQ5_0, kQ4_0, kIQ4_NL, kQ4_K, kQ6_K}) {
    if (!best[type].gemm_packed) continue;
    const GgmlType xt = best[type].vec_dot_type;
    for (int64_t n : {256, 32 * 70})  // 70 blocks: more than one pass over the blocks
      for (int64_t rows : {16, 40, 150}) {
        if (n % traits(type).block_size != 0) continue;
        const size_t xs = row_size(xt, n);
        const auto w = random_rows(type, n, rows, 5);
        const AlignedBuffer p = pack(type, w, rows, n);
        for (int64_t n_tok : {16, 37, 64, 80}) {  // whole tiles of tokens, and leftovers
          const auto x = random_rows(xt, n, n_tok, 6);
          std::vector<float> batch(rows * n_tok), want(rows * n_tok), alone(rows);
          best[type].gemm_packed(n, p.data(), rows, x.data(), xs, n_tok, batch.data(), rows);
          gemm_packed_reference(type, n, p.data(), rows, x.data(), xs, n_tok, want.data(), rows);
          for (int64_t t = 0; t < n_tok; ++t) {
            best[type].gemm_packed(n, p.data(), rows, x.data() + t * xs, xs, 1, alone.data(), rows);
            for (int64_t r = 0; r < rows; ++r) {
              const float got = batch[t * rows + r];
              ASSERT_EQ(got, alone[r]) << type_name(type) << " n " << n << " rows " << rows << " tokens " << n_tok
                                       << " token " << t << " row " << r;
              ASSERT_NEAR(got, want[t * rows + r], xt == kQ8_K ? 0.0 : 1e-4 * (1 + std::fabs(want[t * rows + r])));
            }
          }
        }
        ++checked;
      }
  }
  if (checked == 0) GTEST_SKIP() << "no packed kernels on this CPU";
}

// Each instruction set's packed kernels on their own: the AVX2 ones are overridden where
// AVX-512 VNNI exists, and must still be checked there.
INSTANTIATE_TEST_SUITE_P(Isa, PackedSimd, ::testing::Values("avx2", "native"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace mx
