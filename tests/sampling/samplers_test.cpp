#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "sampling/chain.h"
#include "sampling/temperature.h"
#include "sampling/top_k.h"
#include "sampling/top_p.h"

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

}  // namespace
}  // namespace mx
