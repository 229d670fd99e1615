#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <map>
#include <random>

#include "sampling/chain.h"
#include "sampling/temperature.h"
#include "sampling/top_k.h"
#include "sampling/top_p.h"
#include "sampling/dry.h"
#include "sampling/logit_bias.h"
#include "sampling/min_p.h"
#include "sampling/mirostat.h"
#include "sampling/penalties.h"
#include "sampling/typical.h"
#include "sampling/xtc.h"
#include "sampling/logprobs.h"

namespace mx {
namespace {

Candidates make(std::vector<float> logits) {
  Candidates c;
  c.reset(logits);
  return c;
}

TEST(Candidates, SoftmaxSumsToOneAndSortsDescending) {
  auto c = make({1.0f, 3.0f, 2.0f, 3.0f});
  c.softmax();
  double sum = 0;
  for (auto& x : c.items) sum += x.p;
  EXPECT_NEAR(sum, 1.0, 1e-6);
  // Ties keep the lower id first.
  EXPECT_EQ(c.items[0].id, 1);
  EXPECT_EQ(c.items[1].id, 3);
  EXPECT_EQ(c.items[2].id, 2);
  EXPECT_NEAR(c.items[0].p, std::exp(3.0) / (std::exp(1.0) + 2 * std::exp(3.0) + std::exp(2.0)), 1e-6);
}

TEST(TopK, KeepsTheKLargest) {
  auto c = make({0.1f, 5.0f, -1.0f, 4.0f, 3.0f});
  TopK(2).apply(c);
  ASSERT_EQ(c.items.size(), 2u);
  EXPECT_EQ(c.items[0].id, 1);
  EXPECT_EQ(c.items[1].id, 3);
  auto all = make({1, 2, 3});
  TopK(0).apply(all);
  EXPECT_EQ(all.items.size(), 3u);
}

// Logits with many ties (few distinct values) and some -inf, as masks leave them.
std::vector<float> tied_logits(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<float> logits(n);
  for (float& x : logits) x = rng() % 13 == 0 ? -INFINITY : static_cast<float>(rng() % 20) * 0.5f;
  return logits;
}

TEST(Candidates, ResetTopIsResetThenTopK) {
  for (uint32_t seed : {1u, 2u, 3u})
    for (size_t k : {1u, 2u, 7u, 40u, 999u, 1000u, 1500u}) {
      const auto logits = tied_logits(1000, seed);
      Candidates want;
      want.reset(logits);
      TopK(static_cast<int>(k)).apply(want);
      want.sort_desc();  // k >= n leaves them unsorted: compare in top-k's order
      Candidates got;
      got.reset_top(logits, k);
      ASSERT_EQ(got.items.size(), want.items.size()) << "k " << k;
      for (size_t i = 0; i < got.items.size(); ++i) {
        EXPECT_EQ(got.items[i].id, want.items[i].id) << "k " << k << " at " << i;
        EXPECT_EQ(got.items[i].logit, want.items[i].logit);
      }
      EXPECT_TRUE(got.sorted);
    }
}

TEST(Argmax, FirstOfTheLargestAtAnyLength) {
  std::mt19937 rng(4);
  for (size_t n = 1; n < 40; ++n)
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<float> logits(n);
      for (float& x : logits) x = static_cast<float>(rng() % 5);
      const auto want = static_cast<Token>(std::max_element(logits.begin(), logits.end()) - logits.begin());
      ASSERT_EQ(argmax(logits), want) << "n " << n;
    }
  EXPECT_EQ(argmax(std::vector<float>{-INFINITY, -INFINITY}), 0);
  EXPECT_EQ(argmax(std::vector<float>{NAN, 1.0f, 3.0f, NAN, 3.0f}), 2) << "NaN never wins";
}

TEST(SamplerChain, TopKFirstGivesTheSameTokensAsTheFullCandidateList) {
  // With top-k the first stage that narrows, the chain builds only the k best candidates;
  // an idle min-p ahead of it makes the chain take the full path. Same seed, same tokens.
  const auto logits = tied_logits(5000, 7);
  SamplingParams fast;
  fast.temperature = 1.5f;
  fast.top_p = 0.9f;
  fast.min_p = 0.0f;
  fast.seed = 11;
  SamplingParams full = fast;
  full.order = {SamplerStage::kMinP, SamplerStage::kPenalties, SamplerStage::kDry, SamplerStage::kTopK,
                SamplerStage::kTypicalP, SamplerStage::kTopP, SamplerStage::kXtc, SamplerStage::kTemperature};
  SamplerChain a(fast), b(full);
  for (int i = 0; i < 300; ++i) ASSERT_EQ(a.sample(logits), b.sample(logits)) << "draw " << i;
}

TEST(TopP, KeepsSmallestSetReachingMass) {
  // probabilities 0.5, 0.25, 0.125, 0.125 (logits are log2-spaced)
  auto c = make({std::log(4.0f), std::log(2.0f), std::log(1.0f), std::log(1.0f)});
  TopP(0.7f).apply(c);
  ASSERT_EQ(c.items.size(), 2u);  // 0.5 + 0.25 >= 0.7
  auto d = make({std::log(4.0f), std::log(2.0f), std::log(1.0f), std::log(1.0f)});
  TopP(0.5f).apply(d);
  EXPECT_EQ(d.items.size(), 1u);
}

TEST(Temperature, ScalesLogits) {
  auto c = make({2.0f, -4.0f});
  Temperature(0.5f).apply(c);
  EXPECT_FLOAT_EQ(c.items[0].logit, 4.0f);
  EXPECT_FLOAT_EQ(c.items[1].logit, -8.0f);
}

TEST(SamplerChain, GreedyPicksFirstMaximum) {
  SamplerChain chain(SamplingParams{.temperature = 0});
  std::vector<float> logits = {0.0f, 2.0f, 2.0f, 1.0f};
  EXPECT_EQ(chain.sample(logits), 1);
}

TEST(SamplerChain, SameSeedSameTokensAndDistributionFollowsProbabilities) {
  std::vector<float> logits = {std::log(0.6f), std::log(0.3f), std::log(0.1f)};
  SamplingParams p{.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .seed = 42};
  SamplerChain a(p), b(p);
  std::map<Token, int> counts;
  for (int i = 0; i < 20000; ++i) {
    const Token t = a.sample(logits);
    EXPECT_EQ(t, b.sample(logits));
    counts[t]++;
  }
  EXPECT_NEAR(counts[0] / 20000.0, 0.6, 0.02);
  EXPECT_NEAR(counts[1] / 20000.0, 0.3, 0.02);
  EXPECT_NEAR(counts[2] / 20000.0, 0.1, 0.02);
  SamplerChain other(SamplingParams{.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .seed = 43});
  int differ = 0;
  SamplerChain again(p);
  for (int i = 0; i < 100; ++i) differ += again.sample(logits) != other.sample(logits);
  EXPECT_GT(differ, 0);
}

TEST(SamplerChain, TopKOneIsGreedyEvenWithTemperature) {
  SamplerChain chain(SamplingParams{.temperature = 1.5f, .top_k = 1, .top_p = 1.0f, .seed = 1});
  std::vector<float> logits = {0.5f, 0.1f, 0.9f, 0.2f};
  for (int i = 0; i < 50; ++i) EXPECT_EQ(chain.sample(logits), 2);
}

// Probabilities 0.5, 0.25, 0.125, 0.125.
std::vector<float> halves() { return {std::log(4.0f), std::log(2.0f), std::log(1.0f), std::log(1.0f)}; }

std::vector<Token> ids(const Candidates& c) {
  std::vector<Token> out;
  for (const auto& x : c.items) out.push_back(x.id);
  return out;
}

float logit_of(const Candidates& c, Token id) {
  for (const auto& x : c.items)
    if (x.id == id) return x.logit;
  return NAN;
}

TEST(LogitBias, AddsAndBans) {
  auto c = make({1.0f, 2.0f, 3.0f});
  LogitBias({{0, 5.0f}, {2, -INFINITY}}).apply(c);
  EXPECT_FLOAT_EQ(logit_of(c, 0), 6.0f);
  EXPECT_FLOAT_EQ(logit_of(c, 1), 2.0f);
  c.softmax();
  EXPECT_EQ(c.items.back().id, 2);
  EXPECT_EQ(c.items.back().p, 0.0f);  // a banned token has probability 0
}

TEST(Penalties, RepeatFrequencyPresenceOverTheWindow) {
  Penalties pen({.last_n = 3, .repeat = 2.0f, .frequency = 0.5f, .presence = 0.25f});
  for (Token t : {3, 0, 1, 1}) pen.accept(t);  // window: 0, 1, 1 (3 fell out)
  auto c = make({4.0f, -4.0f, 1.0f, 2.0f});
  pen.apply(c);
  EXPECT_FLOAT_EQ(logit_of(c, 0), 4.0f / 2 - 0.5f - 0.25f);         // once, positive: divided
  EXPECT_FLOAT_EQ(logit_of(c, 1), -4.0f * 2 - 2 * 0.5f - 0.25f);    // twice, negative: multiplied
  EXPECT_FLOAT_EQ(logit_of(c, 2), 1.0f);                            // never seen
  EXPECT_FLOAT_EQ(logit_of(c, 3), 2.0f);                            // outside the window
}

TEST(Dry, PenalisesTheTokenThatExtendsARepeat) {
  // Context "5 6 7 8 | 5 6 7": emitting 8 would repeat "5 6 7 8"; the repeat so far is 3 long.
  Dry dry({.multiplier = 1.0f, .base = 2.0f, .allowed_length = 2, .last_n = -1}, {});
  for (Token t : {5, 6, 7, 8, 9, 5, 6, 7}) dry.accept(t);
  auto c = make(std::vector<float>(10, 0.0f));
  dry.apply(c);
  EXPECT_FLOAT_EQ(logit_of(c, 8), -std::pow(2.0f, 3 - 2));
  for (Token t : {0, 5, 6, 7, 9}) EXPECT_FLOAT_EQ(logit_of(c, t), 0.0f) << t;

  // A sequence breaker inside the repeat cuts it short: only "7" repeats (length 1, free).
  Dry broken({.multiplier = 1.0f, .base = 2.0f, .allowed_length = 2, .last_n = -1}, {6});
  for (Token t : {5, 6, 7, 8, 9, 5, 6, 7}) broken.accept(t);
  auto d = make(std::vector<float>(10, 0.0f));
  broken.apply(d);
  EXPECT_FLOAT_EQ(logit_of(d, 8), 0.0f);
}

TEST(Typical, KeepsTokensNearTheEntropy) {
  // Entropy 1.75 ln 2; surprises ln 2, ln 4, ln 8: token 1 (ln 4) is the most typical.
  auto c = make(halves());
  Typical(0.2f).apply(c);
  EXPECT_EQ(ids(c), std::vector<Token>{1});
  auto d = make(halves());
  Typical(0.5f).apply(d);
  EXPECT_EQ(ids(d), (std::vector<Token>{0, 1}));
}

TEST(MinP, KeepsTokensAboveAFractionOfTheBest) {
  auto c = make(halves());
  MinP(0.3f).apply(c);  // 0.3 * 0.5 = 0.15: keeps 0.5 and 0.25
  EXPECT_EQ(ids(c), (std::vector<Token>{0, 1}));
  auto d = make(halves());
  MinP(0.0f).apply(d);
  EXPECT_EQ(d.items.size(), 4u);
}

TEST(Xtc, RemovesTopChoicesButTheLeastLikelyOfThem) {
  Rng rng(1);
  auto c = make(halves());
  Xtc(1.0f, 0.2f, rng).apply(c);  // 0.5 and 0.25 pass 0.2: 0.5 goes
  EXPECT_EQ(ids(c), (std::vector<Token>{1, 2, 3}));
  auto d = make(halves());
  Xtc(1.0f, 0.4f, rng).apply(d);  // only one token passes: nothing removed
  EXPECT_EQ(d.items.size(), 4u);
  auto e = make(halves());
  Xtc(0.0f, 0.2f, rng).apply(e);
  EXPECT_EQ(e.items.size(), 4u);
}

TEST(Temperature, DynamicRangeFollowsEntropy) {
  auto flat = make({3.0f, 3.0f, 3.0f, 3.0f});  // maximum entropy: the top of the range
  Temperature(1.0f, 0.5f).apply(flat);
  EXPECT_FLOAT_EQ(flat.items[0].logit, 2.0f);
  auto peaked = make({100.0f, 0.0f, 0.0f, 0.0f});  // ~zero entropy: the bottom (0.5)
  Temperature(1.0f, 0.5f).apply(peaked);
  EXPECT_NEAR(logit_of(peaked, 0), 200.0f, 1e-3);
}

TEST(Mirostat, V2KeepsSurpriseNearTargetAndIsDeterministic) {
  std::vector<float> logits(64);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = -0.15f * static_cast<float>(i);
  for (int version : {1, 2}) {
    Mirostat a(version, 3.0f, 0.1f, 64), b(version, 3.0f, 0.1f, 64);
    Rng ra(9), rb(9);
    double surprise = 0;
    const int steps = 3000;
    for (int i = 0; i < steps; ++i) {
      Candidates ca, cb;
      ca.reset(logits);
      cb.reset(logits);
      const Token t = a.choose(ca, ra);
      ASSERT_EQ(t, b.choose(cb, rb));
      Candidates full;
      full.reset(logits);
      full.softmax();
      for (const auto& x : full.items)
        if (x.id == t) surprise -= std::log2(x.p);
    }
    // The learnt cut keeps the average surprise near tau (loosely: a discrete distribution).
    EXPECT_NEAR(surprise / steps, 3.0, 0.6) << "v" << version;
  }
}

TEST(SamplerChain, ProbabilitiesSumToOneAndMaskedTokensNeverChosen) {
  std::vector<float> logits(50);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = std::sin(static_cast<float>(i));
  SamplingParams p{.temperature = 1.3f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f,
                   .logit_bias = {{7, -INFINITY}, {8, -INFINITY}}, .seed = 5};
  SamplerChain chain(p);
  for (int i = 0; i < 5000; ++i) {
    const Token t = chain.sample(logits);
    ASSERT_NE(t, 7);
    ASSERT_NE(t, 8);
  }
  Candidates c;
  c.reset(logits);
  LogitBias({{7, -INFINITY}}).apply(c);
  c.softmax();
  double sum = 0;
  for (const auto& x : c.items) sum += x.p;
  EXPECT_NEAR(sum, 1.0, 1e-6);
}

TEST(SamplerChain, GreedyStillAppliesPenalties) {
  SamplingParams p{.temperature = 0.0f, .penalties = {.last_n = 8, .repeat = 1.5f}};
  SamplerChain chain(p);
  chain.accept(0);
  std::vector<float> logits = {2.0f, 1.9f};
  EXPECT_EQ(chain.sample(logits), 1);  // 2.0 / 1.5 < 1.9
  SamplerChain plain(SamplingParams{.temperature = 0.0f});
  plain.accept(0);
  EXPECT_EQ(plain.sample(logits), 0);
}

TEST(SamplerChain, ValuesAreChecked) {
  EXPECT_FALSE(validate(SamplingParams{.top_p = 1.5f}).ok());
  EXPECT_FALSE(validate(SamplingParams{.penalties = {.repeat = 0.0f}}).ok());
  EXPECT_FALSE(validate(SamplingParams{.mirostat = 3}).ok());
  EXPECT_TRUE(validate(SamplingParams{}).ok());
}

}  // namespace
}  // namespace mx

namespace mx {
namespace {

TEST(Logprobs, LogSoftmaxOfTheRawLogits) {
  const std::vector<float> logits = {std::log(0.5f), std::log(0.25f), std::log(0.125f), std::log(0.125f)};
  const StepLogprobs s = step_logprobs(logits, 2, 3);
  EXPECT_EQ(s.chosen.token, 2);
  EXPECT_NEAR(s.chosen.logprob, std::log(0.125), 1e-6);
  ASSERT_EQ(s.top.size(), 3u);
  EXPECT_EQ(s.top[0].token, 0);
  EXPECT_NEAR(s.top[0].logprob, std::log(0.5), 1e-6);
  EXPECT_EQ(s.top[1].token, 1);
  EXPECT_EQ(s.top[2].token, 2);  // tie with 3: the lower id first
  // Shifting every logit changes nothing; top_n beyond the vocabulary is clipped.
  std::vector<float> shifted(logits);
  for (float& l : shifted) l += 100.0f;
  const StepLogprobs t = step_logprobs(shifted, 2, 10);
  EXPECT_NEAR(t.chosen.logprob, s.chosen.logprob, 1e-5);
  EXPECT_EQ(t.top.size(), 4u);
}

}  // namespace
}  // namespace mx
