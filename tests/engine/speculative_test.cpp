// Speculative decoding: drafts change how many tokens a step yields, never which ones.
#include <gtest/gtest.h>

#include <array>
#include <cmath>

#include "engine/generate.h"
#include "engine/generation.h"
#include "engine/model_drafter.h"
#include "engine/ngram_drafter.h"
#include "gguf/gguf_file.h"
#include "stories_test.h"
#include "test_paths.h"

namespace mx {
namespace {

// --- n-gram lookup ---

TEST(NgramDrafter, ProposesWhatFollowedTheMostRecentMatchOfTheLongestTail) {
  NgramDrafter d({.draft_max = 4, .ngram_max = 3, .ngram_min = 2});
  d.begin(0, std::vector<Token>{5, 6, 7, 1, 2, 9, 9, 5, 6, 7, 3, 4, 8, 8, 5, 6});
  // Tail (5 6 7): the latest earlier (5 6 7) is followed by 3 4 8 8.
  EXPECT_EQ(d.propose(7, 8), (std::vector<Token>{3, 4, 8, 8}));
  // Tail (6 9) never appeared; (9) is shorter than ngram_min: nothing.
  EXPECT_TRUE(d.propose(9, 8).empty());
  // At most max_tokens, and never past the end of the sequence.
  EXPECT_EQ(d.propose(7, 2), (std::vector<Token>{3, 4}));
}

TEST(NgramDrafter, FollowsTheSequenceAsTokensAreAccepted) {
  NgramDrafter d({.draft_max = 8, .ngram_max = 2, .ngram_min = 2});
  d.begin(0, std::vector<Token>{1, 2, 3, 4, 5, 1});
  EXPECT_EQ(d.propose(2, 8), (std::vector<Token>{3, 4, 5, 1, 2}));
  d.advance(2, std::vector<Token>{3, 4});  // the target took two of the drafts
  EXPECT_EQ(d.sequence(), (std::vector<Token>{1, 2, 3, 4, 5, 1, 2, 3, 4}));
  EXPECT_EQ(d.propose(5, 3), (std::vector<Token>{1, 2, 3}));
  // A new generation over the first 3 cached tokens forgets the rest.
  d.begin(3, std::vector<Token>{7});
  EXPECT_EQ(d.sequence(), (std::vector<Token>{1, 2, 3, 7}));
}

TEST(NgramDrafter, TooFewDraftsAreNotWorthAStep) {
  NgramDrafter d({.draft_max = 8, .draft_min = 3, .ngram_max = 2, .ngram_min = 2});
  d.begin(0, std::vector<Token>{1, 2, 1});
  EXPECT_TRUE(d.propose(2, 8).empty());  // (1 2) was followed by two tokens: below draft_min
  d.begin(0, std::vector<Token>{1, 2, 3, 4, 5, 6, 1});
  EXPECT_EQ(d.propose(2, 8), (std::vector<Token>{3, 4, 5, 6, 1, 2}));
  EXPECT_TRUE(d.propose(2, 2).empty());  // the caller's room is below draft_min
}

TEST(NgramDrafter, MissesMakeItProposeLessAndRestThenHitsMore) {
  NgramDrafter d({.draft_max = 8, .ngram_max = 1, .ngram_min = 1});
  // Every token is 1: the tail (1) always matches and what followed it is more 1s.
  d.begin(0, std::vector<Token>(40, 1));
  ASSERT_EQ(d.propose(1, 8).size(), 8u);
  d.advance(1, {});                      // none taken: rest one step
  EXPECT_TRUE(d.propose(1, 8).empty());
  d.advance(1, {});                      // (a step without drafts)
  ASSERT_EQ(d.propose(1, 8).size(), 1u);  // then at most taken + 1 = 1
  d.advance(1, {});                      // a second miss in a row: rest three steps
  for (int step = 0; step < 3; ++step) {
    EXPECT_TRUE(d.propose(1, 8).empty()) << step;
    d.advance(1, {});
  }
  ASSERT_EQ(d.propose(1, 8).size(), 1u);
  d.advance(1, std::vector<Token>{1});    // all taken: twice as many
  ASSERT_EQ(d.propose(1, 8).size(), 2u);
  d.advance(1, std::vector<Token>{1, 1});
  ASSERT_EQ(d.propose(1, 8).size(), 4u);
  d.advance(1, std::vector<Token>{1, 1});  // two of four: at most three next
  EXPECT_EQ(d.propose(1, 8).size(), 3u);
}

// --- the acceptance rule: standard speculative sampling with a deterministic draft ---

std::vector<double> softmax(std::span<const float> logits) {
  std::vector<double> p(logits.size());
  double sum = 0;
  for (size_t i = 0; i < p.size(); ++i) sum += p[i] = std::exp(static_cast<double>(logits[i]));
  for (auto& x : p) x /= sum;
  return p;
}

double chi_square(const std::vector<int>& counts, const std::vector<double>& p) {
  int n = 0;
  for (int c : counts) n += c;
  double chi = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double expected = n * p[i];
    chi += (counts[i] - expected) * (counts[i] - expected) / expected;
  }
  return chi;
}

// A draft token d proposed with certainty (q = one-hot) is accepted with probability
// min(1, p(d) / q(d)) = p(d); after a rejection the token comes from p without d,
// renormalised: together, each emitted token follows the target's p exactly. Checked on
// 20000 seeded draws against fixed target rows.
TEST(SpeculativeSampling, EmittedTokensFollowTheTargetsDistribution) {
  constexpr int kVocab = 4, kTrials = 20000;
  const std::array<float, 2 * kVocab> rows = {0.2f, 1.0f, -0.5f, 0.6f,   // after the token run
                                              1.1f, -0.3f, 0.4f, 0.0f};  // after the draft
  const std::vector<Token> drafts = {1};
  const auto p0 = softmax(std::span(rows).first(kVocab));
  const auto p1 = softmax(std::span(rows).last(kVocab));
  std::vector<int> first(kVocab), second(kVocab);
  int accepted_total = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    GenerateOptions options{.n_predict = 8,
                            .sampling = {.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f,
                                         .seed = static_cast<uint64_t>(trial)}};
    Generation gen(options, kVocab, std::vector<Token>{0});
    std::vector<Token> emitted;
    GenerateCallbacks cb{.is_end = nullptr, .on_token = [&](Token t) { emitted.push_back(t); return true; }};
    size_t accepted = 0;
    const auto next = gen.next_after_drafts(rows, drafts, cb, accepted);
    ASSERT_TRUE(next.has_value());
    ASSERT_EQ(emitted.size(), accepted + 1);
    EXPECT_EQ(emitted.back(), *next);
    ++first[emitted[0]];
    if (accepted == 1) {
      EXPECT_EQ(emitted[0], drafts[0]);
      ++second[emitted[1]];
      ++accepted_total;
    } else {
      EXPECT_NE(emitted[0], drafts[0]);
    }
  }
  // 0.1% critical value of chi-square with 3 degrees of freedom: 16.27.
  EXPECT_LT(chi_square(first, p0), 16.27);
  EXPECT_LT(chi_square(second, p1), 16.27);
  // Acceptance rate p(d), within 4 standard deviations.
  const double rate = static_cast<double>(accepted_total) / kTrials;
  EXPECT_NEAR(rate, p0[1], 4 * std::sqrt(p0[1] * (1 - p0[1]) / kTrials));
}

// --- a real model: the same tokens with and without drafts ---

class SpeculativeGenerate : public test::StoriesTest {
 protected:
  struct Run {
    std::vector<Token> tokens;
    GenerateStats stats;
    int64_t cache_length = 0;
  };

  // Two turns on one cache, so a second generation starts from what the first left there.
  std::vector<Run> generate_twice(const GenerateOptions& options, Drafter* drafter) {
    ExecContext ctx(2, kernels_);
    KvCache cache(model_->config, 256);
    std::vector<Run> runs;
    for (const char* text : {"Once upon a time, there was a little girl named Lily.",
                             " Lily liked to play. She played with her ball."}) {
      const auto prompt = tokenizer_->encode(text, /*add_special=*/runs.empty(), false);
      Run run;
      auto stats = generate(*model_, ctx, cache, prompt, options,
                            {.is_end = nullptr, .on_token = [&](Token t) { run.tokens.push_back(t); return true; }},
                            drafter);
      EXPECT_TRUE(stats.ok()) << stats.error().message;
      if (!stats.ok()) return runs;
      run.stats = *stats;
      run.cache_length = cache.length(0);
      runs.push_back(std::move(run));
    }
    return runs;
  }

  void expect_same_output(const GenerateOptions& options, Drafter& drafter, double min_acceptance) {
    const auto plain = generate_twice(options, nullptr);
    const auto speculative = generate_twice(options, &drafter);
    ASSERT_EQ(plain.size(), 2u);
    ASSERT_EQ(speculative.size(), 2u);
    int64_t drafted = 0, accepted = 0;
    for (size_t turn = 0; turn < 2; ++turn) {
      EXPECT_EQ(speculative[turn].tokens, plain[turn].tokens) << "turn " << turn;
      EXPECT_EQ(speculative[turn].cache_length, plain[turn].cache_length) << "turn " << turn;
      EXPECT_EQ(speculative[turn].stats.finish, plain[turn].stats.finish);
      drafted += speculative[turn].stats.n_drafted;
      accepted += speculative[turn].stats.n_accepted;
    }
    EXPECT_GT(drafted, 0);
    EXPECT_GE(static_cast<double>(accepted), min_acceptance * static_cast<double>(drafted))
        << accepted << " of " << drafted;
  }
};

const GenerateOptions kGreedy{.n_predict = 96, .sampling = {.temperature = 0}};

TEST_F(SpeculativeGenerate, TheModelDraftingForItselfIsAlwaysRightUnderGreedy) {
  ExecContext draft_ctx(2, kernels_);
  ModelDrafter drafter({.draft_max = 8, .p_min = 0.0f}, *model_, draft_ctx, 256);
  expect_same_output(kGreedy, drafter, 0.9);
}

TEST_F(SpeculativeGenerate, AQuantizedDraftModelGivesTheSameGreedyOutput) {
  auto draft = Model::load(test::shared_path("models/stories260K-Q8_0.gguf"), kernels_);
  ASSERT_TRUE(draft.ok()) << draft.error().message;
  ExecContext draft_ctx(2, kernels_);
  ModelDrafter drafter({.draft_max = 6, .p_min = 0.3f}, **draft, draft_ctx, 256);
  expect_same_output(kGreedy, drafter, 0.5);
}

TEST_F(SpeculativeGenerate, NgramLookupGivesTheSameGreedyOutput) {
  NgramDrafter drafter({.draft_max = 6, .ngram_max = 3, .ngram_min = 1});
  expect_same_output(kGreedy, drafter, 0.05);
}

TEST_F(SpeculativeGenerate, SeededSamplingGivesTheSameTextWithDrafts) {
  // Each emitted token is one draw from the target's sampler, as without drafts.
  GenerateOptions sampled{.n_predict = 96, .sampling = {.temperature = 0.8f, .seed = 11}};
  sampled.sampling.penalties.repeat = 1.1f;  // a stage that remembers the tokens
  ExecContext draft_ctx(2, kernels_);
  ModelDrafter drafter({.draft_max = 4, .p_min = 0.0f}, *model_, draft_ctx, 256);
  expect_same_output(sampled, drafter, 0.2);
}

TEST_F(SpeculativeGenerate, TheDraftModelSharesTheTargetsThreadPool) {
  ExecContext ctx(2, kernels_);
  ModelDrafter drafter({.draft_max = 4, .p_min = 0.0f}, *model_, ctx, 256);
  KvCache cache(model_->config, 256);
  const auto prompt = tokenizer_->encode("Once upon a time", true, false);
  std::vector<Token> got;
  auto stats = generate(*model_, ctx, cache, prompt, kGreedy,
                        {.is_end = nullptr, .on_token = [&](Token t) { got.push_back(t); return true; }},
                        &drafter);
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_EQ(stats->n_generated, 96);
  EXPECT_GT(stats->n_accepted, 0);
}

TEST_F(SpeculativeGenerate, DraftsStopAtTheEndOfTheContext) {
  // 20 prompt tokens in a 40-token context: the last steps have room for fewer drafts.
  ExecContext ctx(2, kernels_), draft_ctx(2, kernels_);
  ModelDrafter drafter({.draft_max = 16, .p_min = 0.0f}, *model_, draft_ctx, 40);
  const auto prompt = tokenizer_->encode("Once upon a time, there was a little girl named Lily. She liked", true, false);
  ASSERT_LT(prompt.size(), 30u);
  for (Drafter* d : {static_cast<Drafter*>(nullptr), static_cast<Drafter*>(&drafter)}) {
    KvCache cache(model_->config, 40);
    auto stats = generate(*model_, ctx, cache, prompt, {.n_predict = -1, .sampling = {.temperature = 0}},
                          {.is_end = nullptr, .on_token = [](Token) { return true; }}, d);
    ASSERT_TRUE(stats.ok()) << stats.error().message;
    EXPECT_EQ(stats->finish, FinishReason::kContextFull);
    EXPECT_EQ(cache.length(0), 40);
    EXPECT_EQ(stats->n_generated, 41 - static_cast<int64_t>(prompt.size()));
  }
}

// --- the draft model's vocabulary ---

TEST_F(SpeculativeGenerate, ADraftWithAnotherVocabularyIsRefused) {
  auto other = gguf::File::open(test::shared_path("tokenizer/ggml-vocab-llama-spm.gguf"));
  ASSERT_TRUE(other.ok()) << other.error().message;
  auto other_tokenizer = Tokenizer::from_gguf(*other);
  ASSERT_TRUE(other_tokenizer.ok()) << other_tokenizer.error().message;
  const auto st = check_draft_vocabulary(tokenizer_->vocab(), (*other_tokenizer)->vocab());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message,
            "the draft model's vocabulary has 32000 tokens, the model's 512: speculation needs the "
            "same vocabulary");
  EXPECT_TRUE(check_draft_vocabulary(tokenizer_->vocab(), tokenizer_->vocab()).ok());
}

TEST(DraftVocabulary, OneTokenSpelledOtherwiseIsNamed) {
  VocabSpec spec{.tokens = {"<unk>", "<s>", "</s>", "a", "b", "c"}, .bos = 1, .eos = 2};
  auto target = Vocab::create(spec);
  spec.tokens[4] = "B";
  auto draft = Vocab::create(spec);
  ASSERT_TRUE(target.ok() && draft.ok());
  const auto st = check_draft_vocabulary(*target, *draft);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message,
            "the draft model's vocabulary differs from the model's: token 4 is 'B' there and 'b' here");
}

}  // namespace
}  // namespace mx
