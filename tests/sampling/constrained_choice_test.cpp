// A grammar-constrained choice when top-k narrows first looks for the k best allowed tokens
// directly instead of masking the vocabulary: it must choose exactly what the mask would,
// greedy (the best allowed token) and sampled (the softmax of the k best allowed ones).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "sampling/chain.h"
#include "sampling/gbnf.h"

namespace mx {
namespace {

// A vocabulary of short random texts over a small alphabet (token 0 ends generation), so a
// grammar allows some of them and refuses most.
std::shared_ptr<const TokenTexts> random_texts(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  const std::string alphabet = "abcxyz{} \"";
  std::vector<std::string> texts(n);
  for (size_t i = 1; i < n; ++i) {
    const size_t len = 1 + rng() % 4;
    for (size_t j = 0; j < len; ++j) texts[i] += alphabet[rng() % alphabet.size()];
  }
  return std::make_shared<const TokenTexts>(std::move(texts));
}

GrammarConstraint constraint(std::shared_ptr<const TokenTexts> texts) {
  auto g = parse_gbnf(R"(root ::= "{" [abc]+ "}")");
  EXPECT_TRUE(g.ok());
  return {std::make_shared<const Grammar>(std::move(*g)), std::move(texts), {0}};
}

// What the mask gives: the allowed token with the largest logit (the lower id on ties).
Token best_allowed(const std::vector<float>& logits, const GrammarSampler& g) {
  Token best = -1;
  for (Token t = 0; t < static_cast<Token>(logits.size()); ++t)
    if (g.allows(t) && (best < 0 || logits[t] > logits[best])) best = t;
  return best;
}

TEST(ConstrainedChoice, GreedyIsTheBestAllowedToken) {
  for (const size_t n_vocab : {2000, 20000}) {  // 20000: the allowed ones lie beyond the first few thousand
    const auto texts = random_texts(n_vocab, 7);
    const GrammarConstraint c = constraint(texts);
    const GrammarSampler reference(c);
    std::mt19937 rng(1);
    std::normal_distribution<float> normal;
    for (int trial = 0; trial < 50; ++trial) {
      std::vector<float> logits(n_vocab);
      for (float& x : logits) x = normal(rng);
      if (n_vocab > 10000)  // the model strongly wants what the grammar refuses
        for (Token t = 0; t < static_cast<Token>(n_vocab); ++t)
          if (!reference.allows(t)) logits[t] += 10.0f;
      SamplingParams p;
      p.temperature = 0;
      p.grammar = c;
      SamplerChain chain(p);
      EXPECT_EQ(chain.sample(logits), best_allowed(logits, reference)) << "trial " << trial;
    }
  }
}

TEST(ConstrainedChoice, SampledFromTheSoftmaxOfTheKBestAllowed) {
  const size_t n_vocab = 3000;
  const auto texts = random_texts(n_vocab, 11);
  const GrammarConstraint c = constraint(texts);
  const GrammarSampler reference(c);
  std::vector<float> logits(n_vocab);
  std::mt19937 rng(2);
  std::normal_distribution<float> normal;
  for (float& x : logits) x = 2.0f * normal(rng);
  // The three best allowed tokens and their softmax.
  std::vector<Token> allowed;
  for (Token t = 0; t < static_cast<Token>(n_vocab); ++t)
    if (reference.allows(t)) allowed.push_back(t);
  ASSERT_GE(allowed.size(), 3u);
  std::partial_sort(allowed.begin(), allowed.begin() + 3, allowed.end(), [&](Token a, Token b) { return logits[a] > logits[b]; });
  allowed.resize(3);
  double z = 0;
  for (Token t : allowed) z += std::exp(logits[t]);
  std::map<Token, int> seen;
  constexpr int kDraws = 3000;
  for (int i = 0; i < kDraws; ++i) {
    SamplingParams p;
    p.temperature = 1.0f;
    p.top_k = 3;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.seed = static_cast<uint64_t>(i);
    p.grammar = c;
    SamplerChain chain(p);
    ++seen[chain.sample(logits)];
  }
  int total = 0;
  for (Token t : allowed) {
    const double expected = kDraws * std::exp(logits[t]) / z;
    EXPECT_NEAR(seen[t], expected, 4.0 * std::sqrt(expected) + 1) << "token " << t;
    total += seen[t];
  }
  EXPECT_EQ(total, kDraws) << "only the three best allowed tokens are ever drawn";
}

}  // namespace
}  // namespace mx
