// The prefix cache: restored keys and values are the stored ones bit for bit, only whole
// blocks of an identical prefix match, least recently used blocks go first, and a
// scheduler that starts from a cached prefix generates what it generates without one.
#include "engine/prefix_cache.h"

#include <gtest/gtest.h>

#include <cstring>

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
  bool same_kv(const KvCache& a, int32_t sa, const KvCache& b, int32_t sb, int64_t n) const {
    for (int64_t l = 0; l < model_->config.n_layer; ++l)
      if (std::memcmp(a.key(l, sa, 0), b.key(l, sb, 0), n * a.key_stride() * sizeof(float)) != 0 ||
          std::memcmp(a.value(l, sa, 0), b.value(l, sb, 0), n * a.value_stride() * sizeof(float)) != 0)
        return false;
    return true;
  }

  ExecContext ctx_{2, kernels_};
};

TEST_F(PrefixCacheTest, RestoresWholeBlocksOfTheSamePrefixBitForBit) {
  KvCache cache(model_->config, 256, 2);
  PrefixCache pc(model_->config, 1024, 16);
  const std::vector<Token> prompt = counting(70);
  prefill(cache, 0, prompt);
  pc.store(prompt, cache, 0);
  EXPECT_EQ(pc.stats().blocks_used, 4);  // 70 tokens: 4 whole blocks of 16

  EXPECT_EQ(pc.restore(prompt, 69, cache, 1), 64);
  EXPECT_EQ(cache.length(1), 64);
  EXPECT_TRUE(same_kv(cache, 0, cache, 1, 64));
  EXPECT_EQ(pc.restore(prompt, 40, cache, 1), 32) << "never past max_tokens";

  std::vector<Token> diverging = prompt;
  diverging[40] = 450;  // in the third block
  EXPECT_EQ(pc.restore(diverging, 69, cache, 1), 32);
  std::vector<Token> other_start = prompt;
  other_start[0] = 451;  // later blocks equal, but their prefix differs
  EXPECT_EQ(pc.restore(other_start, 69, cache, 1), 0);
  EXPECT_EQ(cache.length(1), 0);
  EXPECT_EQ(pc.stats().lookup_tokens, 70 * 4);
  EXPECT_EQ(pc.stats().hit_tokens, 64 + 32 + 32);
}

TEST_F(PrefixCacheTest, EvictsTheLeastRecentlyUsedAndChainEndsFirst) {
  KvCache cache(model_->config, 256, 1);
  PrefixCache pc(model_->config, 3 * 16, 16);  // three blocks
  const std::vector<Token> a = counting(32, 1), b = counting(16, 100), c = counting(16, 200);
  prefill(cache, 0, a);
  pc.store(a, cache, 0);  // two blocks
  prefill(cache, 0, b);
  pc.store(b, cache, 0);  // full
  EXPECT_EQ(pc.restore(a, 32, cache, 0), 32);  // a is now the most recent
  prefill(cache, 0, c);
  pc.store(c, cache, 0);  // evicts b
  EXPECT_EQ(pc.stats().evicted_blocks, 1);
  EXPECT_EQ(pc.restore(b, 16, cache, 0), 0);
  EXPECT_EQ(pc.restore(a, 32, cache, 0), 32);
  prefill(cache, 0, b);
  pc.store(b, cache, 0);  // evicts c (older than a's blocks)
  EXPECT_EQ(pc.restore(c, 16, cache, 0), 0);
  // Filling with one more block now takes a's second block, its chain end, not its first.
  const std::vector<Token> d = counting(16, 300);
  EXPECT_EQ(pc.restore(a, 32, cache, 0), 32);
  EXPECT_EQ(pc.restore(b, 16, cache, 0), 16);  // b is newer than a now
  prefill(cache, 0, d);
  pc.store(d, cache, 0);
  EXPECT_EQ(pc.restore(a, 32, cache, 0), 16);
}

TEST_F(PrefixCacheTest, SchedulerFromACachedPrefixGeneratesTheSameTokens) {
  const std::string system = "One day, a little girl named Lily went to the park with her mom. She saw a big tree and "
                             "wanted to climb it. Her mom said, \"Be careful, Lily!\" ";
  std::vector<std::vector<Token>> prompts;
  for (const char* q : {"Lily climbed", "The tree was", "Mom smiled and"})
    prompts.push_back(tokenizer_->encode(system + q, true, false));
  ASSERT_GT(prompts[0].size(), 40u);

  auto run = [&](PrefixCache* pc) {
    KvCache cache(model_->config, 256, 2);
    Scheduler scheduler(*model_, ctx_, cache, 64, pc);
    std::vector<std::vector<Token>> out(prompts.size());
    for (size_t i = 0; i < prompts.size(); ++i) {  // one after another: each finds the last one's blocks
      ScheduledRequest r{.prompt = prompts[i], .options = {.n_predict = 20, .sampling = {.temperature = 0.0f}}};
      r.callbacks.on_token = [&out, i](Token t) { out[i].push_back(t); return true; };
      EXPECT_TRUE(scheduler.submit(std::move(r)).ok());
      while (!scheduler.idle()) EXPECT_TRUE(scheduler.step().ok());
    }
    return out;
  };
  const auto without = run(nullptr);
  PrefixCache pc(model_->config, 1024, 16);
  const auto with = run(&pc);
  EXPECT_EQ(with, without);
  // The shared part is whole blocks of the first prompt: the later two restore them.
  EXPECT_GE(pc.stats().hit_tokens, 2 * 32);
}

}  // namespace
}  // namespace mx
