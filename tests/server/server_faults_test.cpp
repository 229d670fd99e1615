// The server passes its fault hook and KV budget to the model's runner: a forward pass that
// fails ends only the reply whose rows it held (500 in OpenAI's shape), the reply beside it
// completes, and the server keeps serving. (tests/server/fault_test.cpp covers every API's
// shape on the adapters alone; this is the whole server.)
#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "served_stories_test.h"

namespace mx {
namespace {

constexpr int32_t kPoisonAt = 120;  // a batch holding this position fails

class ServerFaultsTest : public test::ServedStoriesTest {
 protected:
  void SetUp() override {
    ServedStoriesTest::SetUp();
    server::ServerOptions options = serve_options();
    options.parallel = 2;
    options.prefix_cache_tokens = 0;
    options.forward_hook = [this](const Batch& batch, const std::function<Status()>& forward) -> Status {
      for (const int32_t pos : batch.positions)
        if (pos >= kPoisonAt) {
          ++failures_;
          return make_error("injected fault");
        }
      return forward();
    };
    start_with_options(std::move(options));
  }
  static nlohmann::json chat(int max_tokens) {
    return {{"messages", {{{"role", "user"}, {"content", "Once upon a time"}}}},
            {"max_tokens", max_tokens}, {"temperature", 0}, {"ignore_eos", true}};
  }
  std::atomic<int> failures_{0};
};

TEST_F(ServerFaultsTest, AFailedStepEndsOnlyItsReplyAndTheServerGoesOn) {
  const nlohmann::json alone = post("/v1/chat/completions", chat(20));
  // The long reply reaches the poisoned position; the short one beside it does not.
  auto long_reply = std::async(std::launch::async, [&] { return post("/v1/chat/completions", chat(200), 500); });
  const nlohmann::json beside = post("/v1/chat/completions", chat(20));
  const nlohmann::json failed = long_reply.get();
  EXPECT_GT(failures_.load(), 0);
  EXPECT_EQ(failed["error"]["type"], "server_error") << failed.dump();
  EXPECT_NE(failed["error"]["message"].get<std::string>().find("injected fault"), std::string::npos) << failed.dump();
  EXPECT_EQ(beside["choices"][0]["message"]["content"], alone["choices"][0]["message"]["content"]);
  // Nothing is left running, and the next request is served.
  const nlohmann::json after = post("/v1/chat/completions", chat(20));
  EXPECT_EQ(after["choices"][0]["message"]["content"], alone["choices"][0]["message"]["content"]);
  // The runner publishes its counts after the step that ended the last reply: await them.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (server_->stats().running > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(server_->stats().running, 0);
}

}  // namespace
}  // namespace mx
