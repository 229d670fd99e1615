// Reasoning end to end through the HTTP server, in every dialect that returns it: the model
// is served with a chat template file whose generation prompt ends in "<think>", so the reply
// starts inside a reasoning block, and a grammar forces the reply "abc</think>xyz" (a tiny
// model never writes a think block by itself). "abc" must come back as reasoning (OpenAI's
// reasoning_content, Ollama's thinking, Anthropic's thinking block) and "xyz" as the text.
#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "engine/grammar_setup.h"
#include "sampling/gbnf.h"
#include "served_stories_test.h"
#include "test_paths.h"

namespace mx::server {
namespace {

using nlohmann::json;

// "<think>" in the template turns reasoning parsing on; the generation prompt ends inside the block.
constexpr const char* kThinkingTemplate =
    "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant: <think>{% endif %}";
constexpr const char* kForcedReply = R"(root ::= "abc</think>xyz")";

const json kUserTurn = {{{"role", "user"}, {"content", "Why is the sky blue?"}}};

class ReasoningTest : public test::ServedStoriesTest {
 protected:
  void TearDown() override {
    ServedStoriesTest::TearDown();
    std::remove(template_file_.c_str());
  }
  // Serves with the thinking template as a --chat-template-file; `forced`: the server's default
  // grammar forces kForcedReply (as `serve --grammar` would), for dialects with no grammar field.
  void start_thinking(bool forced) {
    std::ofstream(template_file_, std::ios::binary) << kThinkingTemplate;
    GenerateOptions defaults;
    if (forced) {
      auto grammar = parse_gbnf(kForcedReply);
      ASSERT_TRUE(grammar.ok()) << grammar.error().message;
      defaults.sampling.grammar = grammar_constraint(std::make_shared<const Grammar>(std::move(*grammar)),
                                                     token_texts(*tokenizer_), *tokenizer_);
    }
    start_with_template_file(template_file_, 256, {}, std::move(defaults));
  }
  // The body of a streamed reply.
  std::string streamed(const std::string& path, json body) {
    body["stream"] = true;
    auto r = client().Post(path, body.dump(), "application/json");
    EXPECT_TRUE(r && r->status == 200);
    return r ? r->body : "";
  }
  // The JSON of each "data: " line of a server-sent event stream, [DONE] aside.
  static std::vector<json> sse_data(const std::string& body) {
    std::vector<json> out;
    std::istringstream in(body);
    for (std::string line; std::getline(in, line);)
      if (line.starts_with("data: ") && line != "data: [DONE]") out.push_back(json::parse(line.substr(6)));
    return out;
  }

  const std::string template_file_ = test::temp_path("thinking.jinja");
};

TEST_F(ReasoningTest, OpenAiChatSplitsReasoningWholeAndStreamed) {
  start_thinking(false);
  const json request = {{"messages", kUserTurn}, {"max_tokens", 32}, {"grammar", kForcedReply}};
  const json whole = post("/v1/chat/completions", request);
  const json& message = whole["choices"][0]["message"];
  EXPECT_EQ(message["reasoning_content"], "abc") << whole;
  EXPECT_EQ(message["content"], "xyz") << whole;
  EXPECT_EQ(whole["choices"][0]["finish_reason"], "stop");

  std::string content, reasoning;
  for (const json& chunk : sse_data(streamed("/v1/chat/completions", request))) {
    if (chunk["choices"].empty()) continue;
    const json& delta = chunk["choices"][0]["delta"];
    if (delta.contains("content") && delta["content"].is_string()) content += delta["content"].get<std::string>();
    if (delta.contains("reasoning_content")) reasoning += delta["reasoning_content"].get<std::string>();
  }
  EXPECT_EQ(reasoning, "abc");
  EXPECT_EQ(content, "xyz");
}

TEST_F(ReasoningTest, OpenAiReasoningFormatNoneKeepsTheTagsInContent) {
  start_thinking(false);
  json request = {{"messages", kUserTurn}, {"max_tokens", 32}, {"grammar", kForcedReply}, {"reasoning_format", "none"}};
  const json message = post("/v1/chat/completions", request)["choices"][0]["message"];
  EXPECT_EQ(message["content"], "abc</think>xyz") << message;  // the opening tag is the prompt's
  EXPECT_FALSE(message.contains("reasoning_content")) << message;
}

// A reply cut short inside the block is all reasoning.
TEST_F(ReasoningTest, OpenAiReplyCutInsideTheBlockIsAllReasoning) {
  start_thinking(false);
  const json request = {{"messages", kUserTurn}, {"max_tokens", 2}, {"grammar", kForcedReply}};
  const json message = post("/v1/chat/completions", request)["choices"][0]["message"];
  EXPECT_EQ(message["content"], "") << message;
  const std::string reasoning = message.value("reasoning_content", "");
  EXPECT_FALSE(reasoning.empty()) << message;
  EXPECT_TRUE(std::string("abc</think>").starts_with(reasoning)) << message;
}

TEST_F(ReasoningTest, OllamaChatAndGenerateReturnThinking) {
  start_thinking(true);
  const json chat = {{"messages", kUserTurn}, {"stream", false}};
  const json whole = post("/api/chat", chat);
  EXPECT_EQ(whole["message"]["thinking"], "abc") << whole;
  EXPECT_EQ(whole["message"]["content"], "xyz") << whole;

  std::string content, thinking;
  std::istringstream lines(streamed("/api/chat", chat));
  for (std::string line; std::getline(lines, line);) {
    const json o = json::parse(line);
    content += o["message"]["content"].get<std::string>();
    thinking += o["message"].value("thinking", "");
  }
  EXPECT_EQ(thinking, "abc");
  EXPECT_EQ(content, "xyz");

  const json generated = post("/api/generate", {{"prompt", "Why is the sky blue?"}, {"stream", false}});
  EXPECT_EQ(generated["thinking"], "abc") << generated;
  EXPECT_EQ(generated["response"], "xyz") << generated;
}

TEST_F(ReasoningTest, AnthropicReturnsAThinkingBlockWholeAndStreamed) {
  start_thinking(true);
  const json request = {{"max_tokens", 32}, {"messages", kUserTurn}};
  const json whole = post("/v1/messages", request);
  ASSERT_EQ(whole["content"].size(), 2u) << whole;
  EXPECT_EQ(whole["content"][0], json::parse(R"({"type": "thinking", "thinking": "abc", "signature": ""})"));
  EXPECT_EQ(whole["content"][1], json::parse(R"({"type": "text", "text": "xyz"})"));
  EXPECT_EQ(whole["stop_reason"], "end_turn");

  std::string text, thinking;
  std::vector<std::string> blocks;
  for (const json& e : sse_data(streamed("/v1/messages", request))) {
    if (e["type"] == "content_block_start") blocks.push_back(e["content_block"]["type"]);
    if (e["type"] != "content_block_delta") continue;
    if (e["delta"]["type"] == "thinking_delta") thinking += e["delta"]["thinking"].get<std::string>();
    if (e["delta"]["type"] == "text_delta") text += e["delta"]["text"].get<std::string>();
  }
  EXPECT_EQ(blocks, (std::vector<std::string>{"thinking", "text"}));
  EXPECT_EQ(thinking, "abc");
  EXPECT_EQ(text, "xyz");
}

}  // namespace
}  // namespace mx::server
