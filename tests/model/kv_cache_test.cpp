// The paged KV cache: sequences take pages as they grow and give them back when they
// shrink, a shared page is copied before a sequence writes to it (the other holder keeps
// what it had), and an exhausted pool is an error, not a write out of bounds.
#include "model/kv_cache.h"

#include <gtest/gtest.h>

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
  for (int64_t l = 0; l < 2; ++l)
    for (int64_t i = 0; i < 4; ++i) {
      cache.key(l, seq, pos)[i] = x;
      cache.value(l, seq, pos)[i] = -x;
    }
}

TEST(KvCache, SequencesTakePagesAsTheyGrowAndGiveThemBack) {
  KvCache cache(small_config(), 100, 2);  // 4 pages per sequence
  EXPECT_EQ(cache.page_stats().total, 8);
  for (int64_t p = 0; p < 70; ++p) write(cache, 0, p, static_cast<float>(p));
  cache.set_length(0, 70);
  EXPECT_EQ(cache.page_table(0).size(), 3u);
  EXPECT_EQ(cache.page_stats().used, 3);
  for (int64_t p = 0; p < 70; ++p) {
    EXPECT_EQ(cache.key(1, 0, p)[3], static_cast<float>(p));
    EXPECT_EQ(cache.value(0, 0, p)[0], -static_cast<float>(p));
  }
  cache.set_length(0, 33);
  EXPECT_EQ(cache.page_table(0).size(), 2u) << "positions 32.. need the second page only";
  EXPECT_EQ(cache.key(0, 0, 32)[0], 32.0f);
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
  EXPECT_EQ(cache.key(0, 1, 5), cache.key(0, 0, 5)) << "one copy, read by both";

  cache.set_length(1, 10);  // sequence 1 goes back into the shared page and writes there
  write(cache, 1, 10, 2.0f);
  EXPECT_EQ(cache.page_stats().shared, 0);
  EXPECT_EQ(cache.page_stats().used, 2);
  EXPECT_EQ(cache.key(0, 0, 10)[0], 1.0f) << "the other holder keeps its keys";
  EXPECT_EQ(cache.key(0, 1, 10)[0], 2.0f);
  EXPECT_EQ(cache.key(1, 1, 9)[0], 1.0f) << "the copy has the positions before";
  EXPECT_EQ(cache.value(1, 1, 9)[2], -1.0f);
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

}  // namespace
}  // namespace mx
