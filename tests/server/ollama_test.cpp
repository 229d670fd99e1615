// Ollama's API end to end on the real tiny model, in-process on a free port: /api/chat and
// /api/generate whole and streamed as NDJSON (the same text either way, counts and durations
// on the last line), options (num_predict, stop, seed), format, tools through the template,
// the model routes' shapes (/api/show with a --chat-template-file), embeddings, prompt counts
// with the prefix cache, and errors as {"error": "..."} (the server's own, API key and routing, too).
#include "server/ollama_adapter.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "engine/chat_format.h"
#include "server/server.h"
#include "served_stories_test.h"
#include "test_paths.h"

namespace mx::server {
namespace {

using nlohmann::json;

class OllamaTest : public test::ServedStoriesTest {
 protected:
  json get(const std::string& path) {
    auto r = client().Get(path);
    EXPECT_TRUE(r && r->status == 200) << path;
    return r ? json::parse(r->body, nullptr, false) : json();
  }
  // The NDJSON lines of a streamed reply.
  std::vector<json> lines(const std::string& path, const json& body) {
    auto r = client().Post(path, body.dump(), "application/json");
    EXPECT_TRUE(r && r->status == 200);
    if (!r) return {};
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/x-ndjson");
    std::vector<json> out;
    std::istringstream in(r->body);
    for (std::string line; std::getline(in, line);) {
      out.push_back(json::parse(line, nullptr, false));
      EXPECT_FALSE(out.back().is_discarded()) << line;
    }
    return out;
  }
  static void expect_final(const json& o, const std::string& model) {
    EXPECT_EQ(o["done"], true) << o;
    EXPECT_EQ(o["model"], model);
    EXPECT_TRUE(o["done_reason"] == "stop" || o["done_reason"] == "length") << o;
    for (const char* k : {"total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration"})
      EXPECT_TRUE(o.contains(k) && o[k].is_number_integer()) << k << " " << o;
    EXPECT_GT(o["prompt_eval_count"].get<int>(), 0);
    EXPECT_GE(o["total_duration"].get<int64_t>(), o["eval_duration"].get<int64_t>());
    // RFC 3339 in UTC: 2026-01-02T03:04:05.123456789Z
    const std::string t = o["created_at"];
    EXPECT_EQ(t.size(), 30u) << t;
    EXPECT_EQ(t[10], 'T');
    EXPECT_EQ(t.back(), 'Z');
  }

};

const json kChat = {{"model", "stories"},
                    {"messages", {{{"role", "user"}, {"content", "Tell a story"}}}},
                    {"options", {{"temperature", 0}, {"num_predict", 24}}}};

TEST_F(OllamaTest, ChatWholeAndStreamedAgree) {
  start();
  json whole_req = kChat;
  whole_req["stream"] = false;
  const json whole = post("/api/chat", whole_req);
  expect_final(whole, "stories");
  EXPECT_EQ(whole["message"]["role"], "assistant");
  const std::string text = whole["message"]["content"];
  EXPECT_FALSE(text.empty());
  EXPECT_LE(whole["eval_count"].get<int>(), 24);

  const std::vector<json> ls = lines("/api/chat", kChat);  // streams by default
  ASSERT_GE(ls.size(), 2u);
  std::string streamed;
  for (size_t i = 0; i + 1 < ls.size(); ++i) {
    EXPECT_EQ(ls[i]["done"], false) << ls[i];
    EXPECT_EQ(ls[i]["message"]["role"], "assistant");
    streamed += ls[i]["message"]["content"].get<std::string>();
  }
  expect_final(ls.back(), "stories");
  EXPECT_EQ(ls.back()["message"]["content"], "");
  EXPECT_EQ(streamed, text);
  EXPECT_EQ(ls.back()["eval_count"], whole["eval_count"]);
  EXPECT_EQ(ls.back()["prompt_eval_count"], whole["prompt_eval_count"]);
}

TEST_F(OllamaTest, GenerateTemplatedAndRawWholeAndStreamed) {
  start();
  const json req = {{"model", "anything"}, {"prompt", "Once upon a time"}, {"raw", true}, {"stream", false},
                    {"options", {{"temperature", 0}, {"num_predict", 16}}}};
  const json whole = post("/api/generate", req);
  expect_final(whole, "anything");  // any name is served; the reply repeats it
  EXPECT_EQ(whole["done_reason"], "length");
  EXPECT_EQ(whole["eval_count"], 16);
  // The same text /v1/completions gives for the raw prompt.
  EXPECT_EQ(whole["response"].get<std::string>().substr(0, 12), ", there was ") << whole;

  json s = req;
  s.erase("stream");
  const std::vector<json> ls = lines("/api/generate", s);
  ASSERT_GE(ls.size(), 2u);
  std::string streamed;
  for (size_t i = 0; i + 1 < ls.size(); ++i) streamed += ls[i]["response"].get<std::string>();
  EXPECT_EQ(streamed, whole["response"]);
  expect_final(ls.back(), "anything");
  EXPECT_EQ(ls.back()["response"], "");

  // Without raw the prompt is the user's turn of the template (with the system text).
  const json templated = post("/api/generate", {{"prompt", "Once upon a time"}, {"system", "Be brief."}, {"stream", false},
                                                {"options", {{"temperature", 0}, {"num_predict", 8}}}});
  expect_final(templated, "stories:latest");
  EXPECT_GT(templated["prompt_eval_count"].get<int>(), whole["prompt_eval_count"].get<int>());
}

TEST_F(OllamaTest, OptionsAreHonoured) {
  start();
  const json base = {{"prompt", "Once upon a time"}, {"raw", true}, {"stream", false}};
  json r = base;
  r["options"] = {{"num_predict", 5}, {"temperature", 0}};
  EXPECT_EQ(post("/api/generate", r)["eval_count"], 5);

  // stop: the reply ends before the stop text.
  r["options"] = {{"num_predict", 32}, {"temperature", 0}, {"stop", {"was"}}};
  const json stopped = post("/api/generate", r);
  EXPECT_EQ(stopped["response"], ", there ");
  EXPECT_EQ(stopped["done_reason"], "stop");

  // seed: the same draws at a temperature above 0; another seed (very likely) differs.
  r["options"] = {{"num_predict", 24}, {"temperature", 1.0}, {"seed", 42}};
  const std::string a = post("/api/generate", r)["response"];
  EXPECT_EQ(post("/api/generate", r)["response"], a);
  r["options"]["seed"] = 7;
  EXPECT_NE(post("/api/generate", r)["response"], a);

  // Unknown options are ignored; num_ctx is accepted (the server's context is used).
  r["options"] = {{"num_predict", 4}, {"mirostat", 2}, {"num_ctx", 100000}, {"num_gpu", 1}};
  EXPECT_EQ(post("/api/generate", r)["eval_count"], 4);
  // keep_alive and template are accepted and ignored.
  r["keep_alive"] = "5m";
  r["template"] = "{{ .Prompt }}";
  EXPECT_EQ(post("/api/generate", r)["eval_count"], 4);
}

TEST_F(OllamaTest, FormatJsonGivesJson) {
  start();
  json r = kChat;
  r["stream"] = false;
  r["format"] = "json";
  // The tiny model writes long strings and seldom closes its object within the context: a
  // reply that ends parses; one cut at the length limit is JSON up to its last byte.
  for (int seed = 1; seed <= 4; ++seed) {
    r["options"] = {{"num_predict", 200}, {"temperature", 1.0}, {"seed", seed}};
    const json reply = post("/api/chat", r);
    const std::string content = reply["message"]["content"];
    EXPECT_EQ(content.substr(0, 1), "{") << reply;
    if (reply["done_reason"] == "stop") {
      EXPECT_TRUE(json::parse(content, nullptr, false).is_object()) << reply;
      continue;
    }
    try {
      const json whole = json::parse(content);
      ADD_FAILURE() << "a cut reply parsed whole: " << whole;
    } catch (const json::parse_error& e) {
      EXPECT_GE(e.byte, content.size()) << e.what() << "\n" << content;  // the error is the end of input
    }
  }

  r["options"] = {{"temperature", 0}, {"num_predict", 200}};
  json reply;

  r["format"] = {{"type", "object"}, {"properties", {{"n", {{"type", "integer"}}}}}, {"required", {"n"}}};
  reply = post("/api/chat", r);
  const json parsed = json::parse(reply["message"]["content"].get<std::string>(), nullptr, false);
  ASSERT_TRUE(parsed.is_object()) << reply;
  EXPECT_TRUE(parsed["n"].is_number_integer()) << parsed;
}

TEST_F(OllamaTest, ToolsReachTheTemplate) {
  start("Qwen-Qwen2.5-7B-Instruct.jinja", 2048);
  json r = kChat;
  r["stream"] = false;
  r["options"]["num_predict"] = 8;
  const int64_t without = post("/api/chat", r)["prompt_eval_count"];
  r["tools"] = {{{"type", "function"},
                 {"function", {{"name", "get_weather"}, {"description", "Weather of a city"},
                               {"parameters", {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}}}}}}};
  const json with = post("/api/chat", r);
  EXPECT_GT(with["prompt_eval_count"].get<int64_t>(), without + 20) << with;  // the tools' system prompt
  if (with["message"].contains("tool_calls"))  // the tiny model rarely calls; if it does, Ollama's shape
    for (const json& c : with["message"]["tool_calls"]) EXPECT_TRUE(c["function"]["arguments"].is_object()) << c;

  // An earlier turn's call and the tool's answer in Ollama's shape go through the template.
  r["messages"] = {{{"role", "user"}, {"content", "Weather in Paris?"}},
                   {{"role", "assistant"}, {"content", ""},
                    {"tool_calls", {{{"function", {{"name", "get_weather"}, {"arguments", {{"city", "Paris"}}}}}}}}},
                   {{"role", "tool"}, {"tool_name", "get_weather"}, {"content", "sunny"}}};
  expect_final(post("/api/chat", r), "stories");
}

TEST(OllamaMessageBuilderTest, CallsComeWholeInOllamasShape) {
  using K = chat::OutputEvent::Kind;
  OllamaMessageBuilder b;
  OllamaMessageBuilder::Piece p = b.add({{K::kReasoning, "hmm", 0, ""}, {K::kText, "Let me look.", 0, ""},
                                         {K::kToolCallStart, "", 0, "get_weather"}, {K::kToolCallArguments, "{\"city\": ", 0, ""}});
  EXPECT_EQ(p.thinking, "hmm");
  EXPECT_EQ(p.content, "Let me look.");
  EXPECT_TRUE(p.tool_calls.empty());  // the call is not whole yet
  p = b.add({{K::kToolCallArguments, "\"Paris\"}", 0, ""}, {K::kText, "\n", 0, ""}, {K::kToolCallStart, "", 1, "get_time"}});
  EXPECT_EQ(p.content, "");  // the gap between two calls is not content
  ASSERT_EQ(p.tool_calls.size(), 1u);
  EXPECT_EQ(p.tool_calls[0], json::parse(R"({"function": {"name": "get_weather", "arguments": {"city": "Paris"}}})"));
  p = b.finish();
  ASSERT_EQ(p.tool_calls.size(), 1u);
  EXPECT_EQ(p.tool_calls[0], json::parse(R"({"function": {"name": "get_time", "arguments": {}}})"));
  EXPECT_TRUE(b.finish().tool_calls.empty());
}

TEST_F(OllamaTest, ModelRoutesShapes) {
  start();
  const json tags = get("/api/tags");
  ASSERT_EQ(tags["models"].size(), 1u);
  const json& m = tags["models"][0];
  EXPECT_EQ(m["name"], "stories:latest");
  EXPECT_EQ(m["model"], "stories:latest");
  EXPECT_GT(m["size"].get<int64_t>(), 0);
  EXPECT_EQ(m["digest"].get<std::string>().size(), 64u);
  EXPECT_EQ(m["modified_at"].get<std::string>().back(), 'Z');
  EXPECT_EQ(m["details"]["format"], "gguf");
  EXPECT_EQ(m["details"]["family"], "llama");
  EXPECT_EQ(m["details"]["parameter_size"], "293K");  // stories260K: 292,928 parameters counted from the tensors
  EXPECT_TRUE(m["details"]["quantization_level"].is_string());
  EXPECT_EQ(get("/api/tags")["models"][0]["digest"], m["digest"]);  // stable

  const json ps = get("/api/ps");
  EXPECT_EQ(ps["models"][0]["name"], "stories:latest");
  EXPECT_EQ(ps["models"][0]["context_length"], 256);
  EXPECT_EQ(ps["models"][0]["digest"], m["digest"]);
  EXPECT_TRUE(ps["models"][0]["expires_at"].is_string());

  const json show = post("/api/show", {{"model", "stories"}});
  for (const char* k : {"modelfile", "parameters", "template"}) EXPECT_TRUE(show[k].is_string()) << k;
  EXPECT_NE(show["modelfile"].get<std::string>().find("FROM "), std::string::npos);
  EXPECT_EQ(show["details"], m["details"]);
  EXPECT_EQ(show["model_info"]["general.architecture"], "llama");
  EXPECT_TRUE(show["model_info"]["general.parameter_count"].is_number_integer());
  EXPECT_EQ(show["capabilities"][0], "completion");

  EXPECT_EQ(get("/api/version")["version"], kOllamaApiVersion);

  // An empty prompt or no messages: Ollama's "load the model" call.
  const json load = post("/api/generate", {{"model", "stories"}});
  EXPECT_EQ(load["done"], true);
  EXPECT_EQ(load["done_reason"], "load");
  EXPECT_EQ(load["response"], "");
  EXPECT_EQ(post("/api/chat", {{"model", "stories"}, {"messages", json::array()}, {"keep_alive", 0}})["done_reason"], "unload");
}

TEST_F(OllamaTest, Embeddings) {
  start();
  const json one = post("/api/embed", {{"model", "stories"}, {"input", "Once upon a time"}});
  ASSERT_EQ(one["embeddings"].size(), 1u);
  const size_t width = one["embeddings"][0].size();
  EXPECT_EQ(width, static_cast<size_t>(model_->config.n_embd));
  EXPECT_EQ(one["model"], "stories");
  EXPECT_GT(one["prompt_eval_count"].get<int>(), 0);
  EXPECT_TRUE(one["total_duration"].is_number_integer());

  const json two = post("/api/embed", {{"input", {"Once upon a time", "The cat sat"}}});
  ASSERT_EQ(two["embeddings"].size(), 2u);
  EXPECT_EQ(two["embeddings"][0], one["embeddings"][0]);

  const json legacy = post("/api/embeddings", {{"model", "stories"}, {"prompt", "Once upon a time"}});
  ASSERT_EQ(legacy["embedding"].size(), width);
  EXPECT_EQ(legacy["embedding"], one["embeddings"][0]);

  EXPECT_TRUE(post("/api/embed", {{"input", 3}}, 400)["error"].is_string());
  EXPECT_TRUE(post("/api/embeddings", {{"input", "x"}}, 400)["error"].is_string());

  // 100,000 nested arrays (200 KB): refused, not a stack overflow copying them.
  const std::string deep = R"({"input": )" + std::string(100000, '[') + std::string(100000, ']') + "}";
  auto r = client().Post("/api/embed", deep, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
}

// Ollama reports the prompt's size, not what was computed: a second identical request, most
// of whose prompt comes from the prefix cache, counts the same prompt tokens.
TEST_F(OllamaTest, PromptEvalCountIncludesCachedTokens) {
  start();
  json r = {{"model", "stories"},
            {"messages", {{{"role", "user"}, {"content", "Once upon a time there was a little girl named Lily. "
                                                         "She liked to play in the park with her dog and her friends."}}}},
            {"options", {{"temperature", 0}, {"num_predict", 4}}},
            {"stream", false}};
  const json first = post("/api/chat", r);
  const int64_t hits_before = server_->stats().prefix_cache.hit_tokens;
  const json second = post("/api/chat", r);
  ASSERT_GT(server_->stats().prefix_cache.hit_tokens, hits_before) << "the second prompt should come from the cache";
  EXPECT_GT(first["prompt_eval_count"].get<int>(), 32);
  EXPECT_EQ(second["prompt_eval_count"], first["prompt_eval_count"]);
  r["stream"] = true;  // the last line of a stream carries the same count
  EXPECT_EQ(lines("/api/chat", r).back()["prompt_eval_count"], first["prompt_eval_count"]);
}

// /api/show shows the template the server renders with: a --chat-template-file's, not the GGUF's.
TEST_F(OllamaTest, ShowGivesTheChatTemplateInUse) {
  const std::string source = "{% if tools %}(tools){% endif %}{% for m in messages %}{{ m.content }}{% endfor %}";
  const std::string path = test::temp_path("show_template.jinja");
  std::ofstream(path, std::ios::binary) << source;
  start_with_template_file(path);
  const json show = post("/api/show", {{"model", "stories"}});
  EXPECT_EQ(show["template"], source);
  EXPECT_NE(show["modelfile"].get<std::string>().find("TEMPLATE \"\"\"" + source + "\"\"\""), std::string::npos) << show;
  EXPECT_NE(std::find(show["capabilities"].begin(), show["capabilities"].end(), "tools"), show["capabilities"].end())
      << show["capabilities"];
  std::remove(path.c_str());
}

// Errors met before the request reaches the adapter (API key, unknown route, a model still
// loading) are Ollama's {"error": "..."} on Ollama's routes; OpenAI's routes keep theirs.
TEST_F(OllamaTest, ErrorsBeforeTheAdapterAreOllamaShaped) {
  start("", 256, {"secret-key"});
  httplib::Client c = client();
  auto expect_error = [](const httplib::Result& r, int status) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, status) << r->body;
    const json e = json::parse(r->body, nullptr, false);
    EXPECT_TRUE(e.is_object() && e.size() == 1 && e["error"].is_string()) << r->body;
  };
  json chat = kChat;
  chat["stream"] = false;
  expect_error(c.Post("/api/chat", chat.dump(), "application/json"), 401);
  expect_error(c.Post("/api/chat", {{"Authorization", "Bearer nope"}}, chat.dump(), "application/json"), 401);
  expect_error(c.Get("/api/tags"), 401);
  const httplib::Headers key = {{"Authorization", "Bearer secret-key"}};
  expect_error(c.Get("/api/nothing", key), 404);
  auto ok = c.Post("/api/chat", key, chat.dump(), "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  auto openai = c.Get("/v1/models");
  ASSERT_TRUE(openai);
  EXPECT_EQ(json::parse(openai->body)["error"]["code"], "invalid_api_key") << openai->body;

  // A server whose model is not attached yet answers 503.
  TearDown();
  server::ServerOptions options;
  options.port = 0;
  server_ = std::make_unique<Server>(options);
  ASSERT_TRUE(server_->bind());
  thread_ = std::thread([this] { server_->serve(); });
  expect_error(client().Post("/api/chat", chat.dump(), "application/json"), 503);
}

TEST_F(OllamaTest, BadInputIsAnErrorString) {
  start();
  auto expect_error = [&](const std::string& path, const std::string& body, const std::string& mentions) {
    auto r = client().Post(path, body, "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << path << " " << body << " " << r->body;
    const json e = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(e.is_object() && e["error"].is_string()) << r->body;
    EXPECT_NE(e["error"].get<std::string>().find(mentions), std::string::npos) << e;
  };
  expect_error("/api/chat", "{not json", "JSON");
  expect_error("/api/generate", "[1, 2]", "object");
  expect_error("/api/chat", R"({"messages": "hi"})", "messages");
  expect_error("/api/chat", R"({"messages": [{"content": "hi"}]})", "role");
  expect_error("/api/chat", R"({"messages": [{"role": "user", "content": 5}]})", "content");
  expect_error("/api/chat", R"({"messages": [{"role": "user", "content": "hi", "images": ["aGk="]}]})", "images");
  expect_error("/api/generate", R"({"prompt": 5})", "prompt");
  expect_error("/api/generate", R"({"prompt": "a", "suffix": "b"})", "suffix");
  expect_error("/api/generate", R"({"prompt": "a", "stream": "yes"})", "stream");
  expect_error("/api/generate", R"({"prompt": "a", "options": {"temperature": "hot"}})", "temperature");
  expect_error("/api/generate", R"({"prompt": "a", "options": {"num_predict": 1.5}})", "num_predict");
  expect_error("/api/generate", R"({"prompt": "a", "options": []})", "options");
  expect_error("/api/generate", R"({"prompt": "a", "format": "yaml"})", "format");
  expect_error("/api/chat", R"({"messages": [{"role": "user", "content": "hi"}], "think": "very"})", "think");
  expect_error("/api/chat", R"({"messages": [{"role": "user", "content": "hi"}], "tools": {}})", "tools");
  expect_error("/api/show", "nope", "JSON");
}

}  // namespace
}  // namespace mx::server
