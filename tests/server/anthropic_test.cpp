// Anthropic's Messages API end to end on the real tiny model, in-process on a free port:
// /v1/messages whole and streamed as server-sent events (the events in order, the same text
// either way), max_tokens and stop_sequences as stop reasons, system as a string or text
// blocks, count_tokens, a forced tool call and its result sent back (Qwen2.5's template),
// errors in Anthropic's shape, and the API key in x-api-key.
#include "server/anthropic_adapter.h"

#include <gtest/gtest.h>
#include <httplib.h>

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

class AnthropicTest : public test::ServedStoriesTest {
 protected:
  // A streamed reply's events: {event, data}, checked to name the data's type.
  std::vector<std::pair<std::string, json>> events(const json& body) { return named_events("/v1/messages", body); }
  static std::string text_of(const json& reply) {
    std::string out;
    for (const json& b : reply["content"])
      if (b["type"] == "text") out += b["text"].get<std::string>();
    return out;
  }
  static void expect_message(const json& m) {
    EXPECT_EQ(m["type"], "message") << m;
    EXPECT_EQ(m["role"], "assistant");
    EXPECT_EQ(m["model"], "stories");
    EXPECT_TRUE(m["id"].get<std::string>().starts_with("msg_")) << m;
    EXPECT_TRUE(m["content"].is_array());
    EXPECT_GT(m["usage"]["input_tokens"].get<int>(), 0);
    EXPECT_TRUE(m["usage"]["output_tokens"].is_number_integer());
  }

};

const json kMessage = {{"model", "stories"},
                       {"max_tokens", 24},
                       {"temperature", 0},
                       {"messages", {{{"role", "user"}, {"content", "Tell a story"}}}}};

TEST_F(AnthropicTest, MessageWholeAndStreamedAgree) {
  start();
  const json whole = post("/v1/messages", kMessage);
  expect_message(whole);
  const std::string text = text_of(whole);
  EXPECT_FALSE(text.empty()) << whole;
  ASSERT_EQ(whole["content"].size(), 1u) << whole;
  EXPECT_TRUE(whole["stop_reason"] == "end_turn" || whole["stop_reason"] == "max_tokens") << whole;
  EXPECT_TRUE(whole["stop_sequence"].is_null());
  EXPECT_LE(whole["usage"]["output_tokens"].get<int>(), 24);

  const auto es = events(kMessage);
  ASSERT_GE(es.size(), 6u);
  EXPECT_EQ(es[0].first, "message_start");
  const json& start_msg = es[0].second["message"];
  EXPECT_TRUE(start_msg["content"].empty());
  EXPECT_TRUE(start_msg["id"].get<std::string>().starts_with("msg_"));
  EXPECT_EQ(start_msg["usage"]["input_tokens"], whole["usage"]["input_tokens"]);
  size_t i = 1;
  while (i < es.size() && es[i].first == "ping") ++i;
  ASSERT_LT(i, es.size());
  EXPECT_EQ(es[i].first, "content_block_start");
  EXPECT_EQ(es[i].second["index"], 0);
  EXPECT_EQ(es[i].second["content_block"], json({{"type", "text"}, {"text", ""}}));
  std::string streamed;
  for (++i; i < es.size() && es[i].first == "content_block_delta"; ++i) {
    EXPECT_EQ(es[i].second["index"], 0);
    EXPECT_EQ(es[i].second["delta"]["type"], "text_delta");
    streamed += es[i].second["delta"]["text"].get<std::string>();
  }
  EXPECT_EQ(streamed, text);
  ASSERT_EQ(es.size(), i + 3);
  EXPECT_EQ(es[i].first, "content_block_stop");
  EXPECT_EQ(es[i].second["index"], 0);
  EXPECT_EQ(es[i + 1].first, "message_delta");
  EXPECT_EQ(es[i + 1].second["delta"]["stop_reason"], whole["stop_reason"]);
  EXPECT_TRUE(es[i + 1].second["delta"]["stop_sequence"].is_null());
  EXPECT_EQ(es[i + 1].second["usage"]["output_tokens"], whole["usage"]["output_tokens"]);
  EXPECT_EQ(es[i + 2].first, "message_stop");
}

TEST_F(AnthropicTest, MaxTokensAndStopSequencesEndTheReply) {
  start();
  json short_req = kMessage;
  short_req["max_tokens"] = 3;
  const json short_reply = post("/v1/messages", short_req);
  EXPECT_EQ(short_reply["stop_reason"], "max_tokens") << short_reply;
  EXPECT_EQ(short_reply["usage"]["output_tokens"], 3);

  const std::string text = text_of(post("/v1/messages", kMessage));
  ASSERT_GE(text.size(), 14u) << text;
  const std::string stop = text.substr(10, 4);
  const size_t at = text.find(stop);
  json stopped_req = kMessage;
  stopped_req["stop_sequences"] = {"never in a story \x01", stop, "zzzzqqq"};  // the matching one is named
  const json stopped = post("/v1/messages", stopped_req);
  EXPECT_EQ(stopped["stop_reason"], "stop_sequence") << stopped;
  EXPECT_EQ(stopped["stop_sequence"], stop);
  EXPECT_EQ(text_of(stopped), text.substr(0, at));
  // Streamed, the stop comes in message_delta.
  const auto es = events(stopped_req);
  ASSERT_GE(es.size(), 2u);
  EXPECT_EQ(es[es.size() - 2].second["delta"]["stop_reason"], "stop_sequence");
  EXPECT_EQ(es[es.size() - 2].second["delta"]["stop_sequence"], stop);
}

TEST_F(AnthropicTest, SystemAsStringOrBlocksAndCountTokens) {
  start();
  const json plain = post("/v1/messages", kMessage);
  json as_string = kMessage;
  as_string["system"] = "You tell short stories.";
  json as_blocks = kMessage;
  as_blocks["system"] = {{{"type", "text"}, {"text", "You tell short stories."}}};
  const json a = post("/v1/messages", as_string);
  const json b = post("/v1/messages", as_blocks);
  expect_message(a);
  EXPECT_GT(a["usage"]["input_tokens"].get<int>(), plain["usage"]["input_tokens"].get<int>());
  EXPECT_EQ(a["usage"]["input_tokens"], b["usage"]["input_tokens"]);
  EXPECT_EQ(text_of(a), text_of(b));

  // count_tokens: the same prompt's size, max_tokens not needed.
  json count_req = as_blocks;
  count_req.erase("max_tokens");
  const json count = post("/v1/messages/count_tokens", count_req);
  EXPECT_EQ(count, json({{"input_tokens", a["usage"]["input_tokens"]}}));
  EXPECT_EQ(post("/v1/messages/count_tokens", kMessage)["input_tokens"], plain["usage"]["input_tokens"]);
}

json weather_tool() {
  return {{"name", "get_weather"},
          {"description", "Weather in a city"},
          {"input_schema",
           {{"type", "object"},
            {"properties", {{"city", {{"type", "string"}, {"maxLength", 10}}}, {"days", {{"type", "integer"}}}}},
            {"required", {"city", "days"}},
            {"additionalProperties", false}}}};
}

void expect_valid_input(const json& input) {
  ASSERT_TRUE(input.is_object()) << input;
  ASSERT_TRUE(input.contains("city") && input["city"].is_string()) << input;
  ASSERT_TRUE(input.contains("days") && input["days"].is_number_integer()) << input;
  EXPECT_EQ(input.size(), 2u) << input;
}

TEST_F(AnthropicTest, ForcedToolCallAndItsResultRoundTrip) {
  start("Qwen-Qwen2.5-7B-Instruct.jinja", 2048);
  const json ask = {{"model", "stories"},
                    {"max_tokens", 200},
                    {"temperature", 0},
                    {"tools", {weather_tool()}},
                    {"tool_choice", {{"type", "any"}, {"disable_parallel_tool_use", true}}},
                    {"messages", {{{"role", "user"}, {"content", "What is the weather in Paris?"}}}}};
  const json reply = post("/v1/messages", ask);
  expect_message(reply);
  EXPECT_EQ(reply["stop_reason"], "tool_use") << reply;
  ASSERT_EQ(reply["content"].size(), 1u) << reply;
  const json& call = reply["content"][0];
  EXPECT_EQ(call["type"], "tool_use");
  EXPECT_EQ(call["name"], "get_weather");
  EXPECT_TRUE(call["id"].get<std::string>().starts_with("toolu_")) << call;
  expect_valid_input(call["input"]);

  // Streamed: one tool_use block whose input arrives as input_json_delta pieces.
  const auto es = events(ask);
  std::string partial;
  int starts = 0;
  for (const auto& [name, data] : es) {
    if (name == "content_block_start") {
      ++starts;
      EXPECT_EQ(data["content_block"]["type"], "tool_use") << data;
      EXPECT_EQ(data["content_block"]["name"], "get_weather");
      EXPECT_EQ(data["content_block"]["input"], json::object());
    }
    if (name == "content_block_delta") {
      EXPECT_EQ(data["delta"]["type"], "input_json_delta") << data;
      partial += data["delta"]["partial_json"].get<std::string>();
    }
    if (name == "message_delta") EXPECT_EQ(data["delta"]["stop_reason"], "tool_use");
  }
  EXPECT_EQ(starts, 1);
  EXPECT_EQ(json::parse(partial, nullptr, false), call["input"]) << partial;

  // The call and its result go back; the reply is a message again.
  json back = ask;
  back.erase("tool_choice");
  back["max_tokens"] = 8;
  back["messages"] = {
      {{"role", "user"}, {"content", "What is the weather in Paris?"}},
      {{"role", "assistant"}, {"content", {call}}},
      {{"role", "user"},
       {"content", {{{"type", "tool_result"}, {"tool_use_id", call["id"]}, {"content", {{{"type", "text"}, {"text", "sunny, 21 C"}}}}},
                    {{"type", "text"}, {"text", "Thanks!"}}}}}};
  const json answer = post("/v1/messages", back);
  expect_message(answer);
  EXPECT_GT(answer["usage"]["input_tokens"].get<int>(), reply["usage"]["input_tokens"].get<int>());
  EXPECT_LE(answer["usage"]["output_tokens"].get<int>(), 8);
}

TEST_F(AnthropicTest, ErrorsInAnthropicsShape) {
  start("Qwen-Qwen2.5-7B-Instruct.jinja", 512);
  auto expect_error = [&](const std::string& path, const std::string& body, const std::string& mentions) {
    auto r = client().Post(path, body, "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << body << " " << r->body;
    const json e = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(e.is_object()) << r->body;
    EXPECT_EQ(e["type"], "error") << e;
    EXPECT_EQ(e["error"]["type"], "invalid_request_error") << e;
    EXPECT_NE(e["error"]["message"].get<std::string>().find(mentions), std::string::npos) << e;
  };
  const std::string user = R"("messages": [{"role": "user", "content": "hi"}])";
  expect_error("/v1/messages", "{not json", "JSON");
  expect_error("/v1/messages", "{" + user + "}", "max_tokens");
  expect_error("/v1/messages", R"({"max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "video", "url": "x"}]}]})",
               "'video'");
  expect_error("/v1/messages", R"({"max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "image", "source": {}}]}]})",
               "image");
  expect_error("/v1/messages", R"({"max_tokens": 5, "messages": [{"role": "system", "content": "hi"}]})", "role");
  const json with_tool = {{"max_tokens", 5},
                          {"messages", {{{"role", "user"}, {"content", "hi"}}}},
                          {"tools", {weather_tool()}},
                          {"tool_choice", {{"type", "tool"}, {"name", "get_moon"}}}};
  expect_error("/v1/messages", with_tool.dump(), "get_moon");
  expect_error("/v1/messages/count_tokens", "[1]", "object");
  expect_error("/v1/messages", "{\"max_tokens\": 5, " + user + ", \"stop_sequences\": \"x\"}", "stop_sequences");
}

// The key may come in x-api-key; errors met before the adapter (a missing or wrong key, an
// unknown route, a model still loading) are in Anthropic's shape on its routes too.
TEST_F(AnthropicTest, ApiKeyInXApiKey) {
  start("", 256, {"secret-key"});
  httplib::Client c = client();
  auto expect_error = [](const httplib::Result& r, int status, const std::string& type) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, status) << r->body;
    const json e = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(e.is_object()) << r->body;
    EXPECT_EQ(e["type"], "error") << e;
    EXPECT_EQ(e["error"]["type"], type) << e;
    EXPECT_TRUE(e["error"]["message"].is_string()) << e;
  };
  const std::string body = kMessage.dump();
  expect_error(c.Post("/v1/messages/count_tokens", body, "application/json"), 401, "authentication_error");
  expect_error(c.Post("/v1/messages", {{"x-api-key", "nope"}}, body, "application/json"), 401, "authentication_error");
  const httplib::Headers key = {{"x-api-key", "secret-key"}, {"anthropic-version", "2023-06-01"}};
  expect_error(c.Get("/v1/messages/batches", key), 404, "not_found_error");
  expect_error(c.Post("/v1/messages", key, "{not json", "application/json"), 400, "invalid_request_error");
  auto ok = c.Post("/v1/messages", key, body, "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(json::parse(ok->body)["type"], "message");
  auto openai = c.Post("/v1/chat/completions", {{"x-api-key", "nope"}}, body, "application/json");
  ASSERT_TRUE(openai);
  EXPECT_EQ(json::parse(openai->body)["error"]["code"], "invalid_api_key") << openai->body;

  // A server whose model is not attached yet is overloaded.
  TearDown();
  ServerOptions options;
  options.port = 0;
  server_ = std::make_unique<Server>(options);
  ASSERT_TRUE(server_->bind());
  thread_ = std::thread([this] { server_->serve(); });
  expect_error(client().Post("/v1/messages", body, "application/json"), 503, "overloaded_error");
}

}  // namespace
}  // namespace mx::server
