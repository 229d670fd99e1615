// The paged KV cache: sequences take pages as they grow and give them back when they
// shrink, a shared page is copied before a sequence writes to it (the other holder keeps
// what it had), and an exhausted pool is an error, not a write out of bounds.
#include "model/kv_cache.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace mx {
namespace {

constexpr int64_t kPage = KvCache::kPageTokens;

ModelConfig small_config() {
  ModelConfig c;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_head_kv = 1;
  c.head_dim_k = 4;
  c.head_dim_v = 4;
  return c;
}

// Writes position `pos` of `seq`: every float of every layer's key and value is `x`.
void write(KvCache& cache, int32_t seq, int64_t pos, float x) {
  ASSERT_TRUE(cache.make_writable(seq, pos).ok());
  const std::vector<float> k(4, x), v(4, -x);
  for (int64_t l = 0; l < 2; ++l) cache.write(l, seq, pos, k.data(), v.data());
}

float key_at(const KvCache& cache, int64_t layer, int32_t seq, int64_t pos, int i) {
  std::vector<float> k(4);
  cache.read_key(layer, seq, pos, k.data());
  return k[static_cast<size_t>(i)];
}

float value_at(const KvCache& cache, int64_t layer, int32_t seq, int64_t pos, int i) {
  std::vector<float> v(4);
  cache.read_value(layer, seq, pos, v.data());
  return v[static_cast<size_t>(i)];
}

TEST(KvCache, SequencesTakePagesAsTheyGrowAndGiveThemBack) {
  KvCache cache(small_config(), 100, 2);  // 4 pages per sequence
  EXPECT_EQ(cache.page_stats().total, 8);
  for (int64_t p = 0; p < 70; ++p) write(cache, 0, p, static_cast<float>(p));
  cache.set_length(0, 70);
  EXPECT_EQ(cache.page_table(0).size(), 3u);
  EXPECT_EQ(cache.page_stats().used, 3);
  for (int64_t p = 0; p < 70; ++p) {
    EXPECT_EQ(key_at(cache, 1, 0, p, 3), static_cast<float>(p));
    EXPECT_EQ(value_at(cache, 0, 0, p, 0), -static_cast<float>(p));
  }
  cache.set_length(0, 33);
  EXPECT_EQ(cache.page_table(0).size(), 2u) << "positions 32.. need the second page only";
  EXPECT_EQ(key_at(cache, 0, 0, 32, 0), 32.0f);
  cache.clear(0);
  EXPECT_EQ(cache.page_stats().used, 0);
}

TEST(KvCache, ASharedPageIsCopiedBeforeItIsWritten) {
  KvCache cache(small_config(), 2 * kPage, 2);
  for (int64_t p = 0; p < kPage; ++p) write(cache, 0, p, 1.0f);
  cache.set_length(0, kPage);
  cache.append_shared_page(1, cache.page_table(0)[0]);
  EXPECT_EQ(cache.length(1), kPage);
  EXPECT_EQ(cache.page_stats().shared, 1);
  EXPECT_EQ(cache.key_row(0, 1, 5), cache.key_row(0, 0, 5)) << "one copy, read by both";

  cache.set_length(1, 10);  // sequence 1 goes back into the shared page and writes there
  write(cache, 1, 10, 2.0f);
  EXPECT_EQ(cache.page_stats().shared, 0);
  EXPECT_EQ(cache.page_stats().used, 2);
  EXPECT_EQ(key_at(cache, 0, 0, 10, 0), 1.0f) << "the other holder keeps its keys";
  EXPECT_EQ(key_at(cache, 0, 1, 10, 0), 2.0f);
  EXPECT_EQ(key_at(cache, 1, 1, 9, 0), 1.0f) << "the copy has the positions before";
  EXPECT_EQ(value_at(cache, 1, 1, 9, 2), -1.0f);
  cache.clear(0);
  cache.clear(1);
  EXPECT_EQ(cache.page_stats().used, 0);
}

TEST(KvCache, AnExhaustedPoolIsAnError) {
  KvCache cache(small_config(), kPage, 1);  // one page
  write(cache, 0, 0, 1.0f);
  cache.set_length(0, 1);
  cache.retain(cache.page_table(0)[0]);  // as a prefix cache would
  cache.set_length(0, 0);
  const Status st = cache.make_writable(0, 0);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("no free page"), std::string::npos) << st.error().message;
}

TEST(KvCacheTypes, NamesAreLlamaCppsAndOthersAreRefused) {
  EXPECT_EQ(*parse_kv_cache_type("f16"), GgmlType::kF16);
  EXPECT_EQ(*parse_kv_cache_type("bf16"), GgmlType::kBF16);
  EXPECT_EQ(*parse_kv_cache_type("q8_0"), GgmlType::kQ8_0);
  EXPECT_EQ(*parse_kv_cache_type("Q4_0"), GgmlType::kQ4_0);
  EXPECT_EQ(*parse_kv_cache_type("f32"), GgmlType::kF32);
  for (const char* bad : {"q4_k", "f8", "", "iq4_nl"}) {
    const auto t = parse_kv_cache_type(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_NE(t.error().message.find("one of: f32, f16, bf16, q8_0, q4_0"), std::string::npos) << t.error().message;
  }
}

TEST(KvCacheTypes, BlockTypesNeedHeadsOfWholeBlocks) {
  ModelConfig c = small_config();  // head size 4
  EXPECT_TRUE(check_kv_cache_types(c, {GgmlType::kF16, GgmlType::kBF16}).ok());
  const Status st = check_kv_cache_types(c, {GgmlType::kF16, GgmlType::kQ8_0});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("--cache-type-v q8_0"), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("head size 4"), std::string::npos) << st.error().message;
  c.head_dim_k = c.head_dim_v = 64;
  EXPECT_TRUE(check_kv_cache_types(c, {GgmlType::kQ4_0, GgmlType::kQ8_0}).ok());
}

TEST(KvCacheTypes, BytesFollowTheTypes) {
  ModelConfig c = small_config();
  c.head_dim_k = c.head_dim_v = 64;  // 2 layers, one kv head of 64
  EXPECT_EQ(kv_bytes_per_position(c, {GgmlType::kF32, GgmlType::kF32}), 2 * 2 * 64 * 4);
  EXPECT_EQ(kv_bytes_per_position(c, {}), 2 * 2 * 64 * 2) << "F16 by default";
  EXPECT_EQ(kv_bytes_per_position(c, {GgmlType::kQ8_0, GgmlType::kQ4_0}), 2 * (2 * 34 + 2 * 18));
  const KvCache f32(c, kPage, 1, 0, 0, {GgmlType::kF32, GgmlType::kF32}), q(c, kPage, 1, 0, 0, {GgmlType::kQ8_0, GgmlType::kQ4_0});
  EXPECT_EQ(f32.bytes(), static_cast<size_t>(kPage * kv_bytes_per_position(c, f32.types())));
  EXPECT_EQ(q.bytes(), static_cast<size_t>(kPage * kv_bytes_per_position(c, q.types())));
  EXPECT_EQ(q.page_bytes(), kPage * kv_bytes_per_position(c, q.types()));
}

TEST(KvCacheTypes, StoredVectorsComeBackWithinTheTypesRounding) {
  ModelConfig c = small_config();
  c.head_dim_k = c.head_dim_v = 64;
  std::vector<float> k(64), v(64), back(64);
  for (int i = 0; i < 64; ++i) {
    k[i] = std::sin(0.3f * i) * 3.0f;
    v[i] = std::cos(0.7f * i) - 0.25f;
  }
  struct Bound {
    GgmlType type;
    float max_abs;  // for vectors of magnitude <= 3: half a step of the type (Q4_0: a whole one at
                    // the end opposite its largest value, which has 8 steps one way and 7 the other)
  };
  for (const Bound& b : {Bound{GgmlType::kF32, 0.0f}, Bound{GgmlType::kF16, 3.0f / 2048}, Bound{GgmlType::kBF16, 3.0f / 256},
                         Bound{GgmlType::kQ8_0, 3.0f / 127 / 2 + 1e-3f}, Bound{GgmlType::kQ4_0, 3.0f / 8 + 1e-2f}}) {
    SCOPED_TRACE(std::string(type_name(b.type)));
    KvCache cache(c, kPage, 1, 0, 0, {b.type, b.type});
    ASSERT_TRUE(cache.make_writable(0, 3).ok());
    cache.write(1, 0, 3, k.data(), v.data());
    cache.read_key(1, 0, 3, back.data());
    float err = 0;
    for (int i = 0; i < 64; ++i) err = std::max(err, std::fabs(back[i] - k[i]));
    EXPECT_LE(err, b.max_abs);
    if (b.type != GgmlType::kF32) EXPECT_GT(err, 0.0f) << "rounded, so the test can see a wrong type";
    cache.read_value(1, 0, 3, back.data());
    for (int i = 0; i < 64; ++i) EXPECT_NEAR(back[i], v[i], b.max_abs);
  }
}

}  // namespace
}  // namespace mx
