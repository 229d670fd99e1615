// OpenAI's Responses API end to end on the real tiny model, in-process on a free port:
// /v1/responses whole and streamed as server-sent events (the events in order with
// increasing sequence numbers, the same text either way), max_output_tokens as an
// incomplete reply, instructions and message items, a forced function call and its output
// sent back (Qwen2.5's template), previous_response_id on stored responses, and errors in
// OpenAI's shape.
#include "server/responses_adapter.h"

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

class ResponsesTest : public test::ServedStoriesTest {
 protected:
  json post(const json& body, int want_status = 200) { return ServedStoriesTest::post("/v1/responses", body, want_status); }
  // A streamed reply's events: {event, data}, checked to name the data's type and to number
  // themselves 0, 1, 2, ...
  std::vector<std::pair<std::string, json>> events(const json& body) {
    auto out = named_events("/v1/responses", body);
    for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i].second["sequence_number"], static_cast<int64_t>(i)) << out[i].second;
    return out;
  }
  static std::string text_of(const json& reply) {
    std::string out;
    for (const json& item : reply["output"])
      if (item["type"] == "message")
        for (const json& part : item["content"])
          if (part["type"] == "output_text") out += part["text"].get<std::string>();
    return out;
  }
  static void expect_response(const json& r) {
    EXPECT_EQ(r["object"], "response") << r;
    EXPECT_EQ(r["model"], "stories");
    EXPECT_TRUE(r["id"].get<std::string>().starts_with("resp_")) << r;
    EXPECT_TRUE(r["created_at"].is_number_integer());
    EXPECT_TRUE(r["output"].is_array());
    EXPECT_GT(r["usage"]["input_tokens"].get<int>(), 0);
    EXPECT_EQ(r["usage"]["total_tokens"].get<int>(),
              r["usage"]["input_tokens"].get<int>() + r["usage"]["output_tokens"].get<int>());
    EXPECT_TRUE(r["usage"]["input_tokens_details"]["cached_tokens"].is_number_integer());
    EXPECT_TRUE(r["usage"]["output_tokens_details"]["reasoning_tokens"].is_number_integer());
  }

};

const json kAsk = {{"model", "stories"}, {"max_output_tokens", 24}, {"temperature", 0}, {"input", "Tell a story"}};

TEST_F(ResponsesTest, StringInputWholeAndStreamedAgree) {
  start();
  const json whole = post(kAsk);
  expect_response(whole);
  const std::string text = text_of(whole);
  EXPECT_FALSE(text.empty()) << whole;
  EXPECT_EQ(whole["output_text"], text);
  ASSERT_EQ(whole["output"].size(), 1u) << whole;
  const json& msg = whole["output"][0];
  EXPECT_EQ(msg["type"], "message");
  EXPECT_EQ(msg["role"], "assistant");
  EXPECT_TRUE(msg["id"].get<std::string>().starts_with("msg_")) << msg;
  EXPECT_EQ(msg["content"][0]["annotations"], json::array());
  EXPECT_EQ(whole["temperature"], 0.0);
  EXPECT_EQ(whole["max_output_tokens"], 24);
  EXPECT_EQ(whole["tool_choice"], "auto");

  const auto es = events(kAsk);
  ASSERT_GE(es.size(), 9u);
  EXPECT_EQ(es[0].first, "response.created");
  EXPECT_EQ(es[0].second["response"]["status"], "in_progress");
  EXPECT_TRUE(es[0].second["response"]["output"].empty());
  EXPECT_EQ(es[1].first, "response.in_progress");
  EXPECT_EQ(es[2].first, "response.output_item.added");
  EXPECT_EQ(es[2].second["output_index"], 0);
  EXPECT_EQ(es[2].second["item"]["type"], "message");
  const json item_id = es[2].second["item"]["id"];
  EXPECT_EQ(es[3].first, "response.content_part.added");
  EXPECT_EQ(es[3].second["item_id"], item_id);
  EXPECT_EQ(es[3].second["part"]["type"], "output_text");
  std::string streamed;
  size_t i = 4;
  for (; i < es.size() && es[i].first == "response.output_text.delta"; ++i) {
    EXPECT_EQ(es[i].second["item_id"], item_id);
    EXPECT_EQ(es[i].second["output_index"], 0);
    EXPECT_EQ(es[i].second["content_index"], 0);
    streamed += es[i].second["delta"].get<std::string>();
  }
  EXPECT_EQ(streamed, text);
  ASSERT_EQ(es.size(), i + 4);
  EXPECT_EQ(es[i].first, "response.output_text.done");
  EXPECT_EQ(es[i].second["text"], text);
  EXPECT_EQ(es[i + 1].first, "response.content_part.done");
  EXPECT_EQ(es[i + 1].second["part"]["text"], text);
  EXPECT_EQ(es[i + 2].first, "response.output_item.done");
  EXPECT_EQ(es[i + 2].second["item"]["content"][0]["text"], text);
  const std::string last = whole["status"] == "completed" ? "response.completed" : "response.incomplete";
  EXPECT_EQ(es[i + 3].first, last);
  const json& final_response = es[i + 3].second["response"];
  EXPECT_EQ(final_response["status"], whole["status"]);
  EXPECT_EQ(text_of(final_response), text);
  EXPECT_EQ(final_response["usage"]["output_tokens"], whole["usage"]["output_tokens"]);
  EXPECT_EQ(final_response["id"], es[0].second["response"]["id"]);
}

TEST_F(ResponsesTest, MaxOutputTokensMakesItIncomplete) {
  start();
  json ask = kAsk;
  ask["max_output_tokens"] = 3;
  const json r = post(ask);
  expect_response(r);
  EXPECT_EQ(r["status"], "incomplete") << r;
  EXPECT_EQ(r["incomplete_details"], json({{"reason", "max_output_tokens"}}));
  EXPECT_EQ(r["usage"]["output_tokens"], 3);
  ASSERT_EQ(r["output"].size(), 1u);
  EXPECT_EQ(r["output"][0]["status"], "incomplete");
  const auto es = events(ask);
  ASSERT_FALSE(es.empty());
  EXPECT_EQ(es.back().first, "response.incomplete");
  EXPECT_EQ(es.back().second["response"]["incomplete_details"]["reason"], "max_output_tokens");
}

TEST_F(ResponsesTest, InstructionsAndMessageItems) {
  start();
  const json plain = post(kAsk);
  json with_instructions = kAsk;
  with_instructions["instructions"] = "You tell short stories.";
  json as_items = kAsk;
  as_items["input"] = {{{"role", "developer"}, {"content", "You tell short stories."}},
                       {{"type", "message"}, {"role", "user"}, {"content", {{{"type", "input_text"}, {"text", "Tell a story"}}}}}};
  const json a = post(with_instructions);
  const json b = post(as_items);
  expect_response(a);
  expect_response(b);
  EXPECT_EQ(a["instructions"], "You tell short stories.");
  EXPECT_GT(a["usage"]["input_tokens"].get<int>(), plain["usage"]["input_tokens"].get<int>());
  EXPECT_EQ(a["usage"]["input_tokens"], b["usage"]["input_tokens"]);
  EXPECT_EQ(text_of(a), text_of(b));
  // An assistant turn with output_text parts is history too.
  json turns = kAsk;
  turns["input"] = {{{"role", "user"}, {"content", "Hi"}},
                    {{"role", "assistant"}, {"content", {{{"type", "output_text"}, {"text", "Hello!"}}}}},
                    {{"role", "user"}, {"content", "Tell a story"}}};
  expect_response(post(turns));
}

json weather_tool() {
  return {{"type", "function"},
          {"name", "get_weather"},
          {"description", "Weather in a city"},
          {"strict", true},
          {"parameters",
           {{"type", "object"},
            {"properties", {{"city", {{"type", "string"}, {"maxLength", 10}}}, {"days", {{"type", "integer"}}}}},
            {"required", {"city", "days"}},
            {"additionalProperties", false}}}};
}

TEST_F(ResponsesTest, ForcedFunctionCallAndItsOutputRoundTrip) {
  start("Qwen-Qwen2.5-7B-Instruct.jinja", 2048);
  const json ask = {{"model", "stories"},
                    {"max_output_tokens", 200},
                    {"temperature", 0},
                    {"tools", {weather_tool()}},
                    {"tool_choice", "required"},
                    {"parallel_tool_calls", false},
                    {"input", "What is the weather in Paris?"}};
  const json reply = post(ask);
  expect_response(reply);
  EXPECT_EQ(reply["status"], "completed") << reply;
  EXPECT_EQ(reply["tool_choice"], "required");
  EXPECT_EQ(reply["parallel_tool_calls"], false);
  ASSERT_EQ(reply["output"].size(), 1u) << reply;
  const json& call = reply["output"][0];
  EXPECT_EQ(call["type"], "function_call");
  EXPECT_EQ(call["name"], "get_weather");
  EXPECT_EQ(call["status"], "completed");
  EXPECT_TRUE(call["id"].get<std::string>().starts_with("fc_")) << call;
  EXPECT_TRUE(call["call_id"].get<std::string>().starts_with("call_")) << call;
  const json args = json::parse(call["arguments"].get<std::string>(), nullptr, false);
  ASSERT_TRUE(args.is_object()) << call;
  ASSERT_TRUE(args.contains("city") && args["city"].is_string()) << args;
  ASSERT_TRUE(args.contains("days") && args["days"].is_number_integer()) << args;
  EXPECT_EQ(args.size(), 2u) << args;

  // Streamed: one function_call item whose arguments arrive as deltas.
  const auto es = events(ask);
  std::string streamed;
  int added = 0;
  for (const auto& [name, data] : es) {
    if (name == "response.output_item.added") {
      ++added;
      EXPECT_EQ(data["item"]["type"], "function_call") << data;
      EXPECT_EQ(data["item"]["name"], "get_weather");
    }
    if (name == "response.function_call_arguments.delta") streamed += data["delta"].get<std::string>();
    if (name == "response.function_call_arguments.done") EXPECT_EQ(data["arguments"], streamed);
  }
  EXPECT_EQ(added, 1);
  EXPECT_EQ(json::parse(streamed, nullptr, false), args) << streamed;
  ASSERT_FALSE(es.empty());
  EXPECT_EQ(es.back().first, "response.completed");

  // The call and its output go back; the reply is a message again.
  json back = ask;
  back.erase("tool_choice");
  back["max_output_tokens"] = 8;
  back["input"] = {{{"role", "user"}, {"content", "What is the weather in Paris?"}},
                   call,
                   {{"type", "function_call_output"}, {"call_id", call["call_id"]}, {"output", "sunny, 21 C"}}};
  const json answer = post(back);
  expect_response(answer);
  EXPECT_GT(answer["usage"]["input_tokens"].get<int>(), reply["usage"]["input_tokens"].get<int>());
  EXPECT_LE(answer["usage"]["output_tokens"].get<int>(), 8);

  // Or only the output, continuing the stored response: the same prompt.
  json continued = back;
  continued["previous_response_id"] = reply["id"];
  continued["input"] = json::array({back["input"][2]});  // one item (a braced copy is the item itself in clang)
  const json again = post(continued);
  expect_response(again);
  EXPECT_EQ(again["previous_response_id"], reply["id"]);
  EXPECT_EQ(again["usage"]["input_tokens"], answer["usage"]["input_tokens"]) << again;
  EXPECT_EQ(text_of(again), text_of(answer));
}

TEST_F(ResponsesTest, PreviousResponseIdContinuesAStoredConversation) {
  start("", 512);
  const json first = post(kAsk);
  expect_response(first);
  EXPECT_EQ(first["store"], true);
  json next = kAsk;
  next["input"] = "And then?";
  next["previous_response_id"] = first["id"];
  const json second = post(next);
  expect_response(second);
  // The same as sending the whole conversation.
  json whole = kAsk;
  whole["input"] = {{{"role", "user"}, {"content", "Tell a story"}},
                    {{"role", "assistant"}, {"content", text_of(first)}},
                    {{"role", "user"}, {"content", "And then?"}}};
  const json resent = post(whole);
  EXPECT_EQ(second["usage"]["input_tokens"], resent["usage"]["input_tokens"]);
  EXPECT_EQ(text_of(second), text_of(resent));
  // Streamed replies are stored too; store: false ones are not.
  const auto es = events(next);
  ASSERT_FALSE(es.empty());
  json third = next;
  third["previous_response_id"] = es.back().second["response"]["id"];
  expect_response(post(third));
  json unstored = kAsk;
  unstored["store"] = false;
  const json gone = post(unstored);
  EXPECT_EQ(gone["store"], false);
  json after = next;
  after["previous_response_id"] = gone["id"];
  const json e = post(after, 400);
  EXPECT_EQ(e["error"]["code"], "previous_response_not_found") << e;
}

TEST_F(ResponsesTest, ErrorsInOpenAisShape) {
  start("Qwen-Qwen2.5-7B-Instruct.jinja", 512);
  auto expect_error = [&](const std::string& body, const std::string& mentions, const std::string& param = "") {
    auto r = client().Post("/v1/responses", body, "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << body << " " << r->body;
    const json e = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(e.is_object()) << r->body;
    EXPECT_EQ(e["error"]["type"], "invalid_request_error") << e;
    EXPECT_TRUE(e["error"].contains("code")) << e;
    EXPECT_NE(e["error"]["message"].get<std::string>().find(mentions), std::string::npos) << e;
    if (!param.empty()) EXPECT_EQ(e["error"]["param"], param) << e;
  };
  expect_error("{not json", "JSON");
  expect_error("{}", "input", "input");
  expect_error(R"({"input": 5})", "input", "input");
  expect_error(R"({"input": [{"type": "video", "url": "x"}]})", "'video'");
  expect_error(R"({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]})", "input_image");
  expect_error(R"({"input": "hi", "previous_response_id": "resp_123"})", "not found", "previous_response_id");
  expect_error(R"({"input": "hi", "conversation": "conv_123"})", "not supported", "conversation");
  expect_error(R"({"input": "hi", "max_output_tokens": 0})", "max_output_tokens", "max_output_tokens");
  expect_error(R"({"input": "hi", "tools": [{"type": "web_search"}]})", "web_search");
  json named = {{"input", "hi"}, {"tools", {weather_tool()}}, {"tool_choice", {{"type", "function"}, {"name", "get_moon"}}}};
  expect_error(named.dump(), "get_moon", "tool_choice");
  expect_error(R"({"input": "hi", "text": {"format": {"type": "yaml"}}})", "text.format");
}

TEST_F(ResponsesTest, JsonSchemaTextFormatShapesTheText) {
  start("", 512);
  json ask = kAsk;
  ask["max_output_tokens"] = 64;
  ask["text"] = {{"format", {{"type", "json_schema"}, {"name", "pick"},
                             {"schema", {{"type", "object"}, {"properties", {{"ok", {{"type", "boolean"}}}}},
                                         {"required", {"ok"}}, {"additionalProperties", false}}}}}};
  const json r = post(ask);
  expect_response(r);
  EXPECT_EQ(r["text"]["format"]["type"], "json_schema");
  ASSERT_EQ(r["status"], "completed") << r;
  const json parsed = json::parse(text_of(r), nullptr, false);
  ASSERT_TRUE(parsed.is_object()) << r;
  EXPECT_TRUE(parsed["ok"].is_boolean()) << parsed;
}

// Reasoning, then text, then two calls: one item each, in order, with their events.
TEST(ResponsesOutputBuilderTest, ItemsAndEventsForEachKind) {
  using K = chat::OutputEvent::Kind;
  std::mt19937_64 rng(1);
  ResponsesOutputBuilder b(rng);
  std::vector<std::string> names;
  auto take = [&](const std::vector<ResponsesOutputBuilder::Event>& es) {
    for (const auto& [name, data] : es) {
      EXPECT_EQ(data["type"], name);
      names.push_back(name);
    }
  };
  take(b.add({{K::kReasoning, "Think"}, {K::kReasoning, "ing."}, {K::kText, "Hi"}}));
  take(b.add({{K::kToolCallStart, "", 0, "f"}, {K::kToolCallArguments, "{\"a\":", 0}, {K::kToolCallArguments, "1}", 0},
              {K::kText, "\n", 0}, {K::kToolCallStart, "", 1, "g"}}));
  take(b.finish(false));
  const std::vector<std::string> want = {
      "response.output_item.added", "response.content_part.added", "response.reasoning_text.delta",
      "response.reasoning_text.delta", "response.reasoning_text.done", "response.content_part.done",
      "response.output_item.done", "response.output_item.added", "response.content_part.added",
      "response.output_text.delta", "response.output_text.done", "response.content_part.done",
      "response.output_item.done", "response.output_item.added", "response.function_call_arguments.delta",
      "response.function_call_arguments.delta", "response.function_call_arguments.done", "response.output_item.done",
      "response.output_item.added", "response.function_call_arguments.done", "response.output_item.done"};
  EXPECT_EQ(names, want);
  const json& out = b.output();
  ASSERT_EQ(out.size(), 4u) << out;
  EXPECT_EQ(out[0]["type"], "reasoning");
  EXPECT_EQ(out[0]["content"], json::parse(R"([{"type": "reasoning_text", "text": "Thinking."}])"));
  EXPECT_EQ(out[0]["summary"], json::array());
  EXPECT_EQ(out[1]["type"], "message");
  EXPECT_EQ(out[1]["status"], "completed");
  EXPECT_EQ(out[1]["content"][0]["text"], "Hi");
  EXPECT_EQ(out[2]["type"], "function_call");
  EXPECT_EQ(out[2]["arguments"], "{\"a\":1}");
  EXPECT_EQ(out[3]["name"], "g");
  EXPECT_EQ(out[3]["arguments"], "{}");  // a call with no arguments written
  EXPECT_NE(out[2]["call_id"], out[3]["call_id"]);
  EXPECT_EQ(b.output_text(), "Hi");
}

}  // namespace
}  // namespace mx::server
