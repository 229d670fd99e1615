// Faults end exactly the requests they touch: a forward pass that fails (an error, or an
// allocation that throws) ends the sequences with rows in its batch, and every other request
// goes on to the tokens it gets alone, its slot and pages given back. A KV cache smaller than
// every sequence's context never runs out mid-step: requests wait for pages, and a sequence
// with no room to grow ends as kContextFull.
#include <gtest/gtest.h>

#include <map>
#include <new>
#include <set>

#include "engine/scheduler.h"
#include "stories_test.h"

namespace mx {
namespace {

const char* kStory =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine. One day, she saw "
    "a big tree in the park and wanted to climb it. Her mom said to be careful. Lily climbed and climbed until she "
    "could see the whole town. She was very happy and proud of herself.";

class SchedulerFaultTest : public test::StoriesTest {
 protected:
  // A prompt of `n` tokens: the story's, from its `skip`th token on.
  std::vector<Token> prompt(size_t n, size_t skip = 0) const {
    std::vector<Token> all = tokenizer_->encode(kStory, true, false);
    while (all.size() < n + skip) {
      const std::vector<Token> more = tokenizer_->encode(kStory, false, false);
      all.insert(all.end(), more.begin(), more.end());
    }
    std::vector<Token> out(all.begin() + static_cast<ptrdiff_t>(skip), all.begin() + static_cast<ptrdiff_t>(skip + n));
    if (skip > 0) out.front() = tokenizer_->vocab().bos();
    return out;
  }
  // Greedy, and never ending at an end token: the length alone ends it.
  static GenerateOptions greedy(int64_t n_predict) { return {.n_predict = n_predict, .sampling = {.temperature = 0.0f}}; }

  // What `p` generates alone, through generate().
  std::vector<Token> alone(const std::vector<Token>& p, int64_t n_predict) {
    ExecContext ctx(2, kernels_);
    KvCache cache(model_->config, 256);
    std::vector<Token> out;
    auto s = generate(*model_, ctx, cache, p, greedy(n_predict),
                      {.is_end = nullptr, .on_token = [&](Token t) { out.push_back(t); return true; }, .on_logprobs = nullptr});
    EXPECT_TRUE(s.ok());
    return out;
  }

  struct Outcome {
    std::vector<Token> tokens;
    std::optional<GenerateStats> stats;
  };
  // Submits each prompt as request i (greedy, `n_predict` tokens).
  std::vector<std::shared_ptr<Outcome>> submit_all(Scheduler& scheduler, const std::vector<std::vector<Token>>& prompts,
                                                   int64_t n_predict) {
    std::vector<std::shared_ptr<Outcome>> out;
    for (const auto& p : prompts) {
      auto o = std::make_shared<Outcome>();
      ScheduledRequest r{.prompt = p, .options = greedy(n_predict), .callbacks = {}, .on_done = nullptr};
      r.callbacks.on_token = [o](Token t) { o->tokens.push_back(t); return true; };
      r.on_done = [o](const GenerateStats& s) {
        EXPECT_FALSE(o->stats) << "on_done called twice";
        o->stats = s;
      };
      EXPECT_TRUE(scheduler.submit(std::move(r)).ok());
      out.push_back(o);
    }
    return out;
  }
  // Steps until idle; the steps that failed.
  static int run(Scheduler& scheduler) {
    int failed = 0;
    for (int guard = 0; !scheduler.idle() && guard < 10000; ++guard) failed += !scheduler.step().ok();
    EXPECT_TRUE(scheduler.idle());
    return failed;
  }
  static void expect_all_freed(const KvCache& cache) {
    for (int32_t s = 0; s < cache.n_seq(); ++s) EXPECT_EQ(cache.length(s), 0) << "slot " << s << " not freed";
    EXPECT_EQ(cache.page_stats().used, 0);
  }
};

// Step `fail_at` fails; each request with rows in it ends with the error, the others
// (running beside it or still waiting) give the tokens they give alone.
TEST_F(SchedulerFaultTest, AFailedStepEndsExactlyTheRequestsInItsBatch) {
  // Three slots for four requests: one waits; batches of 24 rows, so the long prompts take
  // several steps and a failure can catch prompts being read, tokens being generated, or both.
  const std::vector<std::vector<Token>> prompts = {prompt(40), prompt(9, 3), prompt(70, 11), prompt(20, 25)};
  const int64_t n_predict = 12;
  std::vector<std::vector<Token>> expected;
  for (const auto& p : prompts) expected.push_back(alone(p, n_predict));
  for (const bool throws : {false, true}) {
    for (const int fail_at : {1, 2, 4, 9}) {
      SCOPED_TRACE(testing::Message() << "step " << fail_at << (throws ? " throws bad_alloc" : " fails"));
      ExecContext ctx(2, kernels_);
      KvCache cache(model_->config, 256, 3);
      int calls = 0;
      std::set<int32_t> failed_slots;
      auto hook = [&](const Batch& batch, const std::function<Status()>& forward) -> Status {
        if (++calls != fail_at) return forward();
        failed_slots.insert(batch.seq_ids.begin(), batch.seq_ids.end());
        if (throws) throw std::bad_alloc();
        return make_error("injected fault");
      };
      Scheduler scheduler(*model_, ctx, cache, 24, nullptr, hook);
      const auto got = submit_all(scheduler, prompts, n_predict);
      EXPECT_EQ(run(scheduler), 1);
      size_t failed = 0;
      for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_TRUE(got[i]->stats) << "request " << i << " never ended";
        const GenerateStats& s = *got[i]->stats;
        if (s.finish == FinishReason::kError || s.finish == FinishReason::kOutOfMemory) {
          ++failed;
          EXPECT_EQ(s.finish, throws ? FinishReason::kOutOfMemory : FinishReason::kError);
          EXPECT_NE(s.error.find(throws ? "out of memory" : "injected fault"), std::string::npos) << s.error;
          // What it sent before the fault was right.
          ASSERT_LE(got[i]->tokens.size(), expected[i].size());
          EXPECT_TRUE(std::equal(got[i]->tokens.begin(), got[i]->tokens.end(), expected[i].begin())) << "request " << i;
        } else {
          EXPECT_EQ(s.finish, FinishReason::kLength) << "request " << i;
          EXPECT_EQ(got[i]->tokens, expected[i]) << "request " << i;
        }
      }
      EXPECT_EQ(failed, failed_slots.size());  // one request per slot of the failed batch
      EXPECT_GE(failed, 1u);
      EXPECT_LT(failed, got.size());  // the waiting one at least went on
      expect_all_freed(cache);
    }
  }
}

TEST_F(SchedulerFaultTest, EveryStepFailingEndsEveryRequestAndFreesEverything) {
  ExecContext ctx(2, kernels_);
  KvCache cache(model_->config, 256, 2);
  Scheduler scheduler(*model_, ctx, cache, kMaxBatch, nullptr,
                      [](const Batch&, const std::function<Status()>&) -> Status { return make_error("broken"); });
  const auto got = submit_all(scheduler, {prompt(10), prompt(30, 5), prompt(5, 40)}, 8);
  EXPECT_EQ(run(scheduler), 2);  // two slots, then the one that waited
  for (const auto& o : got) {
    ASSERT_TRUE(o->stats);
    EXPECT_EQ(o->stats->finish, FinishReason::kError);
    EXPECT_EQ(o->stats->error, "broken");
    EXPECT_TRUE(o->tokens.empty());
  }
  expect_all_freed(cache);
}

TEST_F(SchedulerFaultTest, ARequestWaitsForKvPagesAndThenRunsAsAlone) {
  // Room for one context (256 positions, 8 pages) shared by two slots: the 200-token prompt
  // and its 20 tokens hold 7 pages, so the 64-token prompt (2 pages) waits for them.
  ExecContext ctx(2, kernels_);
  KvCache cache(model_->config, 256, 2, 0, 256);
  ASSERT_EQ(cache.free_pages(), 8);
  Scheduler scheduler(*model_, ctx, cache, 64);
  const std::vector<std::vector<Token>> prompts = {prompt(200), prompt(64, 7)};
  const auto got = submit_all(scheduler, prompts, 20);
  size_t most_running = 0;
  for (int guard = 0; !scheduler.idle() && guard < 1000; ++guard) {
    ASSERT_TRUE(scheduler.step().ok());
    most_running = std::max(most_running, scheduler.running());
  }
  EXPECT_EQ(most_running, 1u);  // never both at once
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_TRUE(got[i]->stats);
    EXPECT_EQ(got[i]->stats->finish, FinishReason::kLength);
    EXPECT_EQ(got[i]->tokens, alone(prompts[i], 20)) << "request " << i;
  }
  expect_all_freed(cache);
}

TEST_F(SchedulerFaultTest, ASequenceWithNoRoomToGrowEndsAndTheOthersGoOn) {
  // Four sequences of up to 256 positions share 8 pages: they cannot all reach 80 tokens. The
  // youngest ones end as kContextFull when the pages run out; the oldest runs to its length,
  // as it would alone, and no step fails.
  ExecContext ctx(2, kernels_);
  KvCache cache(model_->config, 256, 4, 0, 256);
  Scheduler scheduler(*model_, ctx, cache);
  const std::vector<std::vector<Token>> prompts = {prompt(30), prompt(20, 4), prompt(25, 9), prompt(12, 30)};
  const auto got = submit_all(scheduler, prompts, 80);
  EXPECT_EQ(run(scheduler), 0);
  int cut = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_TRUE(got[i]->stats);
    const std::vector<Token> full = alone(prompts[i], 80);
    if (got[i]->stats->finish == FinishReason::kContextFull) {
      ++cut;
      ASSERT_LT(got[i]->tokens.size(), full.size());
      EXPECT_TRUE(std::equal(got[i]->tokens.begin(), got[i]->tokens.end(), full.begin())) << "request " << i;
    } else {
      EXPECT_EQ(got[i]->stats->finish, FinishReason::kLength) << "request " << i;
      EXPECT_EQ(got[i]->tokens, full) << "request " << i;
    }
  }
  EXPECT_GT(cut, 0);
  EXPECT_EQ(got[0]->stats->finish, FinishReason::kLength);  // the oldest is never the one cut
  expect_all_freed(cache);
}

}  // namespace
}  // namespace mx
