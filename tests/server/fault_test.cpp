// A fault in the engine ends exactly the request it hit, in the shape of that request's API:
// a whole reply becomes an HTTP error (500 when the model failed, 503 with Retry-After when
// memory ran out), a stream that has begun ends with its dialect's error event; a request
// running beside it gets its full reply. The model is served over HTTP by the dialect
// adapters on a runner whose forward pass fails any batch reaching position kPoisonAt, so a
// long prompt fails and a short one never does.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <new>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "server/anthropic_adapter.h"
#include "server/ollama_adapter.h"
#include "server/openai_adapter.h"
#include "server/responses_adapter.h"
#include "server/served_model.h"
#include "stories_test.h"

namespace mx::server {
namespace {

using nlohmann::json;

constexpr int32_t kPoisonAt = 100;

class FaultTest : public test::StoriesTest {
 protected:
  void SetUp() override {
    StoriesTest::SetUp();
    auto format = ChatFormat::from_model(model_->file, *tokenizer_);
    ASSERT_TRUE(format.ok()) << format.error().message;
    RunnerSettings settings{.ctx_size = 256, .parallel = 1, .threads = 2, .batch_size = 64, .prefix_cache_tokens = 0,
                            .timeout_seconds = 60, .kv_tokens = 0, .forward_hook = nullptr};
    settings.forward_hook = [this](const Batch& batch, const std::function<Status()>& forward) -> Status {
      for (const int32_t pos : batch.positions)
        if (pos >= kPoisonAt) {
          if (out_of_memory_) throw std::bad_alloc();
          return make_error("injected fault");
        }
      return forward();
    };
    LoadedWeights w{.owner = nullptr, .model = model_.get(), .tokenizer = tokenizer_.get(), .kernels = kernels_,
                    .format = std::move(*format), .defaults = std::nullopt};
    served_ = make_served_model(std::move(w), settings, defaults_, metrics_, admission_, nullptr);
    GenerationService& service = *served_->generation;
    http_.Post("/v1/chat/completions", [this, &service](const httplib::Request& q, httplib::Response& r) {
      openai_completion(service, {"stories", &defaults_, 15, &next_id_}, q.body, true, -1, r);
    });
    http_.Post("/v1/messages", [this, &service](const httplib::Request& q, httplib::Response& r) {
      anthropic_messages(service, {"stories", &defaults_}, q.body, -1, r);
    });
    http_.Post("/api/chat", [this, &service](const httplib::Request& q, httplib::Response& r) {
      ollama_generate(service, OllamaModel{"stories", &model_->file, 256, &defaults_, served_->chat_template}, q.body, true,
                      -1, r);
    });
    http_.Post("/v1/responses", [this, &service](const httplib::Request& q, httplib::Response& r) {
      responses_create(service, {"stories", &defaults_, nullptr}, q.body, -1, r);
    });
    port_ = http_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { http_.listen_after_bind(); });  // bound: connections wait in its backlog
  }
  void TearDown() override {
    http_.stop();
    if (thread_.joinable()) thread_.join();
  }

  httplib::Result post(const std::string& path, const json& body) {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(60, 0);
    return c.Post(path, body.dump(), "application/json");
  }
  // A body for `path` asking for `max_tokens` greedy tokens in reply to `text`.
  static json body(const std::string& path, const std::string& text, int max_tokens, bool stream) {
    const json messages = json::array({{{"role", "user"}, {"content", text}}});
    json b = {{"model", "stories"}, {"stream", stream}, {"temperature", 0}};
    if (path == "/api/chat") return {{"model", "stories"}, {"stream", stream}, {"messages", messages},
                                     {"options", {{"num_predict", max_tokens}, {"temperature", 0}}}};
    if (path == "/v1/responses") {
      b["input"] = text;
      b["max_output_tokens"] = max_tokens;
      return b;
    }
    b["messages"] = messages;
    b["max_tokens"] = max_tokens;
    return b;
  }
  // Long enough that the prompt reaches kPoisonAt.
  std::string long_text() const {
    std::string s;
    while (static_cast<int32_t>(tokenizer_->encode(s, true, false).size()) < kPoisonAt + 20)
      s += "Once upon a time there was a little dog who liked to run in the park with his friends. ";
    return s;
  }

  GenerateOptions defaults_;
  Metrics metrics_;
  Admission admission_{8, 0, 0};
  std::atomic<uint64_t> next_id_{1};
  std::atomic<bool> out_of_memory_{false};
  std::shared_ptr<ServedModel> served_;
  httplib::Server http_;
  int port_ = 0;
  std::thread thread_;
};

const char* const kPaths[] = {"/v1/chat/completions", "/v1/messages", "/api/chat", "/v1/responses"};

// The error a whole reply of `path` must be, with `status`.
void expect_error_shape(const std::string& path, const json& j, int status) {
  if (path == "/v1/messages") {
    EXPECT_EQ(j["type"], "error");
    EXPECT_EQ(j["error"]["type"], status == 503 ? "overloaded_error" : "api_error");
    EXPECT_TRUE(j["error"]["message"].is_string());
  } else if (path == "/api/chat") {
    ASSERT_TRUE(j["error"].is_string());
  } else {  // OpenAI's shape, the Responses API's too
    EXPECT_EQ(j["error"]["type"], "server_error");
    EXPECT_TRUE(j["error"]["message"].is_string());
  }
}

std::string error_message(const std::string& path, const json& j) {
  return path == "/api/chat" ? j["error"].get<std::string>() : j["error"]["message"].get<std::string>();
}

TEST_F(FaultTest, AFailedReplyIsA500InItsApisShapeAndTheRequestBesideItSucceeds) {
  for (const std::string path : kPaths) {
    SCOPED_TRACE(path);
    // The short request alone, then beside the failing one: the same greedy reply.
    auto alone = post(path, body(path, "Hi", 8, false));
    ASSERT_TRUE(alone);
    ASSERT_EQ(alone->status, 200) << alone->body;
    std::optional<httplib::Result> beside;
    std::thread other([&] { beside.emplace(post(path, body(path, "Hi", 8, false))); });
    auto failed = post(path, body(path, long_text(), 8, false));
    other.join();
    ASSERT_TRUE(failed);
    EXPECT_EQ(failed->status, 500) << failed->body;
    EXPECT_FALSE(failed->has_header("Retry-After"));
    const json j = json::parse(failed->body, nullptr, false);
    expect_error_shape(path, j, 500);
    EXPECT_NE(error_message(path, j).find("injected fault"), std::string::npos) << failed->body;
    ASSERT_TRUE(beside && *beside);
    EXPECT_EQ((*beside)->status, 200) << (*beside)->body;
    json a = json::parse(alone->body), b = json::parse((*beside)->body);
    for (const char* k : {"id", "created", "created_at", "total_duration", "load_duration", "prompt_eval_duration",
                          "eval_duration", "usage"}) {
      a.erase(k);
      b.erase(k);
    }
    if (path == "/v1/responses") {
      a = a["output_text"];
      b = b["output_text"];
    }
    if (path == "/v1/messages") {
      a = a["content"];
      b = b["content"];
    }
    EXPECT_EQ(a, b);
  }
}

TEST_F(FaultTest, OutOfMemoryIsA503WithRetryAfter) {
  out_of_memory_ = true;
  for (const std::string path : kPaths) {
    SCOPED_TRACE(path);
    auto r = post(path, body(path, long_text(), 8, false));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503) << r->body;
    EXPECT_EQ(r->get_header_value("Retry-After"), "1");
    const json j = json::parse(r->body, nullptr, false);
    expect_error_shape(path, j, 503);
    EXPECT_NE(error_message(path, j).find("out of memory"), std::string::npos) << r->body;
  }
  auto ok = post("/v1/chat/completions", body("/v1/chat/completions", "Hi", 8, false));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;  // the runner went on
}

TEST_F(FaultTest, AFailedStreamEndsWithItsApisErrorEvent) {
  for (const std::string path : kPaths) {
    SCOPED_TRACE(path);
    auto r = post(path, body(path, long_text(), 8, true));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);  // the headers went out before the fault
    const std::string& s = r->body;
    if (path == "/v1/chat/completions") {
      // As vLLM: a data event with OpenAI's error object, then [DONE]; no finish_reason.
      const std::string tail = "data: [DONE]\n\n";
      ASSERT_GE(s.size(), tail.size());
      EXPECT_EQ(s.substr(s.size() - tail.size()), tail);
      const size_t at = s.find("data: {\"error\"");
      ASSERT_NE(at, std::string::npos) << s;
      const json e = json::parse(s.substr(at + 6, s.find("\n\n", at) - at - 6));
      EXPECT_EQ(e["error"]["type"], "server_error");
      EXPECT_NE(e["error"]["message"].get<std::string>().find("injected fault"), std::string::npos);
      EXPECT_EQ(s.find("\"finish_reason\":\"stop\""), std::string::npos);
    } else if (path == "/v1/messages") {
      const size_t at = s.find("event: error\ndata: ");
      ASSERT_NE(at, std::string::npos) << s;
      const json e = json::parse(s.substr(at + 19, s.find("\n\n", at) - at - 19));
      EXPECT_EQ(e["type"], "error");
      EXPECT_EQ(e["error"]["type"], "api_error");
      EXPECT_EQ(s.find("message_stop"), std::string::npos);
      EXPECT_EQ(s.find("event: ", at + 1), std::string::npos);  // the last event
    } else if (path == "/api/chat") {
      ASSERT_FALSE(s.empty());
      const size_t start = s.rfind('\n', s.size() - 2);
      const json last = json::parse(s.substr(start == std::string::npos ? 0 : start + 1));
      ASSERT_TRUE(last["error"].is_string()) << s;
      EXPECT_NE(last["error"].get<std::string>().find("injected fault"), std::string::npos);
      EXPECT_EQ(s.find("\"done\":true"), std::string::npos);
    } else {
      const size_t at = s.find("event: response.failed\ndata: ");
      ASSERT_NE(at, std::string::npos) << s;
      const json e = json::parse(s.substr(at + 29, s.find("\n\n", at) - at - 29));
      EXPECT_EQ(e["response"]["status"], "failed");
      EXPECT_EQ(e["response"]["error"]["code"], "server_error");
      EXPECT_EQ(s.find("response.completed"), std::string::npos);
      EXPECT_EQ(s.find("event: ", at + 1), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace mx::server
