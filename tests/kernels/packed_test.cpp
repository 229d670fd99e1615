// Packed weights (kernels/packed.h): packing loses nothing (the reference product on packed
// rows equals the plain reference bit for bit), the SIMD product matches it for every
// row count (partial groups), token count and row length, and a token's result does not
// depend on how many tokens share the call.
#include "kernels/packed.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/aligned_buffer.h"
#include "core/cpu_features.h"
#include "kernels/isa_tables.h"
#include "kernels/kernel_table.h"
#include "quant/blocks.h"
#include "quant/fp16.h"
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

// Q5_K or Q6_K rows of random bytes: every quant value (so every pattern of the bits
// above the nibbles), every scale (Q6_K's int8 -128 included) and Q5_K min; d (and dmin)
// vary but stay small and finite.
std::vector<uint8_t> random_kquant_bytes(GgmlType type, int64_t n, int64_t rows, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> out(row_size(type, n) * rows);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  const size_t block = row_size(type, kQK_K);
  for (size_t at = 0; at < out.size(); at += block)
    for (size_t field : type == kQ6_K ? std::vector<size_t>{offsetof(BlockQ6_K, d)}
                                      : std::vector<size_t>{offsetof(BlockQ5_K, d), offsetof(BlockQ5_K, dmin)}) {
      const uint16_t d = fp32_to_fp16(std::ldexp(1.0f + static_cast<float>(rng() % 1024) / 1024, -12));
      std::memcpy(&out[at + field], &d, sizeof(d));
    }
  return out;
}

// Q8_K rows with uniform quants in -128..127 (the quantizer never gives -128, but the
// kernels' integer headroom is meant to hold it) and their true group sums.
std::vector<uint8_t> random_q8k_rows(int64_t n, int64_t rows, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<BlockQ8_K> blocks(static_cast<size_t>(n / kQK_K * rows));
  for (auto& b : blocks) {
    b.d = std::ldexp(1.0f + static_cast<float>(rng() % 1024) / 1024, -7);
    for (int g = 0; g < kQK_K / 16; ++g) {
      b.bsums[g] = 0;
      for (int k = 16 * g; k < 16 * g + 16; ++k) b.bsums[g] = static_cast<int16_t>(b.bsums[g] + (b.qs[k] = static_cast<int8_t>(rng())));
    }
  }
  std::vector<uint8_t> out(blocks.size() * sizeof(BlockQ8_K));
  std::memcpy(out.data(), blocks.data(), out.size());
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
  EXPECT_EQ(packed_record_bytes(kQ6_K), 16u * 210u);  // 6 bits a quant, as in GGUF
  EXPECT_EQ(packed_size(kQ6_K, 20, 256), 2u * 3360u);
  EXPECT_EQ(packed_record_bytes(kMXFP4), 16u * 18u);  // the E8M0 byte becomes an fp16 scale
  EXPECT_EQ(packed_record_bytes(kQ5_K), 16u * 180u);  // Q4_K's and a bit a quant more
  EXPECT_FALSE(packable(kQ3_K));
}

// MXFP4 packs only where its scales fit fp16 exactly: 2^(e - 128) for e in 104..143.
TEST(Packed, Mxfp4PacksExactlyOnlyWhenEveryScaleFitsFp16) {
  auto w = random_rows(kMXFP4, 64, 3, 9);
  EXPECT_TRUE(packs_exactly(kMXFP4, w.data(), row_size(kMXFP4, 64), 3, 64));
  for (const auto& [e, fits] : {std::pair{104, true}, {143, true}, {103, false}, {144, false}, {0, false}}) {
    auto edited = w;
    edited[row_size(kMXFP4, 64) * 2 + sizeof(BlockMXFP4)] = static_cast<uint8_t>(e);  // row 2, block 1
    EXPECT_EQ(packs_exactly(kMXFP4, edited.data(), row_size(kMXFP4, 64), 3, 64), fits) << "e = " << e;
  }
  EXPECT_TRUE(packs_exactly(kQ4_0, w.data(), 0, 0, 0));  // other types always
}

TEST(Packed, ReferenceOnPackedRowsEqualsThePlainReference) {
  const KernelTable ref = reference_kernels();
  for (GgmlType type : {kQ8_0, kQ5_0, kQ4_0, kIQ4_NL, kMXFP4, kQ4_K, kQ5_K, kQ6_K, kF16})
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

// The same with every Q5_K / Q6_K quant value: a bit of the planes above the nibbles read
// from the wrong place would change the sums.
TEST(Packed, KQuantReferenceKeepsEveryQuantValue) {
  const KernelTable ref = reference_kernels();
  for (GgmlType type : {kQ5_K, kQ6_K})
    for (int64_t rows : {1, 16, 19, 33}) {
      const int64_t n = 768, n_tok = 3;
      const auto w = random_kquant_bytes(type, n, rows, 7);
      const auto x = random_q8k_rows(n, n_tok, 8);
      const AlignedBuffer p = pack(type, w, rows, n);
      std::vector<float> want(rows * n_tok), got(rows * n_tok);
      ref[type].gemm(n, w.data(), row_size(type, n), rows, x.data(), row_size(kQ8_K, n), n_tok, want.data(), rows);
      gemm_packed_reference(type, n, p.data(), rows, x.data(), row_size(kQ8_K, n), n_tok, got.data(), rows);
      EXPECT_EQ(got, want) << type_name(type) << " rows " << rows;
    }
}

class PackedSimd : public ::testing::TestWithParam<const char*> {};

TEST_P(PackedSimd, MatchesReferenceAndIsBatchInvariant) {
  if (!cpu_has(GetParam())) GTEST_SKIP() << GetParam() << " not on this CPU";
  const KernelTable best = table_for(GetParam());
  int checked = 0;
  for (GgmlType type : {kQ8_0, kQ5_0, kQ4_0, kIQ4_NL, kMXFP4, kQ4_K, kQ5_K, kQ6_K, kF16}) {
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
  for (GgmlType type : {kQ8_0, kQ5_0, kQ4_0, kIQ4_NL, kMXFP4, kQ4_K, kQ5_K, kQ6_K, kF16}) {
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

// Q5_K's and Q6_K's quants (low nibbles and planes of the bits above) with every quant
// value, scale and activation byte: equal to the reference bit for bit, for one token, a
// few, and prefill-sized batches (Q6_K records unpacked a few at a time: 11 super-blocks
// end in a partial run of them).
TEST_P(PackedSimd, KQuantEveryQuantValueMatchesTheReference) {
  if (!cpu_has(GetParam())) GTEST_SKIP() << GetParam() << " not on this CPU";
  const KernelTable best = table_for(GetParam());
  int checked = 0;
  for (GgmlType type : {kQ5_K, kQ6_K}) {
    if (!best[type].gemm_packed) continue;
    const int64_t max_tok = 67;
    for (auto [rows, n] : {std::pair<int64_t, int64_t>{16, 2816}, {71, 2816}, {150, 2816}, {2048, 256}}) {
      const size_t xs = row_size(kQ8_K, n);
      const auto w = random_kquant_bytes(type, n, rows, 9);
      const auto x = random_q8k_rows(n, max_tok, 10);
      const AlignedBuffer p = pack(type, w, rows, n);
      std::vector<float> want(rows * max_tok);
      gemm_packed_reference(type, n, p.data(), rows, x.data(), xs, max_tok, want.data(), rows);
      for (int64_t n_tok : {1, 2, 3, 4, 5, 6, 7, 8, 9, 64, 67}) {
        std::vector<float> got(rows * n_tok);
        best[type].gemm_packed(n, p.data(), rows, x.data(), xs, n_tok, got.data(), rows);
        for (int64_t i = 0; i < rows * n_tok; ++i)
          ASSERT_EQ(got[i], want[i]) << type_name(type) << " n " << n << " rows " << rows << " tokens " << n_tok
                                     << " token " << i / rows << " row " << i % rows;
      }
    }
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "no packed Q5_K or Q6_K kernel on this CPU";
}

// The largest sums the kernels' integers must hold exactly: every quant at its maximum
// (Q6_K's scales at -128, Q4_K's and Q5_K's scales and mins at 63) against activations
// all -128, then all 127. Random data stays far below these.
TEST_P(PackedSimd, KQuantExtremesMatchTheReference) {
  if (!cpu_has(GetParam())) GTEST_SKIP() << GetParam() << " not on this CPU";
  const KernelTable best = table_for(GetParam());
  int checked = 0;
  for (GgmlType type : {kQ4_K, kQ5_K, kQ6_K}) {
    if (!best[type].gemm_packed) continue;
    const int64_t n = 512, rows = 16, n_tok = 2;
    auto w = random_kquant_bytes(type, n, rows, 11);  // for its d and dmin
    const size_t block = row_size(type, kQK_K);
    for (size_t at = 0; at < w.size(); at += block)
      if (type == kQ6_K) {  // ql, qh, then the scales
        std::memset(&w[at], 0xff, offsetof(BlockQ6_K, scales));
        std::memset(&w[at + offsetof(BlockQ6_K, scales)], 0x80, sizeof(BlockQ6_K::scales));
      } else {  // scales and mins, (qh,) qs
        std::memset(&w[at + offsetof(BlockQ4_K, scales)], 0xff, block - offsetof(BlockQ4_K, scales));
      }
    std::vector<BlockQ8_K> xb(static_cast<size_t>(n / kQK_K * n_tok));
    for (size_t i = 0; i < xb.size(); ++i) {
      const int8_t q = i < xb.size() / 2 ? -128 : 127;
      xb[i].d = 1.0f / 128;
      std::memset(xb[i].qs, static_cast<uint8_t>(q), sizeof(xb[i].qs));
      for (auto& b : xb[i].bsums) b = static_cast<int16_t>(16 * q);
    }
    const size_t xs = row_size(kQ8_K, n);
    const AlignedBuffer p = pack(type, w, rows, n);
    std::vector<float> want(rows * n_tok), got(rows * n_tok);
    gemm_packed_reference(type, n, p.data(), rows, reinterpret_cast<const uint8_t*>(xb.data()), xs, n_tok, want.data(),
                          rows);
    best[type].gemm_packed(n, p.data(), rows, xb.data(), xs, n_tok, got.data(), rows);
    EXPECT_EQ(got, want) << type_name(type);
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "no packed K-quant kernels on this CPU";
}

// Each instruction set's packed kernels on their own: the AVX2 ones are overridden where
// AVX-512 VNNI exists, and VNNI's where AMX does, and must still be checked there.
INSTANTIATE_TEST_SUITE_P(Isa, PackedSimd, ::testing::Values("avx2", "avx512-vnni", "avx512-amx", "native"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace mx
