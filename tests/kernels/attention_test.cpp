// The SIMD attention against the scalar reference: grouped heads, every head size the
// models use (and ones the SIMD path hands back to the reference), short and long key
// runs across block boundaries, soft-capping, scores large enough to need the
// running-max rescale, attention sinks (gpt-oss), and keys scattered over shuffled pages as the KV cache keeps them.
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

namespace mx {
namespace {

struct Case {
  int64_t n_q, head_dim, n_keys;
  float softcap;
  float q_scale;  // larger queries give peakier softmaxes
  std::vector<float> sinks = {};  // one per query head, or none
};

// Keys and values of one call, either one contiguous run or scattered over pages in
// shuffled order (as a KV cache's page table leaves them), starting at `first`.
struct KeyLayout {
  std::vector<float> k, v;
  int64_t k_stride = 0, v_stride = 0;
  std::vector<int32_t> pages;
  int64_t page_tokens = 0, first = 0;
};

KeyLayout contiguous(const std::vector<float>& k, const std::vector<float>& v, int64_t k_stride, int64_t v_stride,
                     int64_t n_keys) {
  return {.k = k, .v = v, .k_stride = k_stride, .v_stride = v_stride, .pages = {0}, .page_tokens = n_keys, .first = 0};
}

KeyLayout paged(const KeyLayout& flat, int64_t n_keys, int64_t page_tokens, int64_t first, std::mt19937& rng) {
  KeyLayout out{.k_stride = flat.k_stride, .v_stride = flat.v_stride, .page_tokens = page_tokens, .first = first};
  const int64_t n_pages = (first + n_keys + page_tokens - 1) / page_tokens;
  out.pages.resize(static_cast<size_t>(n_pages));
  std::iota(out.pages.begin(), out.pages.end(), 0);
  std::shuffle(out.pages.begin(), out.pages.end(), rng);
  out.k.assign(static_cast<size_t>(n_pages * page_tokens * flat.k_stride), NAN);  // unused slots poison
  out.v.assign(static_cast<size_t>(n_pages * page_tokens * flat.v_stride), NAN);
  for (int64_t j = 0; j < n_keys; ++j) {
    const int64_t p = first + j, page = out.pages[static_cast<size_t>(p / page_tokens)], row = page * page_tokens + p % page_tokens;
    std::copy_n(flat.k.begin() + j * flat.k_stride, flat.k_stride, out.k.begin() + row * flat.k_stride);
    std::copy_n(flat.v.begin() + j * flat.v_stride, flat.v_stride, out.v.begin() + row * flat.v_stride);
  }
  return out;
}

std::vector<float> run(AttendFn attend, const Case& c, const std::vector<float>& q, const KeyLayout& kv) {
  std::vector<float> out(c.n_q * c.head_dim, -7.0f);  // must be overwritten
  std::vector<float> scratch(attention_scratch_floats(c.n_q, c.n_keys));
  attend({.n_q = c.n_q, .head_dim_k = c.head_dim, .head_dim_v = c.head_dim, .q = q.data(), .k = kv.k.data(),
          .v = kv.v.data(), .k_stride = kv.k_stride, .v_stride = kv.v_stride, .pages = kv.pages.data(),
          .page_tokens = kv.page_tokens, .k_page_stride = kv.page_tokens * kv.k_stride,
          .v_page_stride = kv.page_tokens * kv.v_stride, .first = kv.first, .n_keys = c.n_keys,
          .scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim)), .softcap = c.softcap,
          .sinks = c.sinks.empty() ? nullptr : c.sinks.data(), .out = out.data(), .scratch = scratch.data()});
  return out;
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

class AttentionSimd : public ::testing::TestWithParam<const char*> {};

TEST_P(AttentionSimd, MatchesReference) {
  if (!cpu_has(GetParam())) GTEST_SKIP() << GetParam() << " not on this CPU";
  const KernelTable best = table_for(GetParam());
  ASSERT_NE(best.attend, &attend_reference) << "no SIMD attention for " << GetParam();
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<Case> cases;
  for (int64_t n_q : {1, 2, 4, 7, 8, 16, 17})
    for (int64_t dim : {16, 64, 80, 128, 256})
      for (int64_t n_keys : {1, 5, 31, 32, 33, 100, 257})
        cases.push_back({n_q, dim, n_keys, 0.0f, 1.0f});
  cases.push_back({4, 128, 1500, 0.0f, 6.0f});  // peaky: the max moves between blocks
  cases.push_back({2, 256, 300, 50.0f, 8.0f});   // Gemma 2's soft-capping
  cases.push_back({8, 64, 2000, 0.0f, 0.1f});    // nearly uniform over many keys
  // Attention sinks: below, near and far above the scores (a sink that takes nearly all
  // the probability leaves a tiny output), with one key, across blocks, and peaky.
  for (int64_t n_keys : {1, 33, 300}) cases.push_back({8, 64, n_keys, 0.0f, 1.0f, {-3, -1, 0, 0.5f, 1, 2, 5, 20}});
  cases.push_back({4, 64, 1500, 0.0f, 6.0f, {-2, 0, 3, 9}});
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "heads " << c.n_q << " dim " << c.head_dim << " keys " << c.n_keys
                                    << " softcap " << c.softcap << " q scale " << c.q_scale << " sinks "
                                    << c.sinks.size());
    const int64_t k_stride = c.head_dim * 3 + 16, v_stride = c.head_dim * 2;  // caches interleave heads
    std::vector<float> q(c.n_q * c.head_dim), k(c.n_keys * k_stride), v(c.n_keys * v_stride);
    for (float& x : q) x = normal(rng) * c.q_scale;
    for (float& x : k) x = normal(rng);
    for (float& x : v) x = normal(rng);
    const KeyLayout flat = contiguous(k, v, k_stride, v_stride, c.n_keys);
    const auto want = run(&attend_reference, c, q, flat);
    // Outputs are convex combinations of N(0,1) values: float reordering and the
    // polynomial exp leave errors near 1e-6.
    EXPECT_LT(max_abs_diff(want, run(best.attend, c, q, flat)), 2e-5);
    // The same keys on shuffled pages of the cache's size, and of a size that splits the
    // kernel's blocks of 32, starting mid-page as a sliding window does.
    for (const auto& [page_tokens, first] : {std::pair<int64_t, int64_t>{32, 0}, {32, 13}, {8, 5}}) {
      SCOPED_TRACE(testing::Message() << "pages of " << page_tokens << " from " << first);
      EXPECT_LT(max_abs_diff(want, run(best.attend, c, q, paged(flat, c.n_keys, page_tokens, first, rng))), 2e-5);
    }
  }
}

TEST(Attention, ReferenceReadsPagesAsOneRun) {
  std::mt19937 rng(9);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const Case c{4, 64, 150, 0.0f, 2.0f};
  std::vector<float> q(c.n_q * c.head_dim), k(c.n_keys * c.head_dim), v(c.n_keys * c.head_dim);
  for (auto* xs : {&q, &k, &v})
    for (float& x : *xs) x = normal(rng);
  const KeyLayout flat = contiguous(k, v, c.head_dim, c.head_dim, c.n_keys);
  const auto want = run(&attend_reference, c, q, flat);
  EXPECT_EQ(want, run(&attend_reference, c, q, paged(flat, c.n_keys, 32, 7, rng))) << "same sums in the same order";
}

INSTANTIATE_TEST_SUITE_P(Isa, AttentionSimd, ::testing::Values("avx2", "avx512"),
                         [](const auto& info) { return std::string(info.param); });

TEST(Attention, ReferenceIsAWeightedAverageOfValues) {
  // Two keys, one query that matches the first: weights e^s / sum by hand.
  const std::vector<float> q = {1, 0, 0, 0}, k = {2, 0, 0, 0, 0, 0, 0, 0}, v = {1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<float> out(4), scratch(attention_scratch_floats(1, 2));
  const int32_t page = 0;
  attend_reference({.n_q = 1, .head_dim_k = 4, .head_dim_v = 4, .q = q.data(), .k = k.data(), .v = v.data(),
                    .k_stride = 4, .v_stride = 4, .pages = &page, .page_tokens = 2, .n_keys = 2, .scale = 0.5f, .out = out.data(),
                    .scratch = scratch.data()});
  const double w0 = std::exp(1.0) / (std::exp(1.0) + 1.0);
  for (int d = 0; d < 4; ++d) EXPECT_NEAR(out[d], w0 * v[d] + (1 - w0) * v[4 + d], 1e-6);
}

TEST(Attention, ReferenceSinkTakesProbabilityButAddsNoValue) {
  // Two keys with scores 1 and 0 and a sink of 0.5: the weights are e^s / (e^1 + e^0 + e^0.5).
  const std::vector<float> q = {1, 0, 0, 0}, k = {2, 0, 0, 0, 0, 0, 0, 0}, v = {1, 2, 3, 4, 5, 6, 7, 8};
  const float sink = 0.5f;
  std::vector<float> out(4), scratch(attention_scratch_floats(1, 2));
  const int32_t page = 0;
  attend_reference({.n_q = 1, .head_dim_k = 4, .head_dim_v = 4, .q = q.data(), .k = k.data(), .v = v.data(),
                    .k_stride = 4, .v_stride = 4, .pages = &page, .page_tokens = 2, .n_keys = 2, .scale = 0.5f,
                    .sinks = &sink, .out = out.data(), .scratch = scratch.data()});
  const double sum = std::exp(1.0) + 1.0 + std::exp(0.5);
  for (int d = 0; d < 4; ++d) EXPECT_NEAR(out[d], std::exp(1.0) / sum * v[d] + 1.0 / sum * v[4 + d], 1e-6);
}

}  // namespace
}  // namespace mx
