// A server that speculates: concurrent clients get the text they get without it, the usage
// reports the proposed tokens as OpenAI's predicted outputs do, and /metrics counts them.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "engine/model_drafter.h"
#include "served_stories_test.h"

namespace mx {
namespace {

class SpeculationServerTest : public test::ServedStoriesTest {
 protected:
  void serve_with(DrafterFactory make_drafter) {
    start_without_model();
    auto format = ChatFormat::from_model(model_->file, *tokenizer_);
    ASSERT_TRUE(format.ok()) << format.error().message;
    ASSERT_TRUE(server_->attach(*model_, *tokenizer_, kernels_, std::move(*format), std::nullopt,
                                std::move(make_drafter)).ok());
  }
  static nlohmann::json request(int i) {
    return {{"prompt", i % 2 ? "Once upon a time, there was a little girl named Lily." : "Tom had a big red ball."},
            {"max_tokens", 40}, {"temperature", i % 3 ? 0.0 : 0.7}, {"seed", 40 + i}};
  }
  // Four clients at once; the texts in request order.
  std::vector<std::string> four_at_once(std::vector<nlohmann::json>* usages = nullptr) {
    std::vector<std::future<nlohmann::json>> replies;
    for (int i = 0; i < 4; ++i)
      replies.push_back(std::async(std::launch::async, [this, i] { return post("/v1/completions", request(i)); }));
    std::vector<std::string> texts;
    for (auto& r : replies) {
      const auto reply = r.get();
      texts.push_back(reply["choices"][0]["text"]);
      if (usages) usages->push_back(reply["usage"]);
    }
    return texts;
  }
};

TEST_F(SpeculationServerTest, ClientsGetTheirTextAndTheUsageAndMetricsCountTheDrafts) {
  serve_with(nullptr);
  const auto plain = four_at_once();
  server_->stop();
  thread_.join();

  serve_with([this](ExecContext& ctx, int64_t n_ctx) {
    return std::make_unique<ModelDrafter>(SpeculationParams{.draft_max = 6, .p_min = 0.3f}, *model_, ctx, n_ctx);
  });
  std::vector<nlohmann::json> usages;
  EXPECT_EQ(four_at_once(&usages), plain);
  int64_t accepted = 0, rejected = 0;
  for (const auto& u : usages) {
    ASSERT_TRUE(u.contains("completion_tokens_details")) << u.dump();
    accepted += u["completion_tokens_details"]["accepted_prediction_tokens"].get<int64_t>();
    rejected += u["completion_tokens_details"]["rejected_prediction_tokens"].get<int64_t>();
  }
  EXPECT_GT(accepted, 0);
  // The runner refreshes its stats after each step: a reply can reach its client first.
  std::string metrics;
  for (int attempt = 0; attempt < 100; ++attempt) {
    metrics = client().Get("/metrics")->body;
    if (metrics.find("\nmoxing_active_sequences 0\n") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(metrics.find("\nmoxing_speculative_drafted_tokens_total " + std::to_string(accepted + rejected) + "\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("\nmoxing_speculative_accepted_tokens_total " + std::to_string(accepted) + "\n"),
            std::string::npos)
      << metrics;
}

}  // namespace
}  // namespace mx
