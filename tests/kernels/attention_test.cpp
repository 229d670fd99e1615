// The SIMD attention against the scalar reference: grouped heads, every head size the
// models use (and ones the SIMD path hands back to the reference), short and long key
// runs across block boundaries, soft-capping, scores large enough to need the
// running-max rescale, attention sinks (gpt-oss), keys scattered over shuffled pages as
// the KV cache keeps them, every cache type for keys and values, and runs split into
// parts that merge_attention_parts() puts back together.
#include "kernels/attention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "kernels/isa_tables.h"
#include "kernels/kernel_table.h"
#include "quant/quant.h"

namespace mx {
namespace {

struct Case {
  int64_t n_q, head_dim, n_keys;
  float softcap;
  float q_scale;  // larger queries give peakier softmaxes
  std::vector<float> sinks = {};  // one per query head, or none
  GgmlType k_type = GgmlType::kF32, v_type = GgmlType::kF32;
};

// Keys and values of one call, stored as the cache stores them (rows of `type`, each row
// holding other heads too), either one contiguous run or scattered over pages in
// shuffled order (as a KV cache's page table leaves them), starting at `first`.
struct StoredRows {
  GgmlType type = GgmlType::kF32;
  int64_t row_bytes = 0;
  std::vector<uint8_t> bytes;
};
struct KeyLayout {
  StoredRows k, v;
  std::vector<int32_t> pages;
  int64_t page_tokens = 0, first = 0;
};

// Rows of `width` floats (a multiple of the type's block) stored as `type`.
StoredRows store(const std::vector<float>& rows, int64_t width, GgmlType type) {
  StoredRows s{.type = type, .row_bytes = static_cast<int64_t>(row_size(type, width))};
  const auto n = static_cast<int64_t>(rows.size()) / width;
  s.bytes.resize(static_cast<size_t>(n * s.row_bytes));
  for (int64_t j = 0; j < n; ++j) quantize_row(type, rows.data() + j * width, s.bytes.data() + j * s.row_bytes, width);
  return s;
}

KeyLayout contiguous(StoredRows k, StoredRows v, int64_t n_keys) {
  return {.k = std::move(k), .v = std::move(v), .pages = {0}, .page_tokens = n_keys, .first = 0};
}

StoredRows scatter(const StoredRows& flat, const std::vector<int32_t>& pages, int64_t n_keys, int64_t page_tokens,
                   int64_t first) {
  // Unused slots are poison: 0xFF bytes are NaN in every type (the F16 scale of a block too).
  StoredRows out{.type = flat.type, .row_bytes = flat.row_bytes,
                 .bytes = std::vector<uint8_t>(pages.size() * page_tokens * flat.row_bytes, 0xFF)};
  for (int64_t j = 0; j < n_keys; ++j) {
    const int64_t p = first + j, row = pages[static_cast<size_t>(p / page_tokens)] * page_tokens + p % page_tokens;
    std::copy_n(flat.bytes.begin() + j * flat.row_bytes, flat.row_bytes, out.bytes.begin() + row * flat.row_bytes);
  }
  return out;
}

KeyLayout paged(const KeyLayout& flat, int64_t n_keys, int64_t page_tokens, int64_t first, std::mt19937& rng) {
  KeyLayout out{.page_tokens = page_tokens, .first = first};
  out.pages.resize(static_cast<size_t>((first + n_keys + page_tokens - 1) / page_tokens));
  std::iota(out.pages.begin(), out.pages.end(), 0);
  std::shuffle(out.pages.begin(), out.pages.end(), rng);
  out.k = scatter(flat.k, out.pages, n_keys, page_tokens, first);
  out.v = scatter(flat.v, out.pages, n_keys, page_tokens, first);
  return out;
}

CachedRows rows_of(const StoredRows& s, int64_t page_tokens, const KernelTable& t) {
  return {.data = s.bytes.data(), .type = s.type, .stride = s.row_bytes, .page_stride = page_tokens * s.row_bytes,
          .to_float = t[s.type].to_float};
}

AttentionArgs args_for(const Case& c, const std::vector<float>& q, const KeyLayout& kv, const KernelTable& t) {
  return {.n_q = c.n_q, .head_dim_k = c.head_dim, .head_dim_v = c.head_dim, .q = q.data(),
          .k = rows_of(kv.k, kv.page_tokens, t), .v = rows_of(kv.v, kv.page_tokens, t), .pages = kv.pages.data(),
          .page_tokens = kv.page_tokens, .first = kv.first, .n_keys = c.n_keys,
          .scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim)), .softcap = c.softcap,
          .sinks = c.sinks.empty() ? nullptr : c.sinks.data()};
}

std::vector<float> run(AttendFn attend, AttentionArgs a) {
  std::vector<float> out(a.n_q * a.head_dim_v, -7.0f);  // must be overwritten
  std::vector<float> scratch(attention_scratch_floats(a.n_q, a.n_keys, a.head_dim_k, a.head_dim_v));
  a.out = out.data();
  a.scratch = scratch.data();
  attend(a);
  return out;
}

std::vector<float> run(AttendFn attend, const KernelTable& t, const Case& c, const std::vector<float>& q,
                       const KeyLayout& kv) {
  return run(attend, args_for(c, q, kv, t));
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(double(a[i]) - b[i]);
    if (std::isnan(d)) return INFINITY;  // read a poisoned slot
    m = std::max(m, d);
  }
  return m;
}

// Random queries, keys and values for a case; rows interleave heads as caches do.
struct CaseData {
  std::vector<float> q;
  KeyLayout flat;
};
CaseData make_case(const Case& c, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t k_width = c.head_dim * 3 + 32, v_width = c.head_dim * 2;  // this head, then others
  std::vector<float> q(c.n_q * c.head_dim), k(c.n_keys * k_width), v(c.n_keys * v_width);
  for (float& x : q) x = normal(rng) * c.q_scale;
  for (float& x : k) x = normal(rng);
  for (float& x : v) x = normal(rng);
  return {std::move(q), contiguous(store(k, k_width, c.k_type), store(v, v_width, c.v_type), c.n_keys)};
}

std::vector<Case> simd_cases() {
  std::vector<Case> cases;
  for (int64_t n_q : {1, 2, 4, 7, 8, 16, 17})
    for (int64_t dim : {8, 16, 64, 80, 128, 256})
      for (int64_t n_keys : {1, 5, 31, 32, 33, 100, 257})
        cases.push_back({n_q, dim, n_keys, 0.0f, 1.0f});
  cases.push_back({4, 128, 1500, 0.0f, 6.0f});  // peaky: the max moves between blocks
  cases.push_back({2, 256, 300, 50.0f, 8.0f});   // Gemma 2's soft-capping
  cases.push_back({8, 64, 2000, 0.0f, 0.1f});    // nearly uniform over many keys
  // Attention sinks: below, near and far above the scores (a sink that takes nearly all
  // the probability leaves a tiny output), with one key, across blocks, and peaky.
  for (int64_t n_keys : {1, 33, 300}) cases.push_back({8, 64, n_keys, 0.0f, 1.0f, {-3, -1, 0, 0.5f, 1, 2, 5, 20}});
  cases.push_back({4, 64, 1500, 0.0f, 6.0f, {-2, 0, 3, 9}});
  // Every cache type for keys and for values, alone and mixed.
  const GgmlType types[] = {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16, GgmlType::kQ8_0, GgmlType::kQ4_0};
  for (GgmlType kt : types)
    for (GgmlType vt : types)
      for (int64_t dim : {32, 64, 128})
        for (int64_t n_keys : {1, 33, 300}) cases.push_back({7, dim, n_keys, 0.0f, 2.0f, {}, kt, vt});
  cases.push_back({4, 64, 100, 0.0f, 1.0f, {}, GgmlType::kF16, GgmlType::kF16});  // 8-wide dims on F16
  cases.push_back({2, 8, 100, 0.0f, 1.0f, {}, GgmlType::kF16, GgmlType::kBF16});
  return cases;
}

std::string describe(const Case& c) {
  return testing::PrintToString(c.n_q) + " heads, dim " + std::to_string(c.head_dim) + ", " +
         std::to_string(c.n_keys) + " keys, softcap " + std::to_string(c.softcap) + ", q scale " +
         std::to_string(c.q_scale) + ", sinks " + std::to_string(c.sinks.size()) + ", " +
         std::string(type_name(c.k_type)) + "/" + std::string(type_name(c.v_type));
}

class AttentionSimd : public ::testing::TestWithParam<const char*> {};

TEST_P(AttentionSimd, MatchesReference) {
  if (!cpu_has(GetParam())) GTEST_SKIP() << GetParam() << " not on this CPU";
  const KernelTable best = table_for(GetParam()), reference = reference_kernels();
  ASSERT_NE(best.attend, &attend_reference) << "no SIMD attention for " << GetParam();
  std::mt19937 rng(5);
  for (const Case& c : simd_cases()) {
    SCOPED_TRACE(describe(c));
    const CaseData d = make_case(c, rng);
    const auto want = run(&attend_reference, reference, c, d.q, d.flat);
    // Outputs are convex combinations of N(0,1) values (stored in the same type for both):
    // float reordering and the polynomial exp leave errors near 1e-6.
    EXPECT_LT(max_abs_diff(want, run(best.attend, best, c, d.q, d.flat)), 2e-5);
    // The same keys on shuffled pages of the cache's size, and of a size that splits the
    // kernel's blocks of 32, starting mid-page as a sliding window does.
    for (const auto& [page_tokens, first] : {std::pair<int64_t, int64_t>{32, 0}, {32, 13}, {8, 5}}) {
      SCOPED_TRACE(testing::Message() << "pages of " << page_tokens << " from " << first);
      EXPECT_LT(max_abs_diff(want, run(best.attend, best, c, d.q, paged(d.flat, c.n_keys, page_tokens, first, rng))),
                2e-5);
    }
  }
}

// A run split into parts, each attended with `partial` and merged, equals the whole run
// (sinks applied once, at the merge).
void expect_split_matches_whole(AttendFn attend, const KernelTable& t) {
  std::mt19937 rng(11);
  for (const Case& c : {Case{4, 64, 1000, 0.0f, 3.0f, {-1, 0, 2, 8}, GgmlType::kF16, GgmlType::kF16},
                        Case{7, 128, 777, 0.0f, 1.0f, {}, GgmlType::kQ8_0, GgmlType::kQ4_0},
                        Case{2, 64, 300, 30.0f, 6.0f, {}, GgmlType::kBF16, GgmlType::kF32}}) {
    SCOPED_TRACE(describe(c));
    const CaseData d = make_case(c, rng);
    const KeyLayout kv = paged(d.flat, c.n_keys, 32, 0, rng);
    const auto whole = run(attend, t, c, d.q, kv);
    const int64_t n = c.n_keys, bounds[] = {0, n / 10, n / 10 + 1, n * 2 / 3, n};  // a part of one key among them
    std::vector<std::vector<float>> outs, mls;
    for (size_t p = 0; p + 1 < std::size(bounds); ++p) {
      AttentionArgs a = args_for(c, d.q, kv, t);
      a.first = bounds[p];
      a.n_keys = bounds[p + 1] - bounds[p];
      mls.emplace_back(2 * c.n_q, NAN);
      a.partial = mls.back().data();
      outs.push_back(run(attend, a));
    }
    std::vector<const float*> out_ptrs, ml_ptrs;
    for (size_t p = 0; p < outs.size(); ++p) {
      out_ptrs.push_back(outs[p].data());
      ml_ptrs.push_back(mls[p].data());
    }
    std::vector<float> merged(c.n_q * c.head_dim);
    merge_attention_parts(c.n_q, c.head_dim, static_cast<int64_t>(outs.size()), out_ptrs.data(), ml_ptrs.data(),
                          c.sinks.empty() ? nullptr : c.sinks.data(), merged.data());
    EXPECT_LT(max_abs_diff(whole, merged), 2e-5);
  }
}

TEST_P(AttentionSimd, SplitRunsMergeToTheWholeRun) {
  if (!cpu_has(GetParam())) GTEST_SKIP() << GetParam() << " not on this CPU";
  const KernelTable best = table_for(GetParam());
  expect_split_matches_whole(best.attend, best);
}

TEST(Attention, ReferenceSplitRunsMergeToTheWholeRun) {
  expect_split_matches_whole(&attend_reference, reference_kernels());
}

TEST(Attention, ReferenceReadsPagesAsOneRun) {
  std::mt19937 rng(9);
  const KernelTable t = reference_kernels();
  for (GgmlType type : {GgmlType::kF32, GgmlType::kQ4_0}) {
    const Case c{4, 64, 150, 0.0f, 2.0f, {}, type, type};
    const CaseData d = make_case(c, rng);
    EXPECT_EQ(run(&attend_reference, t, c, d.q, d.flat), run(&attend_reference, t, c, d.q, paged(d.flat, c.n_keys, 32, 7, rng)))
        << "same sums in the same order";
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, AttentionSimd, ::testing::Values("avx2", "avx512"),
                         [](const auto& info) { return std::string(info.param); });

// Two keys and one query, stored as F32 rows: the output by hand.
std::vector<float> two_keys(const float* sink) {
  const std::vector<float> q = {1, 0, 0, 0}, k = {2, 0, 0, 0, 0, 0, 0, 0}, v = {1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<float> out(4), scratch(attention_scratch_floats(1, 2, 4, 4));
  const int32_t page = 0;
  const auto rows = [](const std::vector<float>& x) {
    return CachedRows{.data = reinterpret_cast<const uint8_t*>(x.data()), .type = GgmlType::kF32, .stride = 16,
                      .page_stride = 32};
  };
  attend_reference({.n_q = 1, .head_dim_k = 4, .head_dim_v = 4, .q = q.data(), .k = rows(k), .v = rows(v),
                    .pages = &page, .page_tokens = 2, .n_keys = 2, .scale = 0.5f, .sinks = sink, .out = out.data(),
                    .scratch = scratch.data()});
  return out;
}

TEST(Attention, ReferenceIsAWeightedAverageOfValues) {
  // The query matches the first key: scores 1 and 0, weights e^s / sum.
  const std::vector<float> out = two_keys(nullptr);
  const double w0 = std::exp(1.0) / (std::exp(1.0) + 1.0);
  for (int d = 0; d < 4; ++d) EXPECT_NEAR(out[d], w0 * (1 + d) + (1 - w0) * (5 + d), 1e-6);
}

TEST(Attention, ReferenceSinkTakesProbabilityButAddsNoValue) {
  // Scores 1 and 0 and a sink of 0.5: the weights are e^s / (e^1 + e^0 + e^0.5).
  const float sink = 0.5f;
  const std::vector<float> out = two_keys(&sink);
  const double sum = std::exp(1.0) + 1.0 + std::exp(0.5);
  for (int d = 0; d < 4; ++d) EXPECT_NEAR(out[d], std::exp(1.0) / sum * (1 + d) + 1.0 / sum * (5 + d), 1e-6);
}

}  // namespace
}  // namespace mx
