// The prefix cache: a restored prefix is the stored pages themselves (shared, not
// copied), only whole blocks of an identical prefix match, least recently used blocks go
// first and give their pages back, and a scheduler that starts from a cached prefix
// generates what it generates without one.
#include "engine/prefix_cache.h"

#include <gtest/gtest.h>

#include "engine/scheduler.h"
#include "gguf/gguf_file.h"
#include "stories_test.h"
#include "test_paths.h"
#include "tokenizer/tokenizer.h"

namespace mx {
namespace {

class PrefixCacheTest : public test::StoriesTest {
 protected:
  // Runs `tokens` through sequence `seq` of `cache` from position 0.
  void prefill(KvCache& cache, int32_t seq, const std::vector<Token>& tokens) {
    cache.clear(seq);
    Batch b;
    for (size_t i = 0; i < tokens.size(); ++i) b.add(tokens[i], static_cast<int32_t>(i), seq, i + 1 == tokens.size());
    std::vector<float> logits(model_->config.n_vocab);
    ASSERT_TRUE(forward(*model_, b, cache, ctx_, logits.data()).ok());
  }
  static std::vector<Token> counting(int n, int from = 1) {
    std::vector<Token> t;
    for (int i = 0; i < n; ++i) t.push_back(static_cast<Token>(from + i % 400));
    return t;
  }
  ExecContext ctx_{2, kernels_};
};

constexpr int64_t kBlock = PrefixCache::block_tokens();

std::vector<KvPage> first_pages(const KvCache& cache, int32_t seq, int64_t n) {
  const auto t = cache.page_table(seq);
  return {t.begin(), t.begin() + n};
}

TEST_F(PrefixCacheTest, RestoresWholeBlocksOfTheSamePrefixAsSharedPages) {
  KvCache cache(model_->config, 256, 2, PrefixCache::pages_for(1024));
  const int64_t free_pages = cache.page_stats().total;
  {
    PrefixCache pc(cache, 1024);
    const std::vector<Token> prompt = counting(140);
    prefill(cache, 0, prompt);
    pc.store(prompt, 0);
    EXPECT_EQ(pc.stats().blocks_used, 4);  // 140 tokens: 4 whole blocks of 32
    EXPECT_EQ(cache.page_stats().used, 5);
    EXPECT_EQ(cache.page_stats().shared, 4);

    EXPECT_EQ(pc.restore(prompt, 139, 1), 4 * kBlock);
    EXPECT_EQ(cache.length(1), 4 * kBlock);
    EXPECT_EQ(first_pages(cache, 1, 4), first_pages(cache, 0, 4)) << "the same pages, not copies";
    EXPECT_EQ(cache.page_stats().used, 5);
    EXPECT_EQ(pc.restore(prompt, 100, 1), 3 * kBlock) << "never past max_tokens";

    std::vector<Token> diverging = prompt;
    diverging[70] = 450;  // in the third block
    EXPECT_EQ(pc.restore(diverging, 139, 1), 2 * kBlock);
    std::vector<Token> other_start = prompt;
    other_start[0] = 451;  // later blocks equal, but their prefix differs
    EXPECT_EQ(pc.restore(other_start, 139, 1), 0);
    EXPECT_EQ(cache.length(1), 0);
    EXPECT_EQ(pc.stats().lookup_tokens, 140 * 4);
    EXPECT_EQ(pc.stats().hit_tokens, (4 + 3 + 2) * kBlock);

    cache.clear(0);
    EXPECT_EQ(cache.page_stats().used, 4) << "the prefix cache keeps its pages";
    EXPECT_EQ(pc.restore(prompt, 139, 1), 4 * kBlock);
    cache.clear(1);
  }
  EXPECT_EQ(cache.page_stats().used, 0) << "and gives them back when it goes";
  EXPECT_EQ(cache.page_stats().total, free_pages);
}

TEST_F(PrefixCacheTest, EvictsTheLeastRecentlyUsedAndChainEndsFirst) {
  KvCache cache(model_->config, 256, 1, 3);
  PrefixCache pc(cache, 3 * kBlock);  // three blocks
  const std::vector<Token> a = counting(2 * kBlock, 1), b = counting(kBlock, 100), c = counting(kBlock, 200);
  prefill(cache, 0, a);
  pc.store(a, 0);  // two blocks
  prefill(cache, 0, b);
  pc.store(b, 0);  // full
  EXPECT_EQ(pc.restore(a, 2 * kBlock, 0), 2 * kBlock);  // a is now the most recent
  prefill(cache, 0, c);
  pc.store(c, 0);  // evicts b
  EXPECT_EQ(pc.stats().evicted_blocks, 1);
  EXPECT_EQ(pc.restore(b, kBlock, 0), 0);
  EXPECT_EQ(pc.restore(a, 2 * kBlock, 0), 2 * kBlock);
  prefill(cache, 0, b);
  pc.store(b, 0);  // evicts c (older than a's blocks)
  EXPECT_EQ(pc.restore(c, kBlock, 0), 0);
  // Filling with one more block now takes a's second block, its chain end, not its first.
  const std::vector<Token> d = counting(kBlock, 300);
  EXPECT_EQ(pc.restore(a, 2 * kBlock, 0), 2 * kBlock);
  EXPECT_EQ(pc.restore(b, kBlock, 0), kBlock);  // b is newer than a now
  prefill(cache, 0, d);
  pc.store(d, 0);
  EXPECT_EQ(pc.restore(a, 2 * kBlock, 0), kBlock);
  cache.clear(0);
  EXPECT_EQ(cache.page_stats().used, 3) << "evicted blocks gave their pages back";
}

TEST_F(PrefixCacheTest, SchedulerFromACachedPrefixGeneratesTheSameTokens) {
  const std::string system = "One day, a little girl named Lily went to the park with her mom. She saw a big tree and "
                             "wanted to climb it. Her mom said, \"Be careful, Lily!\" ";
  std::vector<std::vector<Token>> prompts;
  for (const char* q : {"Lily climbed", "The tree was", "Mom smiled and"})
    prompts.push_back(tokenizer_->encode(system + q, true, false));
  ASSERT_GT(prompts[0].size(), 40u);

  auto run = [&](PrefixCache* pc, KvCache& cache) {
    Scheduler scheduler(*model_, ctx_, cache, 64, pc);
    std::vector<std::vector<Token>> out(prompts.size());
    // The first alone; the other two together find its blocks and read the same pages at once.
    for (size_t i = 0; i < prompts.size(); ++i) {
      ScheduledRequest r{.prompt = prompts[i], .options = {.n_predict = 20, .sampling = {.temperature = 0.0f}}};
      r.callbacks.on_token = [&out, i](Token t) { out[i].push_back(t); return true; };
      EXPECT_TRUE(scheduler.submit(std::move(r)).ok());
      if (i != 1)
        while (!scheduler.idle()) EXPECT_TRUE(scheduler.step().ok());
    }
    return out;
  };
  KvCache plain(model_->config, 256, 2);
  const auto without = run(nullptr, plain);
  KvCache cache(model_->config, 256, 2, PrefixCache::pages_for(1024));
  PrefixCache pc(cache, 1024);
  const auto with = run(&pc, cache);
  EXPECT_EQ(with, without);
  // The shared part is whole blocks of the first prompt: the later two restore them.
  EXPECT_GE(pc.stats().hit_tokens, 2 * 32);
}

}  // namespace
}  // namespace mx
