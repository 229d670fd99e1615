// The HTTP server end to end, in-process on a free port of 127.0.0.1: OpenAI's response
// shapes, streaming, errors, API keys, and continuous batching under concurrent clients
// (same tokens as one at a time; clients that leave mid-stream free their sequence).
#include "server/server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <cstring>
#include <thread>

#include "cli/common.h"
#include "core/utf8.h"
#include "engine/embedding.h"
#include "gguf/gguf_file.h"
#include "server/web_files.h"
#include "served_stories_test.h"
#include "test_paths.h"

namespace mx::server {
namespace {

using nlohmann::json;

// The shared served-model fixture, with readers for OpenAI's streamed replies.
class ServerTest : public test::ServedStoriesTest {
 protected:
  // The data lines of a streamed reply, [DONE] excluded; `done` tells whether it came.
  static std::vector<json> events(const std::string& body, bool* done) {
    std::vector<json> out;
    *done = false;
    for (size_t p = 0; (p = body.find("data: ", p)) != std::string::npos;) {
      const size_t end = body.find("\n\n", p);
      const std::string data = body.substr(p + 6, end - p - 6);
      if (data == "[DONE]") *done = true;
      else out.push_back(json::parse(data));
      p = end;
    }
    return out;
  }
  std::string stream_text(const json& request) {
    auto r = client().Post("/v1/chat/completions", request.dump(), "application/json");
    EXPECT_TRUE(r && r->status == 200);
    if (!r) return "";
    bool done = false;
    std::string text;
    for (const json& e : events(r->body, &done))
      if (!e["choices"].empty()) text += e["choices"][0]["delta"].value("content", "");
    EXPECT_TRUE(done);
    return text;
  }
};

TEST_F(ServerTest, CompletionsChatModelsAndStreamingAgree) {
  start();
  const json models = json::parse(client().Get("/v1/models")->body);
  EXPECT_EQ(models["object"], "list");
  EXPECT_EQ(models["data"][0]["object"], "model");
  EXPECT_EQ(json::parse(client().Get("/health")->body)["status"], "ok");

  const json c = post("/v1/completions", {{"prompt", "Once upon a time"}, {"max_tokens", 16}, {"temperature", 0}});
  EXPECT_EQ(c["object"], "text_completion");
  EXPECT_EQ(c["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(c["usage"]["completion_tokens"], 16);
  EXPECT_EQ(c["usage"]["total_tokens"], c["usage"]["prompt_tokens"].get<int>() + 16);
  // The same text generate() gives for the same tokens.
  EXPECT_EQ(c["choices"][0]["text"].get<std::string>().substr(0, 12), ", there was ") << c;

  const json chat_request = {{"messages", {{{"role", "system"}, {"content", "Be brief."}}, {{"role", "user"}, {"content", "Tell a story"}}}},
                             {"max_tokens", 24}, {"temperature", 0}};
  const json chat = post("/v1/chat/completions", chat_request);
  EXPECT_EQ(chat["object"], "chat.completion");
  EXPECT_EQ(chat["choices"][0]["message"]["role"], "assistant");
  const std::string whole = chat["choices"][0]["message"]["content"];
  EXPECT_FALSE(whole.empty());
  json streamed = chat_request;
  streamed["stream"] = true;
  EXPECT_EQ(stream_text(streamed), whole);
  streamed["stream_options"] = {{"include_usage", true}};
  auto r = client().Post("/v1/chat/completions", streamed.dump(), "application/json");
  bool done = false;
  const auto ev = events(r->body, &done);
  ASSERT_GE(ev.size(), 3u);
  EXPECT_EQ(ev.front()["choices"][0]["delta"]["role"], "assistant");
  EXPECT_TRUE(ev.back()["choices"].empty());
  EXPECT_EQ(ev.back()["usage"]["completion_tokens"], 24);
  EXPECT_EQ(ev[ev.size() - 2]["choices"][0]["finish_reason"], "length");
}

TEST_F(ServerTest, BadRequestsGetOpenAiErrors) {
  start();
  auto expect_error = [&](const std::string& path, const std::string& body, int status, const std::string& param) {
    auto r = client().Post(path, body, "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, status) << body << " -> " << r->body;
    const json e = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(e.contains("error")) << r->body;
    EXPECT_TRUE(e["error"]["message"].is_string());
    if (!param.empty()) EXPECT_EQ(e["error"]["param"], param) << r->body;
  };
  expect_error("/v1/chat/completions", "{not json", 400, "");
  expect_error("/v1/chat/completions", R"({"messages": "hi"})", 400, "messages");
  expect_error("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "x"}], "temperature": "warm"})", 400, "temperature");
  expect_error("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": -1})", 400, "max_tokens");
  expect_error("/v1/completions", R"({"prompt": [1, 99999]})", 400, "prompt");
  expect_error("/v1/completions", R"({"prompt": "x", "response_format": {"type": "json_schema", "json_schema": {"schema": {"type": "string", "pattern": "a"}}}})",
               400, "response_format.json_schema.schema");
  std::string long_prompt;
  for (int i = 0; i < 300; ++i) long_prompt += "once upon a time ";
  expect_error("/v1/completions", json{{"prompt", long_prompt}}.dump(), 400, "prompt");
  auto r = client().Post("/v1/completions", json{{"prompt", long_prompt}}.dump(), "application/json");
  EXPECT_EQ(json::parse(r->body)["error"]["code"], "context_length_exceeded");
  EXPECT_EQ(client().Get("/v1/nothing")->status, 404);
  // Unknown fields are ignored.
  post("/v1/completions", {{"prompt", "Hi"}, {"max_tokens", 2}, {"frobnicate", true}});
}

TEST_F(ServerTest, ApiKeyIsCheckedOnEveryRouteButHealth) {
  ServerOptions o = serve_options();
  o.api_keys = {"secret-key"};
  start_with_options(o);
  httplib::Client c = client();
  EXPECT_EQ(c.Get("/health")->status, 200);
  EXPECT_EQ(c.Get("/v1/models")->status, 401);
  auto wrong = c.Post("/v1/completions", httplib::Headers{{"Authorization", "Bearer secret-kez"}}, R"({"prompt": "x"})", "application/json");
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(json::parse(wrong->body)["error"]["code"], "invalid_api_key");
  auto right = c.Get("/v1/models", httplib::Headers{{"Authorization", "Bearer secret-key"}});
  EXPECT_EQ(right->status, 200);
}

TEST_F(ServerTest, JsonSchemaResponseFormatParses) {
  start();
  const json schema = {{"type", "object"},
                       {"properties", {{"name", {{"type", "string"}, {"maxLength", 12}}}, {"age", {{"type", "integer"}}}}},
                       {"required", {"name", "age"}}};
  const json reply = post("/v1/chat/completions", {{"messages", {{{"role", "user"}, {"content", "A person"}}}},
                                                   {"max_tokens", 100}, {"seed", 3},
                                                   {"response_format", {{"type", "json_schema"}, {"json_schema", {{"name", "p"}, {"schema", schema}}}}}});
  const json doc = json::parse(reply["choices"][0]["message"]["content"].get<std::string>(), nullptr, false);
  ASSERT_TRUE(doc.is_object()) << reply;
  EXPECT_TRUE(doc["name"].is_string());
  EXPECT_TRUE(doc["age"].is_number_integer());
}

TEST_F(ServerTest, ConcurrentRequestsGetTheirSequentialTokens) {
  ServerOptions o = serve_options();
  o.parallel = 8;
  o.batch_size = 8;  // one row per sequence: prompts go in chunks between decode rows
  start_with_options(o);
  const char* prompts[] = {"Once upon a time", "Tom had a big red ball.", "The sun was hot", "Lily saw a cat",
                           "One day, a dog", "The bird sang", "Sam wanted a toy", "It was a rainy day"};
  auto request = [&](int i) { return json{{"prompt", prompts[i % 8]}, {"max_tokens", 20 + i % 5}, {"temperature", 0}}; };
  std::vector<std::string> alone(16);
  for (int i = 0; i < 16; ++i) alone[i] = post("/v1/completions", request(i))["choices"][0]["text"];
  std::vector<std::string> together(16);
  std::vector<std::thread> clients;
  for (int i = 0; i < 16; ++i)
    clients.emplace_back([&, i] {
      auto r = client().Post("/v1/completions", request(i).dump(), "application/json");
      if (r && r->status == 200) together[i] = json::parse(r->body)["choices"][0]["text"];
    });
  for (auto& t : clients) t.join();
  for (int i = 0; i < 16; ++i) EXPECT_EQ(together[i], alone[i]) << "request " << i;
  EXPECT_GT(server_->stats().scheduler.max_batch, 1);
  EXPECT_LE(server_->stats().scheduler.max_batch, 8);
}

// 64 clients at once (the listen queue must take them all), a third leaving mid-stream.
TEST_F(ServerTest, ClientsThatLeaveMidStreamFreeTheirSequences) {
  ServerOptions o = serve_options();
  o.parallel = 8;
  start_with_options(o);
  const json body = {{"messages", {{{"role", "user"}, {"content", "Tell me a long story"}}}}, {"max_tokens", 200},
                     {"stream", true}, {"loop_guard", "off"}};
  std::vector<std::thread> clients;
  std::atomic<int> completed{0};
  for (int i = 0; i < 64; ++i)
    clients.emplace_back([&, i] {
      httplib::Client c = client();
      int chunks = 0;
      std::string got;
      httplib::Request req;
      req.method = "POST";
      req.path = "/v1/chat/completions";
      req.body = body.dump();
      req.set_header("Content-Type", "application/json");
      req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
        got.append(data, n);
        return i % 3 != 0 || ++chunks < 3;  // a third leave after a few chunks
      };
      httplib::Response res;
      httplib::Error error;
      const bool r = c.send(req, res, error);
      if (i % 3 != 0 && r && got.find("data: [DONE]") != std::string::npos) ++completed;
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(completed.load(), 42);
  // Every sequence ends and releases its cache within a few steps (a reply can reach its
  // client a step before its sequence is released).
  auto wait_idle = [&] {
    for (int i = 0; i < 100 && (server_->stats().running > 0 || server_->stats().kv_used > 0); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  };
  wait_idle();
  EXPECT_EQ(server_->stats().running, 0u);
  EXPECT_EQ(server_->stats().kv_used, 0);
  const BatchRunnerStats idle = server_->stats();
  EXPECT_EQ(idle.kv_pages.used, idle.prefix_cache.blocks_used) << "the only pages still held are the prefix cache's";
  // And the server still answers.
  post("/v1/completions", {{"prompt", "Hi"}, {"max_tokens", 2}});
  wait_idle();
  const std::string metrics = client().Get("/metrics")->body;
  EXPECT_NE(metrics.find("moxing_requests_total{route=\"chat\"} 64"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("moxing_requests_cancelled_total 22"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("moxing_active_sequences 0"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("moxing_kv_cache_used_tokens 0"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("moxing_time_to_first_token_seconds_count 43"), std::string::npos) << metrics;
}

TEST_F(ServerTest, HealthSaysLoadingAndTheApiWaitsUntilTheModelIsAttached) {
  start_without_model();
  auto health = client().Get("/health");
  EXPECT_EQ(health->status, 503);
  EXPECT_EQ(json::parse(health->body)["status"], "loading");
  auto early = client().Post("/v1/completions", R"({"prompt": "Hi"})", "application/json");
  EXPECT_EQ(early->status, 503);
  EXPECT_EQ(json::parse(early->body)["error"]["code"], "model_loading");
  attach_model();
  EXPECT_EQ(client().Get("/health")->status, 200);
  post("/v1/completions", {{"prompt", "Hi"}, {"max_tokens", 2}});
}

std::vector<float> floats_of_base64(const std::string& text) {
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes;
  uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    if (c == '=') break;
    acc = acc << 6 | static_cast<uint32_t>(alphabet.find(c));
    if ((bits += 6) >= 8) bytes += static_cast<char>((acc >> (bits -= 8)) & 0xFF);
  }
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), out.size() * 4);
  return out;
}

TEST_F(ServerTest, EmbeddingsAreTheEnginesUnitVectorsAsFloatsOrBase64) {
  start();
  const json reply = post("/v1/embeddings", {{"input", {"Once upon a time", "Tom had a big red ball."}}});
  ASSERT_EQ(reply["data"].size(), 2u) << reply;
  EXPECT_EQ(reply["object"], "list");
  ExecContext ctx(1, kernels_);
  KvCache cache(model_->config, 256);
  int64_t tokens = 0;
  for (int i = 0; i < 2; ++i) {
    const json& item = reply["data"][i];
    EXPECT_EQ(item["index"], i);
    EXPECT_EQ(item["object"], "embedding");
    const auto got = item["embedding"].get<std::vector<float>>();
    const auto ids = tokenizer_->encode(i == 0 ? "Once upon a time" : "Tom had a big red ball.", true, false);
    tokens += static_cast<int64_t>(ids.size());
    const auto want = embed_tokens(*model_, ctx, cache, ids, model_->config.pooling);
    ASSERT_TRUE(want.ok());
    ASSERT_EQ(got.size(), want->size());
    double norm2 = 0;
    for (size_t j = 0; j < got.size(); ++j) {
      EXPECT_NEAR(got[j], (*want)[j], 1e-6);
      norm2 += got[j] * got[j];
    }
    EXPECT_NEAR(norm2, 1.0, 1e-4);
  }
  EXPECT_EQ(reply["usage"]["prompt_tokens"], tokens);
  const json b64 = post("/v1/embeddings", {{"input", "Once upon a time"}, {"encoding_format", "base64"}});
  EXPECT_EQ(floats_of_base64(b64["data"][0]["embedding"]), reply["data"][0]["embedding"].get<std::vector<float>>());
  post("/v1/embeddings", {{"input", "x"}, {"dimensions", 3}}, 400);
  post("/v1/embeddings", {{"input", json::array()}}, 400);
  std::string long_text;
  for (int i = 0; i < 300; ++i) long_text += "once upon a time ";
  EXPECT_EQ(post("/v1/embeddings", {{"input", long_text}}, 400)["error"]["code"], "context_length_exceeded");
}

TEST_F(ServerTest, SeveralChoicesAreSequencesWithConsecutiveSeeds) {
  start();
  const json base = {{"prompt", "Tom had a big red ball."}, {"max_tokens", 12}, {"temperature", 0.9}, {"seed", 7}};
  json three = base;
  three["n"] = 3;
  const json reply = post("/v1/completions", three);
  ASSERT_EQ(reply["choices"].size(), 3u) << reply;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(reply["choices"][i]["index"], i);
    json alone = base;
    alone["seed"] = 7 + i;
    EXPECT_EQ(reply["choices"][i]["text"], post("/v1/completions", alone)["choices"][0]["text"]) << "choice " << i;
  }
  EXPECT_EQ(reply["usage"]["completion_tokens"], 36);
  EXPECT_EQ(reply["usage"]["prompt_tokens"], post("/v1/completions", base)["usage"]["prompt_tokens"]);

  three["stream"] = true;
  auto r = client().Post("/v1/completions", three.dump(), "application/json");
  bool done = false;
  std::vector<std::string> texts(3);
  int finishes = 0;
  for (const json& e : events(r->body, &done))
    for (const json& c : e["choices"]) {
      texts[c["index"].get<int>()] += c["text"].get<std::string>();
      finishes += !c["finish_reason"].is_null();
    }
  EXPECT_TRUE(done);
  EXPECT_EQ(finishes, 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(texts[i], reply["choices"][i]["text"]) << "streamed choice " << i;
  post("/v1/completions", {{"prompt", "x"}, {"n", 0}}, 400);
}

// Hot samples biased towards byte-fallback tokens (without the UTF-8 guard they print
// U+FFFD many times a reply): every reply, streamed or whole, is well-formed UTF-8.
TEST_F(ServerTest, HotSamplesAreWellFormedUtf8) {
  start();
  json bias = json::object();  // stray continuation bytes and lead bytes become likely
  for (const int b : {0x80, 0xA9, 0xBD, 0xC3, 0xE4, 0xF0})
    bias[std::to_string(tokenizer_->vocab().byte_token(static_cast<uint8_t>(b)))] = 8;
  const json hot = {{"prompt", "Once upon a time"}, {"max_tokens", 160}, {"temperature", 2.0}, {"top_k", 0},
                    {"top_p", 1.0}, {"min_p", 0.0}, {"seed", 1}, {"n", 6}, {"ignore_eos", true}, {"logit_bias", bias}};
  const json reply = post("/v1/completions", hot);
  ASSERT_EQ(reply["choices"].size(), 6u) << reply;
  for (const json& c : reply["choices"]) {
    const std::string text = c["text"];
    EXPECT_TRUE(utf8::is_valid(text));
    EXPECT_EQ(text.find(utf8::kReplacement), std::string::npos) << text;
  }
  json streamed = hot;
  streamed["stream"] = true;
  auto r = client().Post("/v1/completions", streamed.dump(), "application/json");
  ASSERT_TRUE(r && r->status == 200);
  bool done = false;
  std::vector<std::string> texts(6);
  for (const json& e : events(r->body, &done))
    for (const json& c : e["choices"]) texts[c["index"].get<int>()] += c["text"].get<std::string>();
  EXPECT_TRUE(done);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(texts[i], reply["choices"][i]["text"]) << "streamed choice " << i;
}

TEST_F(ServerTest, IgnoreEosRunsToMaxTokens) {
  start();
  Token eos = -1;
  for (Token t = 0; t < tokenizer_->vocab().size() && eos < 0; ++t)
    if (tokenizer_->vocab().is_eog(t)) eos = t;
  ASSERT_GE(eos, 0);
  json body = {{"prompt", "Once upon a time"}, {"max_tokens", 10}, {"logit_bias", {{std::to_string(eos), 100}}}};
  EXPECT_EQ(post("/v1/completions", body)["choices"][0]["finish_reason"], "stop");
  body["ignore_eos"] = true;
  const json r = post("/v1/completions", body);
  EXPECT_EQ(r["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(r["usage"]["completion_tokens"], 10);
}

TEST_F(ServerTest, ASharedSystemPromptComesFromThePrefixCache) {
  ServerOptions o = serve_options();
  o.prefix_cache_tokens = 1024;
  start_with_options(o);
  const std::string system = "You tell short stories about a girl named Lily, her mom, her dog Max and the big park "
                             "near their house. Every story is happy and ends with a nap.";
  auto ask = [&](const std::string& question) {
    return post("/v1/chat/completions", {{"messages", {{{"role", "system"}, {"content", system}}, {{"role", "user"}, {"content", question}}}},
                                         {"max_tokens", 16}, {"temperature", 0}});
  };
  const json first = ask("Tell me about the dog.");
  EXPECT_EQ(first["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
  const json second = ask("Tell me about the tree.");
  const int cached = second["usage"]["prompt_tokens_details"]["cached_tokens"];
  EXPECT_GE(cached, 32) << second;
  EXPECT_LT(cached, second["usage"]["prompt_tokens"].get<int>());
  EXPECT_EQ(ask("Tell me about the dog.")["choices"][0]["message"]["content"], first["choices"][0]["message"]["content"]);
  const std::string metrics = client().Get("/metrics")->body;
  EXPECT_EQ(metrics.find("moxing_prefix_cache_hit_tokens_total 0\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("moxing_prefix_cache_hit_ratio 0."), std::string::npos) << metrics;
}

// A long request: 8 choices of 120 tokens, four sequences at a time.
const json kLongRequest = {{"prompt", "Once upon a time"}, {"max_tokens", 120}, {"n", 8}, {"loop_guard", "off"}};

TEST_F(ServerTest, AKeyAtItsLimitGets429AndOtherKeysGoOn) {
  ServerOptions o = serve_options();
  o.api_keys = {"key-a", "key-b"};
  o.max_per_key = 1;
  start_with_options(o);
  auto send = [&](const std::string& key, const json& body) {
    return client().Post("/v1/completions", httplib::Headers{{"Authorization", "Bearer " + key}}, body.dump(), "application/json");
  };
  std::thread busy([&] { EXPECT_EQ(send("key-a", kLongRequest)->status, 200); });
  for (int i = 0; i < 500 && server_->stats().running == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const json small = {{"prompt", "Hi"}, {"max_tokens", 2}};
  auto limited = send("key-a", small);
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(json::parse(limited->body)["error"]["code"], "rate_limit_exceeded");
  EXPECT_EQ(send("key-b", small)->status, 200);
  busy.join();
  EXPECT_EQ(send("key-a", small)->status, 200) << "the place is given back";
}

TEST_F(ServerTest, ARequestPastItsTimeoutEndsWithLength) {
  ServerOptions o = serve_options();
  o.timeout_seconds = 0.005;  // far less than 8 x 120 tokens take on any machine
  start_with_options(o);
  const json r = post("/v1/completions", kLongRequest);
  ASSERT_EQ(r["choices"].size(), 8u);
  EXPECT_LT(r["usage"]["completion_tokens"].get<int>(), 8 * 120);
  for (const json& c : r["choices"]) EXPECT_EQ(c["finish_reason"], "length");
  for (int i = 0; i < 100 && server_->stats().running > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(server_->stats().running, 0u);
}

TEST_F(ServerTest, ChatPageModelLookupAndCrossOriginCalls) {
  start();
  auto page = client().Get("/");
  if (find_web_file("/")) {
    EXPECT_EQ(page->status, 200);
    EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
    EXPECT_NE(page->body.find("<html"), std::string::npos);
  }
  for (const char* path : {"/../CMakeLists.txt", "/%2e%2e/CMakeLists.txt", "/web/index.html", "/nothing.js"})
    EXPECT_EQ(client().Get(path)->status, 404) << path;
  const std::string name = json::parse(client().Get("/v1/models")->body)["data"][0]["id"];
  EXPECT_EQ(json::parse(client().Get("/v1/models/" + name)->body)["id"], name);
  EXPECT_EQ(client().Get("/v1/models/other")->status, 404);
  auto preflight = client().Options("/v1/chat/completions");
  EXPECT_EQ(preflight->status, 204);
  EXPECT_EQ(preflight->get_header_value("Access-Control-Allow-Origin"), "*");
  // The SDKs' own headers (Anthropic's key and version) pass a browser's preflight.
  auto sdk = client().Options("/v1/messages", {{"Access-Control-Request-Headers", "x-api-key, anthropic-version"}});
  EXPECT_EQ(sdk->status, 204);
  EXPECT_EQ(sdk->get_header_value("Access-Control-Allow-Headers"), "x-api-key, anthropic-version");
}

TEST_F(ServerTest, StopEndsStreamsInFlightAndRefusesNewWork) {
  ServerOptions o = serve_options();
  o.ping_seconds = 30;
  start_with_options(o);
  std::string got;
  std::thread streaming([&] {
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/completions";
    req.body = json{{"prompt", "Once"}, {"max_tokens", 250}, {"stream", true}, {"loop_guard", "off"}}.dump();
    req.set_header("Content-Type", "application/json");
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
      got.append(data, n);
      return true;
    };
    httplib::Response res;
    httplib::Error error;
    client().send(req, res, error);
  });
  for (int i = 0; i < 500 && got.empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const auto t0 = std::chrono::steady_clock::now();
  server_->stop();
  streaming.join();
  thread_.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_NE(got.find("data: [DONE]"), std::string::npos) << got;
  EXPECT_EQ(server_->stats().running, 0u);
}

}  // namespace
}  // namespace mx::server
