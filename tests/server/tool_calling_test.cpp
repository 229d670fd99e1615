// Tool calling and reasoning in /v1/chat/completions, end to end on the tiny stories model
// with real chat templates: forced calls follow the tools' schemas (a grammar), whole and
// streamed replies carry the same call, request errors, a tool round trip, and reasoning split.
#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "engine/chat_format.h"
#include "sampling/gbnf.h"
#include "sampling/json_schema.h"
#include "server/openai_request.h"
#include "server/server.h"
#include "server/tool_calls.h"
#include "served_stories_test.h"
#include "test_paths.h"

namespace mx::server {
namespace {

using nlohmann::json;

std::string read_template(const std::string& name) {
  std::ifstream in(test::shared_path("templates/" + name));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

json weather_tool() {
  return {{"type", "function"},
          {"function",
           {{"name", "get_weather"},
            {"description", "Weather in a city"},
            {"parameters",
             {{"type", "object"},
              {"properties", {{"city", {{"type", "string"}, {"maxLength", 10}}}, {"days", {{"type", "integer"}}}}},
              {"required", {"city", "days"}},
              {"additionalProperties", false}}}}}};
}

json time_tool() {
  return {{"type", "function"},
          {"function",
           {{"name", "get_time"},
            {"description", "The time in a zone"},
            {"parameters",
             {{"type", "object"},
              {"properties", {{"zone", {{"enum", {"utc", "local"}}}}}},
              {"required", {"zone"}},
              {"additionalProperties", false}}}}}};
}

// The arguments a call carries, checked against the two tools' schemas.
void expect_valid_arguments(const std::string& name, const std::string& arguments) {
  const json args = json::parse(arguments, nullptr, false);
  ASSERT_TRUE(args.is_object()) << arguments;
  if (name == "get_weather") {
    ASSERT_TRUE(args.contains("city") && args["city"].is_string()) << arguments;
    EXPECT_LE(args["city"].get<std::string>().size(), 10u * 4);  // up to 10 characters
    ASSERT_TRUE(args.contains("days") && args["days"].is_number_integer()) << arguments;
    EXPECT_EQ(args.size(), 2u) << arguments;
  } else {
    ASSERT_EQ(name, "get_time");
    ASSERT_TRUE(args.contains("zone")) << arguments;
    EXPECT_TRUE(args["zone"] == "utc" || args["zone"] == "local") << arguments;
    EXPECT_EQ(args.size(), 1u) << arguments;
  }
}

class ToolCallingTest : public test::ServedStoriesTest {
 protected:
  // Serves the model with the template of ../shared/templates/`name` ("" for the model's own);
  // the tools' system prompt is long in a 512-token vocabulary.
  void start(const std::string& name) { ServedStoriesTest::start(name, 2048); }
  httplib::Result post_raw(const json& body) { return client().Post("/v1/chat/completions", body.dump(), "application/json"); }
  json post(const json& body, int want_status = 200) {
    return ServedStoriesTest::post("/v1/chat/completions", body, want_status);
  }
  // A streamed reply put back together: {content, reasoning_content, tool_calls, finish_reason}.
  json post_streamed(json body) {
    body["stream"] = true;
    auto r = post_raw(body);
    EXPECT_TRUE(r && r->status == 200);
    if (!r) return {};
    json out = {{"content", ""}, {"reasoning_content", ""}, {"tool_calls", json::array()}, {"finish_reason", nullptr}};
    bool done = false;
    for (size_t p = 0; (p = r->body.find("data: ", p)) != std::string::npos;) {
      const size_t end = r->body.find("\n\n", p);
      const std::string data = r->body.substr(p + 6, end - p - 6);
      p = end;
      if (data == "[DONE]") {
        done = true;
        continue;
      }
      const json e = json::parse(data);
      if (e["choices"].empty()) continue;
      const json& c = e["choices"][0];
      if (!c["finish_reason"].is_null()) out["finish_reason"] = c["finish_reason"];
      const json& d = c["delta"];
      if (d.contains("content") && d["content"].is_string()) out["content"] = out["content"].get<std::string>() + d["content"].get<std::string>();
      if (d.contains("reasoning_content"))
        out["reasoning_content"] = out["reasoning_content"].get<std::string>() + d["reasoning_content"].get<std::string>();
      if (!d.contains("tool_calls")) continue;
      for (const json& call : d["tool_calls"]) {
        const size_t index = call["index"].get<size_t>();
        if (index == out["tool_calls"].size()) {  // the first chunk of a call: id, type, name, no arguments yet
          EXPECT_TRUE(call.contains("id") && call["id"].get<std::string>().starts_with("call_")) << call;
          EXPECT_EQ(call["type"], "function");
          EXPECT_EQ(call["function"]["arguments"], "");
          out["tool_calls"].push_back(call);
        } else {
          EXPECT_LT(index, out["tool_calls"].size()) << call;
          EXPECT_FALSE(call.contains("id"));
          json& f = out["tool_calls"][index]["function"];
          f["arguments"] = f["arguments"].get<std::string>() + call["function"]["arguments"].get<std::string>();
        }
      }
    }
    EXPECT_TRUE(done);
    return out;
  }

};

json ask(json tool_choice, int max_tokens = 200) {
  return {{"messages", {{{"role", "user"}, {"content", "What is the weather in Paris?"}}}},
          {"tools", {weather_tool(), time_tool()}},
          {"tool_choice", std::move(tool_choice)},
          {"parallel_tool_calls", false},
          {"max_tokens", max_tokens},
          {"temperature", 0}};
}

TEST_F(ToolCallingTest, RequiredCallFollowsTheSchemaWholeAndStreamed) {
  start("Qwen-Qwen2.5-7B-Instruct.jinja");
  const json reply = post(ask("required"));
  const json& choice = reply["choices"][0];
  EXPECT_EQ(choice["finish_reason"], "tool_calls") << reply;
  const json& message = choice["message"];
  EXPECT_TRUE(message["content"].is_null()) << reply;
  ASSERT_EQ(message["tool_calls"].size(), 1u) << reply;
  const json& call = message["tool_calls"][0];
  EXPECT_EQ(call["type"], "function");
  EXPECT_EQ(call["id"].get<std::string>().size(), 5u + 24u);
  EXPECT_TRUE(call["id"].get<std::string>().starts_with("call_"));
  expect_valid_arguments(call["function"]["name"], call["function"]["arguments"]);

  const json streamed = post_streamed(ask("required"));
  EXPECT_EQ(streamed["finish_reason"], "tool_calls");
  EXPECT_EQ(streamed["content"], "");
  ASSERT_EQ(streamed["tool_calls"].size(), 1u) << streamed;
  EXPECT_EQ(streamed["tool_calls"][0]["function"]["name"], call["function"]["name"]);
  EXPECT_EQ(streamed["tool_calls"][0]["function"]["arguments"], call["function"]["arguments"]);
}

// Every template family's own call syntax, forced by its grammar: the random model's reply is
// a call that the family's parser reads back and that follows the schema, whole and streamed.
class ToolCallingFamilyTest : public ToolCallingTest, public testing::WithParamInterface<const char*> {};

TEST_P(ToolCallingFamilyTest, RequiredCallInTheTemplatesOwnSyntax) {
  ServedStoriesTest::start(GetParam(), 8192);  // Command R7B's tool preamble: 4k tokens in this vocabulary
  for (bool parallel : {false, true}) {
    json request = ask("required", 400);
    request["parallel_tool_calls"] = parallel;
    const json reply = post(request);
    const json& choice = reply["choices"][0];
    ASSERT_EQ(choice["finish_reason"], "tool_calls") << reply;
    ASSERT_GE(choice["message"]["tool_calls"].size(), 1u) << reply;
    if (!parallel) EXPECT_EQ(choice["message"]["tool_calls"].size(), 1u) << reply;
    for (const json& call : choice["message"]["tool_calls"])
      expect_valid_arguments(call["function"]["name"], call["function"]["arguments"]);
    const json streamed = post_streamed(request);
    ASSERT_EQ(streamed["tool_calls"].size(), choice["message"]["tool_calls"].size()) << streamed;
    for (size_t i = 0; i < streamed["tool_calls"].size(); ++i)
      EXPECT_EQ(streamed["tool_calls"][i]["function"], choice["message"]["tool_calls"][i]["function"]);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Templates, ToolCallingFamilyTest,
    testing::Values("Qwen3-Coder.jinja", "meta-llama-Llama-3.1-8B-Instruct.jinja",
                    "mistralai-Mistral-Nemo-Instruct-2407.jinja", "Mistral-Small-3.2-24B-Instruct-2506.jinja",
                    "openai-gpt-oss-120b.jinja", "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", "deepseek-ai-DeepSeek-V3.1.jinja",
                    "meetkai-functionary-medium-v3.2.jinja", "meetkai-functionary-medium-v3.1.jinja",
                    "CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja", "ibm-granite-granite-3.3-2B-Instruct.jinja"),
    [](const testing::TestParamInfo<const char*>& i) {
      std::string name = i.param;
      name = name.substr(0, name.find(".jinja"));
      for (char& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return name;
    });

TEST_F(ToolCallingTest, NamedFunctionIsTheOneCalled) {
  start("Qwen-Qwen2.5-7B-Instruct.jinja");
  for (const char* name : {"get_time", "get_weather"}) {
    const json reply = post(ask({{"type", "function"}, {"function", {{"name", name}}}}));
    const json& message = reply["choices"][0]["message"];
    ASSERT_EQ(message["tool_calls"].size(), 1u) << reply;
    EXPECT_EQ(message["tool_calls"][0]["function"]["name"], name);
    expect_valid_arguments(name, message["tool_calls"][0]["function"]["arguments"]);
  }
}

// A template with no tool syntax (the model's own: ChatML) gets llama.cpp's generic JSON shape.
TEST_F(ToolCallingTest, TemplateWithoutToolSyntaxGetsGenericJsonCalls) {
  start("");
  json request = ask("required");
  const json reply = post(request);
  const json& message = reply["choices"][0]["message"];
  ASSERT_EQ(message["tool_calls"].size(), 1u) << reply;
  expect_valid_arguments(message["tool_calls"][0]["function"]["name"], message["tool_calls"][0]["function"]["arguments"]);
  const json streamed = post_streamed(request);
  ASSERT_EQ(streamed["tool_calls"].size(), 1u) << streamed;
  EXPECT_EQ(streamed["tool_calls"][0]["function"], message["tool_calls"][0]["function"]);
}

TEST_F(ToolCallingTest, BadToolRequestsAre400) {
  start("Qwen-Qwen2.5-7B-Instruct.jinja");
  auto expect_400 = [&](const json& body, const std::string& param, const std::string& says) {
    const json e = post(body, 400);
    ASSERT_TRUE(e.contains("error")) << e;
    EXPECT_EQ(e["error"]["type"], "invalid_request_error");
    EXPECT_EQ(e["error"]["param"], param) << e;
    EXPECT_NE(e["error"]["message"].get<std::string>().find(says), std::string::npos) << e;
  };
  expect_400(ask({{"type", "function"}, {"function", {{"name", "get_moon"}}}}), "tool_choice", "get_moon");
  json bad_schema = ask("auto");
  bad_schema["tools"][1]["function"]["parameters"]["properties"]["zone"] = {{"type", "string"}, {"pattern", "^u"}};
  expect_400(bad_schema, "tools[1].function.parameters", "get_time");
  json no_tools = ask("required");
  no_tools.erase("tools");
  expect_400(no_tools, "tool_choice", "no 'tools'");
  expect_400(ask("sometimes"), "tool_choice", "auto");
  json with_grammar = ask("required");
  with_grammar["response_format"] = {{"type", "json_object"}};
  expect_400(with_grammar, "tool_choice", "grammar");
  json reasoning = ask("auto");
  reasoning["reasoning_format"] = "maybe";
  expect_400(reasoning, "reasoning_format", "none");
  json orphan = ask("auto");  // a tool result that answers no call
  orphan["messages"].push_back({{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "sunny"}});
  expect_400(orphan, "messages[1]", "must answer a tool call");
  json wrong_id = ask("auto");
  wrong_id["messages"].push_back({{"role", "assistant"}, {"content", nullptr},
                                  {"tool_calls", {{{"id", "call_1"}, {"type", "function"},
                                                   {"function", {{"name", "get_time"}, {"arguments", "{\"zone\": \"utc\"}"}}}}}}});
  wrong_id["messages"].push_back({{"role", "tool"}, {"tool_call_id", "call_2"}, {"content", "noon"}});
  expect_400(wrong_id, "messages[2].tool_call_id", "call_2");
  // Tools whose definitions alone outgrow the context.
  json huge = ask("auto");
  huge["tools"][0]["function"]["description"] = std::string(20000, 'x');
  const json e = post(huge, 400);
  EXPECT_EQ(e["error"]["code"], "context_length_exceeded") << e;
}

TEST_F(ToolCallingTest, ToolResultsGoBackThroughTheTemplate) {
  const json body = {
      {"messages",
       {{{"role", "user"}, {"content", "Weather in Paris?"}},
        {{"role", "assistant"},
         {"content", nullptr},
         {"tool_calls", {{{"id", "call_1"}, {"type", "function"},
                          {"function", {{"name", "get_weather"}, {"arguments", R"({"city": "Paris", "days": 1})"}}}}}}},
        {{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "sunny, 21 C"}}}},
      {"tools", {weather_tool()}},
      {"max_tokens", 8},
      {"temperature", 0}};
  // The arguments reach the template as an object, the result as a tool message.
  auto parsed = parse_completion_request(body, true, GenerateOptions{});
  ASSERT_TRUE(std::holds_alternative<CompletionRequest>(parsed));
  const CompletionRequest& r = std::get<CompletionRequest>(parsed);
  EXPECT_TRUE(r.messages[1]["tool_calls"][0]["function"]["arguments"].is_object());
  auto format = ChatFormat::from_source(read_template("Qwen-Qwen2.5-7B-Instruct.jinja"), tokenizer_.get());
  ASSERT_TRUE(format.ok());
  auto prompt = format->render_conversation(r.messages, true, {{"tools", r.tools}});
  ASSERT_TRUE(prompt.ok()) << prompt.error().message;
  EXPECT_NE(prompt->text.find(R"(<tool_call>
{"name": "get_weather", "arguments": {"city": "Paris", "days": 1}}
</tool_call>)"), std::string::npos) << prompt->text;
  EXPECT_NE(prompt->text.find("<tool_response>\nsunny, 21 C\n</tool_response>"), std::string::npos) << prompt->text;
  EXPECT_NE(prompt->text.find("<tools>"), std::string::npos);

  start("Qwen-Qwen2.5-7B-Instruct.jinja");
  const json reply = post(body);
  EXPECT_EQ(reply["usage"]["completion_tokens"], 8) << reply;
  EXPECT_TRUE(reply["choices"][0]["message"]["content"].is_string());
}

// <think>...</think> comes back as reasoning_content (or stays in content with
// reasoning_format "none"), whole or streamed, in any chunking.
// tool_choice "auto": free text until the model writes the call marker, then the tools'
// grammar (lazily); a request's own grammar takes precedence over it.
TEST_F(ToolCallingTest, AutoCallsGetTheToolsGrammarFromTheMarkerOn) {
  auto format = ChatFormat::from_source(read_template("Qwen-Qwen2.5-7B-Instruct.jinja"), tokenizer_.get());
  ASSERT_TRUE(format.ok());
  auto parsed = parse_completion_request(ask("auto"), true, {});
  ASSERT_TRUE(std::holds_alternative<CompletionRequest>(parsed));
  const ToolCalling request = tool_calling_of(std::get<CompletionRequest>(parsed));
  const ReplyParsing p = reply_parsing(request, *format, "");
  EXPECT_EQ(p.options.tools, chat::ToolCallFormat::kHermes);
  const ToolGrammar lazy = tool_call_grammar(request.definitions, chat::ToolCallFormat::kHermes, {.lazy = true});
  EXPECT_EQ(p.grammar, lazy.gbnf);
  ASSERT_EQ(p.grammar_triggers.size(), 1u);
  EXPECT_EQ(p.grammar_triggers[0].words, std::vector<std::string>{"<tool_call>"});
  auto none = parse_completion_request(ask("none"), true, {});
  ASSERT_TRUE(std::holds_alternative<CompletionRequest>(none));
  EXPECT_TRUE(reply_parsing(tool_calling_of(std::get<CompletionRequest>(none)), *format, "").grammar.empty());

  // End to end: a random model rarely starts a call by itself; the reply is well-formed
  // whichever it does, and any call it makes follows the schema.
  start("Qwen-Qwen2.5-7B-Instruct.jinja");
  json with_format = ask("auto", 60);
  with_format["response_format"] = {{"type", "json_object"}};
  for (const json& reply : {post(ask("auto", 60)), post(with_format)}) {
    ASSERT_EQ(reply["choices"].size(), 1u) << reply;
    const json& m = reply["choices"][0]["message"];
    if (m.contains("tool_calls"))
      for (const json& call : m["tool_calls"]) expect_valid_arguments(call["function"]["name"], call["function"]["arguments"]);
  }
}

TEST_F(ToolCallingTest, ReasoningIsSplitFromContent) {
  auto format = ChatFormat::from_source(read_template("Qwen-Qwen3-0.6B.jinja"), tokenizer_.get());
  ASSERT_TRUE(format.ok());
  EXPECT_EQ(format->reasoning_format(), chat::ReasoningFormat::kThinkTags);
  EXPECT_EQ(format->tool_call_format(), chat::ToolCallFormat::kHermes);
  ToolCalling r;
  ReplyParsing p = reply_parsing(r, *format, "<|im_start|>assistant\n");
  EXPECT_TRUE(p.active);
  EXPECT_FALSE(p.options.starts_in_reasoning);
  EXPECT_TRUE(p.grammar.empty());
  EXPECT_EQ(p.options.tools, chat::ToolCallFormat::kNone);  // no tools: calls are not parsed
  EXPECT_TRUE(reply_parsing(r, *format, "<|im_start|>assistant\n<think>\n").options.starts_in_reasoning);

  const std::string reply = "<think>\nThe user wants a story.\n</think>\n\nOnce upon a time";
  for (size_t chunk : {1u, 3u, 100u}) {
    std::mt19937_64 rng(1);
    chat::OutputParser parser(p.options);
    ChatMessageBuilder whole(rng);
    ChatDeltaBuilder deltas(rng);
    std::string streamed_content, streamed_reasoning;
    auto take = [&](const std::vector<chat::OutputEvent>& events) {
      whole.add(events);
      for (const json& d : deltas.deltas(events)) {
        streamed_content += d.value("content", "");
        streamed_reasoning += d.value("reasoning_content", "");
      }
    };
    for (size_t i = 0; i < reply.size(); i += chunk) take(parser.push(reply.substr(i, chunk)));
    take(parser.finish());
    const json m = whole.message();
    EXPECT_EQ(m["content"], "Once upon a time") << m;
    EXPECT_NE(m["reasoning_content"].get<std::string>().find("The user wants a story."), std::string::npos) << m;
    EXPECT_EQ(streamed_content, "Once upon a time");
    EXPECT_EQ(streamed_reasoning, m["reasoning_content"]);
    EXPECT_FALSE(m.contains("tool_calls"));
  }
  r.reasoning_inline = true;
  chat::OutputParser inline_parser(reply_parsing(r, *format, "").options);
  std::mt19937_64 rng(1);
  ChatMessageBuilder inline_message(rng);
  inline_message.add(inline_parser.push(reply));
  inline_message.add(inline_parser.finish());
  EXPECT_EQ(inline_message.message()["content"], reply);

  // End to end: the template's own switch (enable_thinking) and reasoning_format are accepted.
  start("Qwen-Qwen3-0.6B.jinja");
  const json body = {{"messages", {{{"role", "user"}, {"content", "Tell a story"}}}},
                     {"chat_template_kwargs", {{"enable_thinking", false}}},
                     {"reasoning_format", "none"},
                     {"max_tokens", 8},
                     {"temperature", 0}};
  const json out = post(body);
  EXPECT_TRUE(out["choices"][0]["message"]["content"].is_string()) << out;
}

}  // namespace
}  // namespace mx::server

namespace mx::server {
namespace {

// Two calls in one reply (parallel_tool_calls): whole, each with its own id; streamed, each
// opened by a chunk with its index, id and name, then its arguments.
TEST(ToolCallReplies, SeveralCallsWholeAndStreamed) {
  const std::string reply = "Let me look.\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"utc\"}}\n</tool_call>\n"
                            "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 2}}\n</tool_call>";
  chat::ParserOptions options{.tools = chat::ToolCallFormat::kHermes, .tool_names = {"get_time", "get_weather"}};
  for (size_t chunk : {1u, 7u, 1000u}) {
    std::mt19937_64 rng(chunk);
    chat::OutputParser parser(options);
    ChatMessageBuilder whole(rng);
    ChatDeltaBuilder streamed(rng);
    std::vector<json> deltas;
    auto take = [&](const std::vector<chat::OutputEvent>& events) {
      whole.add(events);
      for (json& d : streamed.deltas(events)) deltas.push_back(std::move(d));
    };
    for (size_t i = 0; i < reply.size(); i += chunk) take(parser.push(reply.substr(i, chunk)));
    take(parser.finish());
    const json m = whole.message();
    EXPECT_EQ(m["content"], "Let me look.\n") << m;
    ASSERT_EQ(m["tool_calls"].size(), 2u) << m;
    EXPECT_NE(m["tool_calls"][0]["id"], m["tool_calls"][1]["id"]);
    EXPECT_EQ(m["tool_calls"][0]["function"]["name"], "get_time");
    EXPECT_EQ(json::parse(m["tool_calls"][1]["function"]["arguments"].get<std::string>()), (json{{"city", "Paris"}, {"days", 2}}));
    EXPECT_TRUE(streamed.has_calls());
    std::string content;
    std::vector<json> calls;
    for (const json& d : deltas) {
      content += d.value("content", "");
      if (!d.contains("tool_calls")) continue;
      const json& c = d["tool_calls"][0];
      if (c.contains("id")) {
        ASSERT_EQ(c["index"], calls.size());
        EXPECT_EQ(c["function"]["arguments"], "");
        calls.push_back(c);
      } else {
        calls.at(c["index"].get<size_t>())["function"]["arguments"] =
            calls.at(c["index"].get<size_t>())["function"]["arguments"].get<std::string>() + c["function"]["arguments"].get<std::string>();
      }
    }
    EXPECT_EQ(content, "Let me look.\n");
    ASSERT_EQ(calls.size(), 2u);
    for (int i = 0; i < 2; ++i) EXPECT_EQ(calls[i]["function"], m["tool_calls"][i]["function"]);
  }
}

}  // namespace
}  // namespace mx::server
