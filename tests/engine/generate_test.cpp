#include "engine/generate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>

#include "engine/grammar_setup.h"
#include "engine/perplexity.h"
#include "gguf/gguf_file.h"
#include "sampling/gbnf.h"
#include "stories_test.h"
#include "test_paths.h"
#include "tokenizer/stream_decoder.h"

namespace mx {
namespace {

using GenerateTest = test::StoriesTest;

TEST_F(GenerateTest, GreedyMatchesReferenceIds) {
  std::ifstream in(test::shared_path("golden/stories260K-once-upon-a-time.json"));
  const auto golden = nlohmann::json::parse(in);
  const std::vector<Token> prompt = golden["prompt_token_ids"];
  const std::vector<Token> want = golden["greedy_token_ids"];
  ExecContext ctx(2, kernels_);
  KvCache cache(model_->config, 128);
  std::vector<Token> got;
  GenerateOptions opt{.n_predict = static_cast<int64_t>(want.size()), .sampling = {.temperature = 0}};
  auto stats = generate(*model_, ctx, cache, prompt, opt,
                        {.is_end = nullptr, .on_token = [&](Token t) { got.push_back(t); return true; }});
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_EQ(got, want);
  EXPECT_EQ(stats->finish, FinishReason::kLength);
  EXPECT_EQ(stats->n_prompt, 5);
  EXPECT_EQ(stats->n_generated, 64);
}

TEST_F(GenerateTest, SameSeedSameTextWithOneOrTwoThreads) {
  const std::vector<Token> prompt = {1, 403, 407, 261, 378};
  GenerateOptions opt{.n_predict = 48, .sampling = {.temperature = 0.9f, .seed = 7}};
  opt.sampling.dry.multiplier = 0.5f;  // a stateful stage too
  std::vector<Token> runs[3];
  for (int i = 0; i < 3; ++i) {
    ExecContext ctx(i == 0 ? 1 : 2, kernels_);
    KvCache cache(model_->config, 128);
    if (i == 2) opt.sampling.seed = 8;
    auto s = generate(*model_, ctx, cache, prompt, opt,
                      {.is_end = nullptr, .on_token = [&](Token t) { runs[i].push_back(t); return true; }});
    ASSERT_TRUE(s.ok());
  }
  EXPECT_EQ(runs[0], runs[1]);
  EXPECT_NE(runs[0], runs[2]);  // another seed, another text
}

TEST_F(GenerateTest, LogprobsOfEachGeneratedToken) {
  ExecContext ctx(2, kernels_);
  KvCache cache(model_->config, 128);
  std::vector<StepLogprobs> steps;
  std::vector<Token> tokens;
  GenerateOptions opt{.n_predict = 16, .sampling = {.temperature = 0}, .top_logprobs = 5};
  auto s = generate(*model_, ctx, cache, std::vector<Token>{1, 403, 407}, opt,
                    {.is_end = nullptr,
                     .on_token = [&](Token t) { tokens.push_back(t); return true; },
                     .on_logprobs = [&](const StepLogprobs& l) { steps.push_back(l); }});
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(steps.size(), tokens.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    EXPECT_EQ(steps[i].chosen.token, tokens[i]);
    ASSERT_EQ(steps[i].top.size(), 5u);
    EXPECT_EQ(steps[i].top[0].token, tokens[i]);  // greedy picks the most likely
    EXPECT_FLOAT_EQ(steps[i].chosen.logprob, steps[i].top[0].logprob);
    double mass = 0;
    for (const auto& t : steps[i].top) {
      EXPECT_LE(t.logprob, 0.0f);
      mass += std::exp(t.logprob);
    }
    EXPECT_LE(mass, 1.0 + 1e-5);
  }
}

TEST_F(GenerateTest, GrammarConstrainedSamplesAllParse) {
  auto g = parse_gbnf(R"(root ::= "[" num ("," " "? num){0,4} "]"
num ::= "-"? [0-9]{1,3})");
  ASSERT_TRUE(g.ok()) << g.error().message;
  const auto grammar = std::make_shared<const Grammar>(std::move(*g));
  const std::regex valid(R"(\[-?[0-9]{1,3}(, ?-?[0-9]{1,3}){0,4}\])");
  ExecContext ctx(2, kernels_);
  int parsed = 0;
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    KvCache cache(model_->config, 128);
    GenerateOptions opt{.n_predict = 64, .sampling = {.temperature = 1.0f, .seed = seed}};
    opt.sampling.grammar = grammar_constraint(grammar, token_texts(*tokenizer_), *tokenizer_);
    std::string text;
    auto s = generate(*model_, ctx, cache, tokenizer_->encode("Numbers:", true, false), opt,
                      {.is_end = [&](Token t) { return tokenizer_->vocab().is_eog(t); },
                       .on_token = [&](Token t) { text += tokenizer_->token_to_piece(t); return true; },
                       .on_logprobs = nullptr});
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->finish, FinishReason::kEndOfText) << text;
    parsed += std::regex_match(text, valid);
    EXPECT_TRUE(std::regex_match(text, valid)) << "seed " << seed << ": '" << text << "'";
  }
  EXPECT_EQ(parsed, 100);
}

// Hot sampling over the whole vocabulary draws byte-fallback tokens in orders no character
// has. With each token's bytes the chain keeps the text well-formed: the streaming
// detokenizer never has to print U+FFFD. Without them it does, so the test can fail.
TEST_F(GenerateTest, SampledTextIsWellFormedUtf8WithTokenTexts) {
  ExecContext ctx(2, kernels_);
  const auto texts = token_texts(*tokenizer_);
  int replaced_without = 0;
  for (const bool guarded : {true, false})
    for (uint64_t seed = 1; seed <= 6; ++seed) {
      KvCache cache(model_->config, 256);
      GenerateOptions opt{.n_predict = 160,
                          .sampling = {.temperature = 3.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = seed}};
      if (guarded) opt.sampling.texts = texts;
      StreamDecoder decoder(*tokenizer_, {.drop_unfinished_tail = guarded});
      std::string text;
      auto s = generate(*model_, ctx, cache, tokenizer_->encode("Once upon a time", true, false), opt,
                        {.is_end = nullptr, .on_token = [&](Token t) { text += decoder.push(t); return true; }});
      ASSERT_TRUE(s.ok());
      text += decoder.flush();
      const bool replaced = text.find(utf8::kReplacement) != std::string::npos;
      if (guarded) EXPECT_FALSE(replaced) << "seed " << seed << ": " << text;
      replaced_without += replaced;
    }
  EXPECT_GT(replaced_without, 0) << "no seed drew an ill-formed byte sequence: the test proves nothing";
}

TEST_F(GenerateTest, StopsAtEndTokenCallbackOrFullContext) {
  ExecContext ctx(1, kernels_);
  const std::vector<Token> prompt = {1, 403, 407};
  {
    KvCache cache(model_->config, 64);
    auto s = generate(*model_, ctx, cache, prompt, {.n_predict = 50, .sampling = {.temperature = 0}},
                      {.is_end = [](Token) { return true; }, .on_token = nullptr});
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->finish, FinishReason::kEndOfText);
    EXPECT_EQ(s->n_generated, 0);
  }
  {
    KvCache cache(model_->config, 64);
    int n = 0;
    auto s = generate(*model_, ctx, cache, prompt, {.n_predict = 50, .sampling = {.temperature = 0}},
                      {.is_end = nullptr, .on_token = [&](Token) { return ++n < 5; }});
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->finish, FinishReason::kStopped);
    EXPECT_EQ(n, 5);
  }
  {
    KvCache cache(model_->config, 16);
    auto s = generate(*model_, ctx, cache, prompt, {.n_predict = -1, .sampling = {.temperature = 0}}, {});
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->finish, FinishReason::kContextFull);
    EXPECT_EQ(s->n_prompt + s->n_generated, 16 + 1);  // the last token is sampled but never fed
  }
}

TEST_F(GenerateTest, PromptLongerThanContextIsAnError) {
  ExecContext ctx(1, kernels_);
  KvCache cache(model_->config, 8);
  const std::vector<Token> prompt(8, 300);
  auto s = generate(*model_, ctx, cache, prompt, {}, {});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("context"), std::string::npos);
  KvCache other(model_->config, 8);
  EXPECT_FALSE(generate(*model_, ctx, other, std::vector<Token>{}, {}, {}).ok());
}

TEST_F(GenerateTest, PerplexityNeedsEnoughTokens) {
  ExecContext ctx(1, kernels_);
  const std::vector<Token> few(100, 300);
  EXPECT_FALSE(perplexity(*model_, ctx, few, 128, 1, {}).ok());
  const std::vector<Token> two_chunks(256, 300);
  auto r = perplexity(*model_, ctx, two_chunks, 128, 1, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->n_chunks, 2);
  EXPECT_EQ(r->n_scored, 2 * 63);
  EXPECT_GT(r->ppl, 1.0);
}

}  // namespace
}  // namespace mx
