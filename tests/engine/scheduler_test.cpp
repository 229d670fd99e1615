// Continuous batching gives every request exactly the tokens it gets alone: many at once,
// with small prefill chunks, with more requests than slots, and when one is cancelled;
// and prompt scoring.
#include "engine/scheduler.h"

#include <gtest/gtest.h>

#include <map>

#include "engine/model_drafter.h"
#include "engine/ngram_drafter.h"
#include "gguf/gguf_file.h"
#include "stories_test.h"
#include "test_paths.h"
#include "tokenizer/tokenizer.h"

namespace mx {
namespace {

const char* kPrompts[] = {
    "Once upon a time",
    "One day, a little girl named Lily went to the park with her mom. She saw a big tree and wanted to climb it.",
    "Tom had a big red ball.",
    "The sun was hot and the sky was blue.",
    "They wanted to play with the box. They wanted to play with the box.",
    "The cat sat on the mat.",
    "Sam and his dog",
    "There was a little bird who could not fly. Every day it watched the other birds",
};

class SchedulerTest : public test::StoriesTest {
 protected:
  GenerateOptions options(int i) const {
    // Greedy for half the requests, seeded sampling for the others.
    GenerateOptions o{.n_predict = 24 + 3 * (i % 5), .sampling = {.temperature = i % 2 ? 0.8f : 0.0f}};
    o.sampling.seed = 100 + static_cast<uint64_t>(i);
    return o;
  }
  std::vector<Token> prompt(int i) const { return tokenizer_->encode(kPrompts[i % 8], true, false); }

  // What request i generates alone, through generate().
  std::vector<Token> alone(int i) {
    ExecContext ctx(2, kernels_);
    KvCache cache(model_->config, 256);
    std::vector<Token> out;
    auto s = generate(*model_, ctx, cache, prompt(i), options(i),
                      {.is_end = [&](Token t) { return tokenizer_->vocab().is_eog(t); },
                       .on_token = [&](Token t) { out.push_back(t); return true; }, .on_logprobs = nullptr});
    EXPECT_TRUE(s.ok());
    return out;
  }

  struct Outcome {
    std::vector<Token> tokens;
    std::optional<GenerateStats> stats;
  };

  // Runs requests 0..n-1 through one scheduler; `cancel_at`: request -> tokens after which
  // it is cancelled.
  std::map<uint64_t, Outcome> together(int n, int32_t slots, int64_t max_batch, std::map<int, int> cancel_at = {},
                                       SchedulerStats* stats = nullptr, DrafterFactory make_drafter = nullptr) {
    ExecContext ctx(2, kernels_);
    KvCache cache(model_->config, 256, slots);
    Scheduler scheduler(*model_, ctx, cache, max_batch, nullptr, nullptr, std::move(make_drafter));
    std::map<uint64_t, Outcome> out;
    std::map<uint64_t, int> index;
    for (int i = 0; i < n; ++i) {
      auto id = std::make_shared<uint64_t>(0);
      ScheduledRequest r{.prompt = prompt(i), .options = options(i), .callbacks = {}, .on_done = nullptr};
      r.callbacks.is_end = [&](Token t) { return tokenizer_->vocab().is_eog(t); };
      r.callbacks.on_token = [&, id, i](Token t) {
        out[*id].tokens.push_back(t);
        if (cancel_at.count(i) && static_cast<int>(out[*id].tokens.size()) == cancel_at[i]) scheduler.cancel(*id);
        return true;
      };
      r.on_done = [&, id](const GenerateStats& s) { out[*id].stats = s; };
      auto submitted = scheduler.submit(std::move(r));
      EXPECT_TRUE(submitted.ok());
      *id = *submitted;
      index[*id] = i;
    }
    for (int guard = 0; !scheduler.idle() && guard < 10000; ++guard) EXPECT_TRUE(scheduler.step().ok());
    EXPECT_TRUE(scheduler.idle());
    for (int32_t s = 0; s < slots; ++s) EXPECT_EQ(cache.length(s), 0) << "slot " << s << " not freed";
    if (stats) *stats = scheduler.stats();
    std::map<uint64_t, Outcome> by_request;
    for (auto& [id, o] : out) by_request[static_cast<uint64_t>(index[id])] = std::move(o);
    return by_request;
  }

};

TEST_F(SchedulerTest, SixteenAtOnceGiveTheTokensEachGetsAlone) {
  SchedulerStats stats;
  const auto got = together(16, 16, kMaxBatch, {}, &stats);
  ASSERT_EQ(got.size(), 16u);
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(got.at(i).tokens, alone(i)) << "request " << i;
    ASSERT_TRUE(got.at(i).stats);
    EXPECT_EQ(got.at(i).stats->n_generated, static_cast<int64_t>(got.at(i).tokens.size()));
  }
  EXPECT_GT(stats.max_batch, 16);  // all prompts went in together
}

TEST_F(SchedulerTest, SmallChunksAndMoreRequestsThanSlots) {
  SchedulerStats stats;
  const auto got = together(10, 3, 7, {}, &stats);  // prompts in chunks of <= 7 rows beside decodes
  ASSERT_EQ(got.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(got.at(i).tokens, alone(i)) << "request " << i;
  EXPECT_LE(stats.max_batch, 7);
  EXPECT_GT(stats.prompt_rows, 0);
}

// Speculating sequences share steps: each runs its next token and its own drafts in the
// same batch as the others, and still gets the tokens it gets alone (greedy and seeded).
TEST_F(SchedulerTest, SpeculatingSequencesGetTheTokensEachGetsAlone) {
  const DrafterFactory self_draft = [this](ExecContext& ctx, int64_t n_ctx) {
    return std::make_unique<ModelDrafter>(SpeculationParams{.draft_max = 6, .p_min = 0.2f}, *model_, ctx, n_ctx);
  };
  const DrafterFactory ngram = [](ExecContext&, int64_t) {
    return std::make_unique<NgramDrafter>(SpeculationParams{.draft_max = 4, .ngram_min = 1});
  };
  for (const auto& [name, factory] : {std::pair{"draft model", self_draft}, std::pair{"n-gram", ngram}}) {
    SchedulerStats stats;
    const auto got = together(8, 4, kMaxBatch, {}, &stats, factory);
    ASSERT_EQ(got.size(), 8u);
    for (int i = 0; i < 8; ++i) {
      EXPECT_EQ(got.at(i).tokens, alone(i)) << name << ", request " << i;
      ASSERT_TRUE(got.at(i).stats);
      EXPECT_LE(got.at(i).stats->n_accepted, got.at(i).stats->n_drafted);
    }
    EXPECT_GT(stats.drafted, 0) << name;
    EXPECT_GT(stats.accepted, 0) << name;
  }
}

TEST_F(SchedulerTest, DraftsFitTheBatchLeftAfterEveryGeneratingRow) {
  const DrafterFactory self_draft = [this](ExecContext& ctx, int64_t n_ctx) {
    return std::make_unique<ModelDrafter>(SpeculationParams{.draft_max = 16, .p_min = 0.0f}, *model_, ctx, n_ctx);
  };
  SchedulerStats stats;
  const auto got = together(6, 3, 7, {{2, 5}}, &stats, self_draft);  // and one cancelled midway
  for (int i = 0; i < 6; ++i) {
    const auto full = alone(i);
    if (i == 2) EXPECT_TRUE(std::equal(got.at(i).tokens.begin(), got.at(i).tokens.end(), full.begin()));
    else EXPECT_EQ(got.at(i).tokens, full) << "request " << i;
  }
  EXPECT_LE(stats.max_batch, 7);
  EXPECT_GT(stats.accepted, 0);
}

TEST_F(SchedulerTest, CancellingOneLeavesTheOthersAlone) {
  const auto got = together(6, 4, kMaxBatch, {{1, 5}, {4, 2}});
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(got.at(i).stats);
    if (i == 1 || i == 4) {
      EXPECT_EQ(got.at(i).stats->finish, FinishReason::kStopped);
      EXPECT_EQ(got.at(i).tokens.size(), i == 1 ? 5u : 2u);
      const auto full = alone(i);
      EXPECT_TRUE(std::equal(got.at(i).tokens.begin(), got.at(i).tokens.end(), full.begin()));
    } else {
      EXPECT_EQ(got.at(i).tokens, alone(i)) << "request " << i;
      EXPECT_NE(got.at(i).stats->finish, FinishReason::kStopped);
    }
  }
}

// Prompt scoring (OpenAI echo + logprobs, lm-eval-harness's loglikelihood): every prompt
// token after the first gets its log-probability given the ones before it, exactly what a
// generation after that prefix reports for it; in small chunks, beside other requests,
// and with the prompt already in the prefix cache (which scoring must not use).
TEST_F(SchedulerTest, ScoringAPromptGivesEachTokenItsProbabilityAfterThePrefix) {
  const std::vector<Token> p = prompt(1);
  const int32_t n_vocab = model_->config.n_vocab;
  std::vector<float> want(p.size(), 0.0f);
  for (size_t i = 1; i < p.size(); ++i) {
    ExecContext ctx(1, kernels_);
    KvCache cache(model_->config, 256);
    GenerateOptions o{.n_predict = 1, .sampling = {.temperature = 0.0f}};
    o.top_logprobs = n_vocab;
    auto s = generate(*model_, ctx, cache, std::span(p).first(i), o,
                      {.is_end = nullptr, .on_token = nullptr, .on_logprobs = [&](const StepLogprobs& lp) {
                         for (const TokenLogprob& t : lp.top)
                           if (t.token == p[i]) want[i] = t.logprob;
                       }});
    ASSERT_TRUE(s.ok());
    ASSERT_LT(want[i], 0.0f) << "token " << i;
  }

  ExecContext ctx(2, kernels_);
  KvCache cache(model_->config, 256, 3, PrefixCache::pages_for(1024));
  PrefixCache prefix(cache, 1024);
  Scheduler scheduler(*model_, ctx, cache, 7, &prefix);
  auto run = [&](ScheduledRequest r) {
    ASSERT_TRUE(scheduler.submit(std::move(r)).ok());
  };
  run({.prompt = p, .options = {.n_predict = 2}, .callbacks = {}, .on_done = nullptr});  // fills the prefix cache
  while (!scheduler.idle()) ASSERT_TRUE(scheduler.step().ok());

  std::vector<StepLogprobs> scored;
  std::optional<GenerateStats> done;
  GenerateOptions scoring{.n_predict = 0};
  scoring.prompt_logprobs = true;
  scoring.top_logprobs = 2;
  ScheduledRequest r{.prompt = p, .options = scoring, .callbacks = {}, .on_done = [&](const GenerateStats& s) { done = s; }};
  r.callbacks.on_prompt_logprobs = [&](const StepLogprobs& lp) { scored.push_back(lp); };
  r.callbacks.on_token = [](Token) { ADD_FAILURE() << "max_tokens 0 generates nothing"; return true; };
  run({.prompt = prompt(0), .options = options(0), .callbacks = {}, .on_done = nullptr});
  run(std::move(r));
  run({.prompt = prompt(2), .options = options(2), .callbacks = {}, .on_done = nullptr});
  while (!scheduler.idle()) ASSERT_TRUE(scheduler.step().ok());

  ASSERT_EQ(scored.size(), p.size() - 1);
  for (size_t i = 1; i < p.size(); ++i) {
    const StepLogprobs& lp = scored[i - 1];
    EXPECT_EQ(lp.chosen.token, p[i]);
    EXPECT_NEAR(lp.chosen.logprob, want[i], 1e-4) << "token " << i;
    ASSERT_EQ(lp.top.size(), 2u);
    EXPECT_GE(lp.top[0].logprob, lp.top[1].logprob);
    EXPECT_GE(lp.top[0].logprob, lp.chosen.logprob);
  }
  ASSERT_TRUE(done);
  EXPECT_EQ(done->n_generated, 0);
  EXPECT_EQ(done->n_cached, 0);
  EXPECT_EQ(done->finish, FinishReason::kLength);
}

TEST_F(SchedulerTest, RefusesPromptsThatCannotFitAndCancelsWaitingRequests) {
  ExecContext ctx(1, kernels_);
  KvCache cache(model_->config, 16, 1);
  Scheduler scheduler(*model_, ctx, cache);
  auto too_long = scheduler.submit({.prompt = std::vector<Token>(16, 5), .options = {}, .callbacks = {}, .on_done = nullptr});
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.error().message.find("16 tokens"), std::string::npos) << too_long.error().message;
  EXPECT_FALSE(scheduler.submit({}).ok());  // empty
  int done = 0;
  std::optional<FinishReason> second;
  auto first = scheduler.submit({.prompt = {1, 403}, .options = {.n_predict = 4}, .callbacks = {},
                                 .on_done = [&](const GenerateStats&) { ++done; }});
  auto queued = scheduler.submit({.prompt = {1, 403}, .options = {.n_predict = 4}, .callbacks = {},
                                  .on_done = [&](const GenerateStats& s) { second = s.finish; }});
  ASSERT_TRUE(first.ok() && queued.ok());
  ASSERT_TRUE(scheduler.step().ok());
  EXPECT_EQ(scheduler.running(), 1u);
  EXPECT_EQ(scheduler.waiting(), 1u);
  scheduler.cancel(*queued);
  while (!scheduler.idle()) ASSERT_TRUE(scheduler.step().ok());
  EXPECT_EQ(done, 1);
  EXPECT_EQ(second, FinishReason::kStopped);
}

}  // namespace
}  // namespace mx
