// The generation core without HTTP: what any dialect adapter gets from it. Prompts are
// checked and refused with neutral errors, admission limits hold, and a choice's updates
// carry its text, logprobs and one finish with the stats usage is made from.
#include "server/generation_service.h"

#include <gtest/gtest.h>

#include <thread>

#include "engine/sampling_setup.h"
#include "stories_test.h"

namespace mx::server {
namespace {

using namespace std::chrono_literals;

class ServerGenerationTest : public test::StoriesTest {
 protected:
  void SetUp() override {
    StoriesTest::SetUp();
    runner_ = std::make_unique<BatchRunner>(*model_, kernels_, 2, 2, 128);
    service_ = std::make_unique<GenerationService>(*runner_, *tokenizer_, *ChatFormat::from_model(model_->file, *tokenizer_),
                                                   metrics_, admission_, 0);
  }
  GenerationRequest text_request(std::string prompt, int64_t max_tokens) const {
    GenerationRequest r;
    r.chat = false;
    r.prompt_text = std::move(prompt);
    r.options.n_predict = max_tokens;
    r.options.sampling.temperature = 0;
    return r;
  }
  // Every update of `choice` until its finish; its text and logprobs steps gathered.
  static ChoiceFinish drain(Generation& g, int choice, std::string& text, size_t& steps) {
    for (;;) {
      ChoiceUpdate u = g.next(choice, 1s);
      for (const chat::OutputEvent& e : u.events) {
        EXPECT_EQ(e.kind, chat::OutputEvent::Kind::kText);  // a plain prompt's reply is not parsed
        text += e.text;
      }
      steps += u.logprobs.size();
      if (u.finish) {
        EXPECT_TRUE(g.finished(choice));
        return *u.finish;
      }
    }
  }

  Metrics metrics_;
  Admission admission_{2, 2, 1};  // two requests in flight, one per API key
  std::unique_ptr<BatchRunner> runner_;
  std::unique_ptr<GenerationService> service_;
};

TEST_F(ServerGenerationTest, ChoicesBringTextLogprobsAndOneFinish) {
  GenerationRequest r = text_request("Once upon a time", 8);
  r.n = 2;
  r.ignore_eos = true;
  r.options.logprobs = true;
  r.echo = true;
  auto started = service_->start(r);
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<Generation>>(started));
  auto g = std::get<std::shared_ptr<Generation>>(started);
  ASSERT_EQ(g->choices(), 2);
  EXPECT_FALSE(g->parsed());
  EXPECT_EQ(g->echo(), "Once upon a time");
  std::vector<GenerateStats> stats;
  std::string first;
  for (int i = 0; i < 2; ++i) {
    std::string text;
    size_t steps = 0;
    const ChoiceFinish f = drain(*g, i, text, steps);
    EXPECT_EQ(f.reason, FinishKind::kLength);  // ignore_eos: to max tokens
    EXPECT_EQ(f.stats.n_generated, 8);
    EXPECT_EQ(steps, 8u);
    EXPECT_FALSE(text.empty());
    if (i == 0) first = text;
    else EXPECT_EQ(text, first);  // greedy: the seeds do not matter
    stats.push_back(f.stats);
  }
  const Usage u = usage_of(stats);
  EXPECT_EQ(u.prompt_tokens, static_cast<int64_t>(g->prompt().size()));
  EXPECT_EQ(u.completion_tokens, 16);
}

TEST_F(ServerGenerationTest, ScoredPromptPiecesJoinToTheEcho) {
  GenerationRequest r = text_request("Once upon a time there was", 1);
  r.echo = true;
  r.options.logprobs = true;
  r.options.prompt_logprobs = true;
  auto g = std::get<std::shared_ptr<Generation>>(service_->start(r));
  std::string joined;
  for (const std::string& p : g->prompt_pieces()) joined += p;
  EXPECT_EQ(joined, g->echo());
  EXPECT_EQ(g->prompt_pieces().size(), g->prompt().size());
}

TEST_F(ServerGenerationTest, BadPromptsAreNeutralErrorsNamingTheField) {
  auto error_of = [&](GenerationRequest r) {
    auto started = service_->start(std::move(r));
    EXPECT_TRUE(std::holds_alternative<GenerationError>(started));
    return std::holds_alternative<GenerationError>(started) ? std::get<GenerationError>(started) : GenerationError{};
  };
  std::string long_text;
  for (int i = 0; i < 200; ++i) long_text += "Once upon a time ";
  GenerationError e = error_of(text_request(long_text, 4));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.param, "prompt");
  EXPECT_EQ(e.code, "context_length_exceeded");

  GenerationRequest tokens = text_request("", 4);
  tokens.prompt_tokens = {1, static_cast<Token>(tokenizer_->vocab().size())};
  EXPECT_EQ(error_of(tokens).param, "prompt");

  GenerationRequest bias = text_request("Hi", 4);
  bias.options.sampling.logit_bias.push_back({static_cast<Token>(tokenizer_->vocab().size()), 1.0f});
  EXPECT_EQ(error_of(bias).param, "logit_bias");

  GenerationRequest grammar = text_request("Hi", 4);
  grammar.grammar = "root ::= (";
  e = error_of(grammar);
  EXPECT_EQ(e.param, "grammar");
  EXPECT_NE(e.message.find("grammar: "), std::string::npos);

  GenerationRequest chat;
  chat.messages = nlohmann::ordered_json::array({{{"role", "user"}, {"content", long_text}}});
  EXPECT_EQ(error_of(chat).param, "messages");
  EXPECT_EQ(admission_.in_flight(), 0);  // refused requests never took a place
}

TEST_F(ServerGenerationTest, AdmissionRefusesPastTheQueueAndPerKeyLimits) {
  auto a = admission_.admit(0);
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<void>>(a));
  auto same_key = admission_.admit(0);
  ASSERT_TRUE(std::holds_alternative<GenerationError>(same_key));
  EXPECT_EQ(std::get<GenerationError>(same_key).status, 429);
  EXPECT_EQ(std::get<GenerationError>(same_key).code, "rate_limit_exceeded");
  auto other_key = admission_.admit(1);
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<void>>(other_key));
  EXPECT_EQ(admission_.in_flight(), 2);
  auto full = admission_.admit(-1);
  ASSERT_TRUE(std::holds_alternative<GenerationError>(full));
  EXPECT_EQ(std::get<GenerationError>(full).status, 503);
  a = std::shared_ptr<void>();  // the place goes with the token
  EXPECT_EQ(admission_.in_flight(), 1);
  EXPECT_TRUE(std::holds_alternative<std::shared_ptr<void>>(admission_.admit(0)));
}

TEST_F(ServerGenerationTest, ADroppedGenerationCancelsItsChoicesAndFreesItsPlace) {
  {
    auto g = std::get<std::shared_ptr<Generation>>(service_->start(text_request("Once upon a time", 100000)));
    EXPECT_EQ(admission_.in_flight(), 1);
    g->next(0, 10ms);
  }
  EXPECT_EQ(admission_.in_flight(), 0);
  for (int i = 0; i < 500 && runner_->stats().running + runner_->stats().waiting > 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(runner_->stats().running + runner_->stats().waiting, 0);
}

TEST_F(ServerGenerationTest, ServesConfiguredDrySequenceBreakers) {
  // A huge bias makes greedy decoding repeat " do"; the loop guard's `penalize` switches DRY
  // on, which breaks the loop unless " do" is a sequence breaker (a breaker ends every repeat).
  constexpr Token kDo = 400;
  ASSERT_NE(tokenizer_->token_to_piece(kDo).find("do"), std::string::npos);
  auto finish_of = [&](const GenerateOptions& options) {
    GenerationRequest r = text_request("Once upon a time", 100);
    r.options = options;  // the defaults a request starts from (as the API parsers copy them)
    r.options.n_predict = 100;
    r.options.sampling.temperature = 0;
    r.options.sampling.logit_bias = {{kDo, 100.0f}};
    auto g = std::get<std::shared_ptr<Generation>>(service_->start(r));
    std::string text;
    size_t steps = 0;
    return drain(*g, 0, text, steps).reason;
  };
  EXPECT_EQ(finish_of(GenerateOptions{}), FinishKind::kLength);  // llama.cpp's breakers: DRY ends the loop

  // `moxing serve --dry-sequence-breaker do`: its defaults are finished once at start, as the CLI's.
  GenerateOptions served;
  served.sampling.dry_sequence_breakers = {"do"};
  ASSERT_TRUE(finish_sampling(served, sampling_vocab(*tokenizer_)).ok());
  EXPECT_EQ(finish_of(served), FinishKind::kRepetition);

  // Breakers a request names itself, not found beforehand, are found by the service.
  GenerateOptions asked;
  asked.sampling.dry_sequence_breakers = {"do"};
  EXPECT_EQ(finish_of(asked), FinishKind::kRepetition);
  asked.sampling.dry_sequence_breakers = {"x"};
  EXPECT_EQ(finish_of(asked), FinishKind::kLength);
}

}  // namespace
}  // namespace mx::server
