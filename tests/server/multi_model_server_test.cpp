// Two tiny models served by one server (stories260K and tiny-qwen2-Q8_0): /v1/models lists
// both with aliases, each request gets its own model's output (the same greedy text as when
// it runs alone, even when both run at once), an unknown model is a 404 in each API's shape,
// and with --max-loaded 1 a request for the other model waits for the streaming one to end
// without disturbing it. Prints the process's RSS before, with both loaded, and after unload.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/cpu_features.h"
#include "server/server.h"
#include "test_paths.h"

namespace mx::server {
namespace {

using nlohmann::json;

// VmRSS of this process in KiB (Linux), 0 if unknown.
int64_t rss_kib() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  return 0;
}

class MultiModelServerTest : public ::testing::Test {
 protected:
  static std::vector<ModelSpec> two_models() {
    return {{.id = "stories260K", .aliases = {"stories"}, .path = test::shared_path("models/stories260K.gguf")},
            {.id = "tiny-qwen2-Q8_0", .aliases = {"qwen"}, .path = test::shared_path("models/tiny/tiny-qwen2-Q8_0.gguf")}};
  }
  // Loads a model as `moxing serve` does, without the CLI: weights, tokenizer, own template.
  WeightsLoader loader() {
    return [this](const ModelSpec& spec) -> Expected<LoadedWeights> {
      ++loads_;
      struct Owned {
        std::unique_ptr<Model> model;
        std::unique_ptr<Tokenizer> tokenizer;
      };
      auto owned = std::make_shared<Owned>();
      auto m = Model::load(spec.path, kernels_);
      if (!m) return m.error();
      owned->model = std::move(*m);
      auto t = Tokenizer::from_gguf(owned->model->file);
      if (!t) return t.error();
      owned->tokenizer = std::move(*t);
      auto format = ChatFormat::from_model(owned->model->file, *owned->tokenizer);
      if (!format) return format.error();
      return LoadedWeights{.owner = owned, .model = owned->model.get(), .tokenizer = owned->tokenizer.get(),
                           .kernels = kernels_, .format = std::move(*format), .defaults = std::nullopt};
    };
  }
  void start(RegistryLimits limits = {}, int64_t ctx = 256, std::vector<ModelSpec> models = two_models()) {
    ServerOptions options;
    options.port = 0;
    options.ctx_size = ctx;
    options.parallel = 2;
    options.threads = 1;
    options.limits = limits;
    server_ = std::make_unique<Server>(std::move(options), std::move(models), loader());
    ASSERT_TRUE(server_->bind());
    thread_ = std::thread([this] { server_->serve(); });
  }
  void stop() {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }
  void TearDown() override { stop(); }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(120, 0);
    return c;
  }
  json get(const std::string& path) { return json::parse(client().Get(path)->body); }
  // A greedy completion's text from `model`.
  std::string complete(const std::string& model, int max_tokens = 24) {
    const json body = {{"model", model}, {"prompt", "Once upon a time"}, {"max_tokens", max_tokens}, {"temperature", 0}};
    auto r = client().Post("/v1/completions", body.dump(), "application/json");
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no reply");
    if (!r || r->status != 200) return "";
    const json j = json::parse(r->body);
    EXPECT_EQ(j["model"], model);
    return j["choices"][0]["text"];
  }
  std::string state_of(const std::string& id) {
    const json health = get("/health");
    for (const json& m : health["models"])
      if (m["id"] == id) return m["state"];
    return "absent";
  }

  KernelTable kernels_ = best_kernels(CpuFeatures::detect());
  std::atomic<int> loads_{0};
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

TEST_F(MultiModelServerTest, ListsBothModelsAndEachAnswersWithItsOwnOutputAloneOrTogether) {
  const int64_t rss_before = rss_kib();
  start();
  const json models = get("/v1/models");
  ASSERT_EQ(models["data"].size(), 2u) << models;
  EXPECT_EQ(models["data"][0]["id"], "stories260K");
  EXPECT_EQ(models["data"][0]["aliases"], json::array({"stories"}));
  EXPECT_EQ(models["data"][1]["id"], "tiny-qwen2-Q8_0");
  EXPECT_EQ(models["data"][1]["aliases"], json::array({"qwen"}));
  EXPECT_EQ(models["data"][1]["status"], "unloaded");
  EXPECT_EQ(loads_, 0) << "nothing loads before it is asked for";
  const json health = get("/health");
  EXPECT_EQ(health["status"], "ok");
  EXPECT_EQ(health["models"].size(), 2u);
  EXPECT_EQ(get("/v1/models/qwen")["id"], "tiny-qwen2-Q8_0");

  // Alone, one after the other: each model's own greedy text.
  const std::string stories = complete("stories");
  const std::string qwen = complete("tiny-qwen2-Q8_0");
  EXPECT_EQ(stories.substr(0, 12), ", there was ") << stories;
  EXPECT_NE(stories, qwen);
  EXPECT_EQ(loads_, 2);
  EXPECT_EQ(state_of("stories260K"), "loaded");
  EXPECT_EQ(state_of("tiny-qwen2-Q8_0"), "loaded");
  const int64_t rss_loaded = rss_kib();
  int64_t counted = 0;  // file + KV cache of both, as the memory budget counts them
  for (const ModelStatus& m : server_->registry().status()) counted += m.spec.estimated_bytes;

  // Together, several of each at once: the same texts.
  std::vector<std::future<std::string>> replies;
  for (int i = 0; i < 6; ++i)
    replies.push_back(std::async(std::launch::async, [this, i] { return complete(i % 2 ? "qwen" : "stories"); }));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(replies[i].get(), i % 2 ? qwen : stories) << i;
  // A request that names no model goes to the default (first) one.
  const json plain = {{"prompt", "Once upon a time"}, {"max_tokens", 24}, {"temperature", 0}};
  EXPECT_EQ(json::parse(client().Post("/v1/completions", plain.dump(), "application/json")->body)["choices"][0]["text"], stories);
  EXPECT_EQ(loads_, 2);

  // Per-model series carry the model's id.
  const std::string metrics = client().Get("/metrics")->body;
  EXPECT_NE(metrics.find("moxing_requests_finished_total{model=\"stories260K\"} 5"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("moxing_requests_finished_total{model=\"tiny-qwen2-Q8_0\"} 4"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("moxing_active_sequences{model=\"tiny-qwen2-Q8_0\"} "), std::string::npos);
  EXPECT_NE(metrics.find("moxing_time_to_first_token_seconds_count{model=\"stories260K\"} 5"), std::string::npos);
  EXPECT_NE(metrics.find("moxing_model_loaded{model=\"tiny-qwen2-Q8_0\"} 1"), std::string::npos);

  // Ollama's list names both; its chat picks a model by its tagged name.
  const json tags = get("/api/tags");
  ASSERT_EQ(tags["models"].size(), 2u);
  EXPECT_EQ(tags["models"][1]["name"], "tiny-qwen2-Q8_0:latest");
  const json ollama = {{"model", "qwen:latest"}, {"prompt", "Once upon a time"}, {"raw", true}, {"stream", false},
                       {"options", {{"temperature", 0}, {"num_predict", 24}}}};
  auto o = client().Post("/api/generate", ollama.dump(), "application/json");
  ASSERT_TRUE(o && o->status == 200) << (o ? o->body : "");
  EXPECT_EQ(json::parse(o->body)["response"], qwen);

  stop();  // unloads both
  const int64_t rss_after = rss_kib();
  std::printf("[ RSS      ] before load %lld KiB, both models loaded %lld KiB (+%lld; the budget counts %lld KiB), "
              "after unload %lld KiB (+%lld)\n",
              static_cast<long long>(rss_before), static_cast<long long>(rss_loaded),
              static_cast<long long>(rss_loaded - rss_before), static_cast<long long>(counted / 1024),
              static_cast<long long>(rss_after), static_cast<long long>(rss_after - rss_before));
}

TEST_F(MultiModelServerTest, TheMemoryBudgetCountsFileAndKvCacheAsTheLoadedModelTakes) {
  const int64_t budget = 1ll << 40;
  start({.max_loaded = 0, .max_bytes = budget});
  std::vector<int64_t> before;
  for (const ModelStatus& m : server_->registry().status()) before.push_back(m.spec.estimated_bytes);
  complete("stories");
  complete("qwen");
  const std::vector<ModelStatus> after = server_->registry().status();
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_GT(before[i], static_cast<int64_t>(std::filesystem::file_size(after[i].spec.path))) << "the KV cache counts";
    EXPECT_EQ(before[i], after[i].spec.estimated_bytes) << after[i].spec.id << ": the header's estimate is what it took";
  }
}

TEST_F(MultiModelServerTest, AModelThatFailsToLoadIsA500AndTriedAgainOnTheNextRequest) {
  std::vector<ModelSpec> models = two_models();
  models[1].path = "/nonexistent/broken.gguf";
  start({}, 256, models);
  const json body = {{"model", "qwen"}, {"prompt", "Hi"}, {"max_tokens", 2}};
  for (int attempt = 1; attempt <= 2; ++attempt) {
    auto r = client().Post("/v1/completions", body.dump(), "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 500) << r->body;
    EXPECT_EQ(json::parse(r->body)["error"]["code"], "model_load_failed");
    EXPECT_EQ(loads_, attempt) << "each request after a failure tries again";
  }
  EXPECT_EQ(state_of("tiny-qwen2-Q8_0"), "failed");
  EXPECT_FALSE(complete("stories").empty()) << "the other model still serves";
}

TEST_F(MultiModelServerTest, AnUnknownModelIsA404InEachApisShapeNamingWhatExists) {
  start();
  const json chat = {{"model", "gpt-4o"}, {"messages", {{{"role", "user"}, {"content", "Hi"}}}}, {"max_tokens", 2}};
  auto r = client().Post("/v1/chat/completions", chat.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  const json e = json::parse(r->body);
  EXPECT_EQ(e["error"]["code"], "model_not_found");
  const std::string message = e["error"]["message"];
  EXPECT_NE(message.find("'gpt-4o'"), std::string::npos) << message;
  EXPECT_NE(message.find("'stories260K' (alias 'stories')"), std::string::npos) << message;
  EXPECT_NE(message.find("'tiny-qwen2-Q8_0' (alias 'qwen')"), std::string::npos) << message;
  auto ollama = client().Post("/api/chat", chat.dump(), "application/json");
  EXPECT_EQ(ollama->status, 404);
  EXPECT_TRUE(json::parse(ollama->body)["error"].is_string()) << ollama->body;
  auto anthropic = client().Post("/v1/messages", chat.dump(), "application/json");
  EXPECT_EQ(anthropic->status, 404);
  EXPECT_EQ(json::parse(anthropic->body)["type"], "error") << anthropic->body;
  EXPECT_EQ(client().Get("/v1/models/gpt-4o")->status, 404);
  EXPECT_EQ(loads_, 0);
}

TEST_F(MultiModelServerTest, WithMaxLoadedOneTheOtherModelWaitsForTheStreamingOne) {
  start({.max_loaded = 1});
  const std::string qwen_alone = complete("qwen", 24);
  const json stream_body = {{"model", "stories"}, {"prompt", "Once upon a time"}, {"max_tokens", 200},
                            {"temperature", 0}, {"ignore_eos", true}, {"stream", true}};
  // Alone, the stories stream's text (this load unloads qwen).
  auto stream_text = [this, &stream_body](const std::function<void()>& on_first_chunk) {
    std::string body;
    bool first = true;
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/completions";
    req.body = stream_body.dump();
    req.set_header("Content-Type", "application/json");
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
      body.append(data, n);
      if (first) {
        first = false;
        on_first_chunk();
      }
      return true;
    };
    httplib::Response res;
    httplib::Error error;
    EXPECT_TRUE(client().send(req, res, error));
    EXPECT_EQ(res.status, 200);
    std::string text;
    for (size_t p = 0; (p = body.find("data: {", p)) != std::string::npos;) {
      const size_t end = body.find("\n\n", p);
      text += json::parse(body.substr(p + 6, end - p - 6))["choices"][0].value("text", "");
      p = end;
    }
    EXPECT_NE(body.find("data: [DONE]"), std::string::npos);
    return text;
  };
  const std::string stories_alone = stream_text([] {});
  EXPECT_EQ(state_of("tiny-qwen2-Q8_0"), "unloaded");

  // Again, and while it streams a request for qwen arrives: it must wait for room.
  std::future<std::string> qwen_reply;
  std::atomic<int> overlaps{0};  // moments qwen was loading or loaded while stories was leased
  std::atomic<int> waiting{0};   // moments qwen's request waited for room while stories streamed
  std::atomic<bool> watching{true};
  std::thread watcher;
  const std::string stories_again = stream_text([&] {
    qwen_reply = std::async(std::launch::async, [this] { return complete("qwen", 24); });
    watcher = std::thread([&] {
      while (watching) {
        const std::vector<ModelStatus> now = server_->registry().status();
        if (now[1].state != ModelState::kUnloaded && now[0].leases > 0) ++overlaps;
        if (now[1].state == ModelState::kUnloaded && now[0].leases > 0) ++waiting;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    });
  });
  EXPECT_EQ(qwen_reply.get(), qwen_alone);
  watching = false;
  watcher.join();
  EXPECT_EQ(stories_again, stories_alone) << "the stream was not disturbed";
  EXPECT_EQ(overlaps, 0) << "qwen loaded only once stories was free";
  // Informative: how long the overlap lasted depends on how fast the stream ends.
  std::printf("[ WAITED   ] qwen's request was seen waiting for room %d times while stories streamed\n", waiting.load());
  EXPECT_EQ(state_of("stories260K"), "unloaded");
  EXPECT_EQ(state_of("tiny-qwen2-Q8_0"), "loaded");
  EXPECT_EQ(loads_, 3) << "qwen, stories, qwen again";
}

}  // namespace
}  // namespace mx::server
