// Finishing sampling settings against a tokenizer, the step the CLI and the server share:
// DRY's breakers follow the configured texts (found once, then carried), the UTF-8 guard
// gets the token texts, and bad settings are refused.
#include "engine/sampling_setup.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "engine/dry_breakers.h"
#include "stories_test.h"

namespace mx {
namespace {

class SamplingSetupTest : public test::StoriesTest {
 protected:
  void SetUp() override {
    StoriesTest::SetUp();
    vocab_ = sampling_vocab(*tokenizer_);
  }
  SamplingVocab vocab_;
};

TEST_F(SamplingSetupTest, DefaultBreakersAreLlamaCppsAndFoundOnce) {
  GenerateOptions o;  // the loop guard penalizes by default: DRY may run
  ASSERT_TRUE(finish_sampling(o, vocab_).ok());
  ASSERT_NE(o.sampling.dry_breakers, nullptr);
  EXPECT_EQ(o.sampling.dry_breakers, vocab_.default_dry_breakers);  // shared, not found again
  EXPECT_EQ(o.sampling.dry_breakers->texts, (std::vector<std::string>{"\n", ":", "\"", "*"}));
  const std::vector<std::string> defaults = {"\n", ":", "\"", "*"};
  EXPECT_EQ(o.sampling.dry_breakers->tokens, dry_breaker_tokens(*tokenizer_, defaults));
  EXPECT_FALSE(o.sampling.dry_breakers->tokens.empty());
  EXPECT_EQ(o.sampling.texts, vocab_.texts);  // the UTF-8 guard's token texts
}

TEST_F(SamplingSetupTest, ConfiguredBreakersReplaceTheDefaultsAndTravelWithTheSettings) {
  GenerateOptions configured;
  configured.sampling.dry_sequence_breakers = {"x"};
  ASSERT_TRUE(finish_sampling(configured, vocab_).ok());
  const auto breakers = configured.sampling.dry_breakers;
  ASSERT_NE(breakers, nullptr);
  EXPECT_EQ(breakers->texts, std::vector<std::string>{"x"});
  EXPECT_FALSE(breakers->tokens.empty());
  EXPECT_NE(breakers->tokens, vocab_.default_dry_breakers->tokens);
  for (const Token t : breakers->tokens) EXPECT_NE(tokenizer_->token_to_piece(t).find('x'), std::string::npos);

  // A request copied from finished defaults keeps their tokens (no second scan) ...
  GenerateOptions request = configured;
  request.sampling.temperature = 0.3f;
  ASSERT_TRUE(finish_sampling(request, vocab_).ok());
  EXPECT_EQ(request.sampling.dry_breakers, breakers);
  // ... and one that names other breakers gets theirs.
  request.sampling.dry_sequence_breakers = {"\n", ":", "\"", "*"};
  ASSERT_TRUE(finish_sampling(request, vocab_).ok());
  EXPECT_EQ(request.sampling.dry_breakers, vocab_.default_dry_breakers);
}

TEST_F(SamplingSetupTest, BreakersAreFoundOnlyWhereDryMayRun) {
  GenerateOptions o;
  o.loop_guard.mode = LoopGuardMode::kOff;
  ASSERT_TRUE(finish_sampling(o, vocab_).ok());
  EXPECT_EQ(o.sampling.dry_breakers, nullptr);
  o.sampling.dry.multiplier = 0.8f;
  ASSERT_TRUE(finish_sampling(o, vocab_).ok());
  EXPECT_NE(o.sampling.dry_breakers, nullptr);
}

TEST_F(SamplingSetupTest, BadSettingsAreRefused) {
  GenerateOptions range;
  range.sampling.top_p = 1.5f;
  EXPECT_FALSE(finish_sampling(range, vocab_).ok());
  GenerateOptions penalty;
  penalty.sampling.penalties.repeat = 0.0f;  // would divide logits by zero
  EXPECT_FALSE(finish_sampling(penalty, vocab_).ok());
  GenerateOptions bias;
  bias.sampling.logit_bias.push_back({static_cast<Token>(tokenizer_->vocab().size()), 1.0f});
  auto st = finish_sampling(bias, vocab_);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("not in the vocabulary"), std::string::npos) << st.error().message;
}

}  // namespace
}  // namespace mx
