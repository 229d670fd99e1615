// Output parsers on fixed model outputs. Every case is checked under many chunkings: whole, a
// byte at a time, split in two at every position, and seeded random pieces must all agree.
#include "chat/output_parser.h"

#include <gtest/gtest.h>

#include <ostream>
#include <random>
#include <string>
#include <vector>

namespace mx::chat {
namespace {

using Kind = OutputEvent::Kind;

struct Call {
  std::string name;
  std::string arguments;
  bool operator==(const Call&) const = default;
};

// What a client sees once the stream is over.
struct Merged {
  std::string text;
  std::string reasoning;
  std::vector<Call> calls;
  bool operator==(const Merged&) const = default;
};

void PrintTo(const Merged& m, std::ostream* os) {
  *os << "{text=\"" << m.text << "\", reasoning=\"" << m.reasoning << "\", calls=[";
  for (const Call& c : m.calls) *os << c.name << c.arguments << " ";
  *os << "]}";
}

void merge_into(Merged& m, const std::vector<OutputEvent>& events) {
  for (const OutputEvent& e : events) {
    switch (e.kind) {
      case Kind::kText: m.text += e.text; break;
      case Kind::kReasoning: m.reasoning += e.text; break;
      case Kind::kToolCallStart:
        ASSERT_EQ(e.index, static_cast<int>(m.calls.size())) << "calls are numbered in order";
        m.calls.push_back({e.name, ""});
        break;
      case Kind::kToolCallArguments:
        ASSERT_EQ(e.index + 1, static_cast<int>(m.calls.size())) << "arguments follow their start";
        m.calls.back().arguments += e.text;
        break;
    }
  }
}

Merged run(const ParserOptions& options, const std::vector<std::string>& chunks) {
  OutputParser parser(options);
  Merged m;
  for (const std::string& c : chunks) merge_into(m, parser.push(c));
  merge_into(m, parser.finish());
  return m;
}

// The whole-input result, after checking that every chunking gives the same.
Merged parse(const ParserOptions& options, const std::string& output) {
  const Merged whole = run(options, {output});
  std::vector<std::string> bytes;
  for (char c : output) bytes.emplace_back(1, c);
  EXPECT_EQ(run(options, bytes), whole) << "one byte at a time: " << output;
  for (size_t i = 0; i <= output.size(); ++i) {
    EXPECT_EQ(run(options, {output.substr(0, i), output.substr(i)}), whole) << "split at " << i << ": " << output;
  }
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<std::string> chunks;
    for (size_t at = 0; at < output.size();) {
      const size_t n = std::uniform_int_distribution<size_t>(1, 7)(rng);
      chunks.push_back(output.substr(at, n));
      at += n;
    }
    EXPECT_EQ(run(options, chunks), whole) << "random chunking " << trial << ": " << output;
  }
  return whole;
}

ParserOptions tools(ToolCallFormat f, std::vector<std::string> names = {}) {
  ParserOptions o;
  o.tools = f;
  o.tool_names = std::move(names);
  return o;
}

Merged text_only(std::string text) { return {std::move(text), "", {}}; }

// ---- Hermes / Qwen ----

TEST(ToolCallHermes, TextThenCalls) {
  const auto m = parse(tools(ToolCallFormat::kHermes),
                       "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
                       "</tool_call>\n<tool_call>\n{\"arguments\": {\"q\": \"x <y>\"}, \"name\": \"search\"}\n</tool_call>");
  EXPECT_EQ(m.text, "Let me check.\n\n");
  ASSERT_EQ(m.calls.size(), 2u);
  EXPECT_EQ(m.calls[0], (Call{"get_weather", R"({"city":"Paris"})"}));
  EXPECT_EQ(m.calls[1], (Call{"search", R"({"q":"x <y>"})"}));
}

TEST(ToolCallHermes, PlainTextAndLookalikes) {
  EXPECT_EQ(parse(tools(ToolCallFormat::kHermes), "Hello <tool world <tool_"), text_only("Hello <tool world <tool_"));
}

TEST(ToolCallHermes, MalformedCallsComeBackAsText) {
  const auto opts = tools(ToolCallFormat::kHermes, {"get_weather"});
  for (std::string bad : {
           "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Par",           // cut off
           "<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\"}}</tool_call>",       // invalid JSON
           "<tool_call>{\"name\": \"launch\", \"arguments\": {}}</tool_call>",                    // unknown name
           "<tool_call></tool_call>",                                                            // no body
           "<tool_call>",                                                                        // marker only
           "<tool_call>{\"name\": \"get_weather\", \"arguments\": [1]}</tool_call>",              // not an object
       }) {
    EXPECT_EQ(parse(opts, "Hi " + bad), text_only("Hi " + bad));
  }
}

TEST(ToolCallHermes, BadCallAmongGoodOnesKeepsTheGoodOnes) {
  const auto m = parse(tools(ToolCallFormat::kHermes, {"a"}),
                       "<tool_call>{\"name\":\"b\",\"arguments\":{}}</tool_call><tool_call>{\"name\":\"a\"}</tool_call>");
  EXPECT_EQ(m.text, "<tool_call>{\"name\":\"b\",\"arguments\":{}}</tool_call>");
  ASSERT_EQ(m.calls.size(), 1u);
  EXPECT_EQ(m.calls[0], (Call{"a", "{}"}));  // missing arguments mean none
}

TEST(ToolCallHermes, ArgumentsGivenAsAJsonString) {
  const auto m = parse(tools(ToolCallFormat::kHermes),
                       "<tool_call>{\"name\":\"f\",\"arguments\":\"{\\\"x\\\": 1}\"}</tool_call>");
  ASSERT_EQ(m.calls.size(), 1u);
  EXPECT_EQ(m.calls[0].arguments, R"({"x":1})");
}

TEST(ToolCallHermes, NonAsciiArgumentsSurvive) {
  const auto m = parse(tools(ToolCallFormat::kHermes),
                       "<tool_call>{\"name\":\"f\",\"arguments\":{\"city\":\"Zürich 東京\"}}</tool_call>");
  ASSERT_EQ(m.calls.size(), 1u);
  EXPECT_EQ(m.calls[0].arguments, "{\"city\":\"Zürich 東京\"}");
}

TEST(ToolCallNone, EverythingIsText) {
  const std::string s = "<tool_call>{\"name\":\"f\"}</tool_call> [TOOL_CALLS] <think>x</think>";
  EXPECT_EQ(parse(tools(ToolCallFormat::kNone), s), text_only(s));
}


// ---- Llama 3.x ----

TEST(ToolCallLlama3, BareJsonCall) {
  const auto m = parse(tools(ToolCallFormat::kLlama3),
                       "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}");
  EXPECT_EQ(m, (Merged{"", "", {{"get_weather", R"({"city":"Paris"})"}}}));
}

TEST(ToolCallLlama3, SeveralCallsAfterPythonTag) {
  const auto m = parse(tools(ToolCallFormat::kLlama3),
                       "Sure. <|python_tag|>{\"name\": \"a\", \"parameters\": {\"x\": 1}}; "
                       "{\"type\": \"function\", \"name\": \"b\", \"arguments\": {}}\n");
  EXPECT_EQ(m, (Merged{"Sure. ", "", {{"a", R"({"x":1})"}, {"b", "{}"}}}));
}

TEST(ToolCallLlama3, TextAndJsonThatIsNotACall) {
  for (std::string s : {"The answer is {\"name\": \"x\", \"parameters\": {}}.", "{\"answer\": 42} is JSON",
                        "  {\"name\": \"a\", \"parameters\": {\"x\": ", "<|python_tag|>", "<|python_tag|>brave_search.call(query=\"x\")",
                        "{\"name\": \"a\", \"parameters\": {}} and then text", "   "}) {
    const auto m = parse(tools(ToolCallFormat::kLlama3, {"b"}), s);
    EXPECT_EQ(m, text_only(s)) << s;
  }
}

TEST(ToolCallLlama3, TextAfterACallIsKept) {
  const auto m = parse(tools(ToolCallFormat::kLlama3), "{\"name\": \"a\", \"parameters\": {}} and then text");
  EXPECT_EQ(m, (Merged{" and then text", "", {{"a", "{}"}}}));
}

// ---- Mistral ----

TEST(ToolCallMistral, JsonArray) {
  const auto m = parse(tools(ToolCallFormat::kMistral),
                       "[TOOL_CALLS][{\"name\": \"a\", \"arguments\": {\"x\": [1, \"]\"]}, \"id\": \"abc123def\"}, "
                       "{\"name\": \"b\", \"arguments\": {}}]");
  EXPECT_EQ(m, (Merged{"", "", {{"a", R"({"x":[1,"]"]})"}, {"b", "{}"}}}));
}

TEST(ToolCallMistral, NameArgsStyle) {
  const auto m = parse(tools(ToolCallFormat::kMistral),
                       "Checking.[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\"}[TOOL_CALLS]search[CALL_ID]a1B2c3D4e[ARGS]{}");
  EXPECT_EQ(m, (Merged{"Checking.", "", {{"get_weather", R"({"city":"Paris"})"}, {"search", "{}"}}}));
}

TEST(ToolCallMistral, MalformedCallsComeBackAsText) {
  for (std::string s : {"[TOOL_CALLS]", "[TOOL_CALLS] hello", "[TOOL_CALLS]get_weather{\"x\":1}",
                        "[TOOL_CALLS]get_weather[ARGS]{\"x\":", "[TOOL_CALLS]get_weather[ARGS]nope",
                        "[TOOL_CALLS][{\"name\": \"a\"}, 3]", "[TOOL_CALLS][{\"name\": \"a\"", "[TOOL_CALLS]launch[ARGS]{}",
                        "[TOOL_CALLS]get_weather[CALL_ID]x!", "[TOOL"}) {
    EXPECT_EQ(parse(tools(ToolCallFormat::kMistral, {"get_weather", "a"}), "ok " + s), text_only("ok " + s)) << s;
  }
}

// ---- gpt-oss harmony ----

TEST(ToolCallGptOss, AnalysisThenCall) {
  const auto m = parse(tools(ToolCallFormat::kGptOss),
                       "<|channel|>analysis<|message|>Need weather.<|end|><|start|>assistant<|channel|>commentary "
                       "to=functions.get_weather <|constrain|>json<|message|>{\"city\":\"Paris\"}<|call|>");
  EXPECT_EQ(m, (Merged{"", "Need weather.", {{"get_weather", R"({"city":"Paris"})"}}}));
}

TEST(ToolCallGptOss, RecipientBeforeChannelAndNoClosingToken) {
  // <|call|> ends generation, so the engine may never pass it on.
  const auto m = parse(tools(ToolCallFormat::kGptOss),
                       "<|channel|>analysis<|message|>x<|end|><|start|>assistant to=functions.f<|channel|>commentary json"
                       "<|message|>{\"a\": 1}");
  EXPECT_EQ(m, (Merged{"", "x", {{"f", R"({"a":1})"}}}));
}

TEST(ToolCallGptOss, FinalChannelIsText) {
  const auto m = parse(tools(ToolCallFormat::kGptOss),
                       "<|channel|>analysis<|message|>Think <|about|> it.<|end|><|start|>assistant<|channel|>final"
                       "<|message|>Hello, world.<|return|>");
  EXPECT_EQ(m, (Merged{"Hello, world.", "Think <|about|> it.", {}}));
}

TEST(ToolCallGptOss, MalformedCallsComeBackAsText) {
  const std::string cut = "<|start|>assistant<|channel|>commentary to=functions.f<|message|>{\"a\": ";
  EXPECT_EQ(parse(tools(ToolCallFormat::kGptOss), cut), text_only(cut));
  const std::string unknown = "<|channel|>commentary to=functions.g<|message|>{}<|call|>";
  EXPECT_EQ(parse(tools(ToolCallFormat::kGptOss, {"f"}), unknown), text_only(unknown));
  const std::string header_only = "<|channel|>final";
  EXPECT_EQ(parse(tools(ToolCallFormat::kGptOss), header_only), text_only(header_only));
}

TEST(ReasoningGptOss, InlineReasoningIsText) {
  auto o = tools(ToolCallFormat::kGptOss);
  o.reasoning_inline = true;
  EXPECT_EQ(parse(o, "<|channel|>analysis<|message|>a<|end|><|start|>assistant<|channel|>final<|message|>b"),
            text_only("ab"));
}

// ---- generic JSON ----

TEST(ToolCallGenericJson, CallsAndResponse) {
  const auto o = tools(ToolCallFormat::kGenericJson);
  EXPECT_EQ(parse(o, " {\"tool_calls\": [{\"name\": \"a\", \"arguments\": {\"x\": \"}\"}}, {\"name\": \"b\", \"arguments\": {}}]}\n"),
            (Merged{"", "", {{"a", R"({"x":"}"})"}, {"b", "{}"}}}));
  EXPECT_EQ(parse(o, "{\"tool_call\": {\"name\": \"a\", \"arguments\": {}}}"), (Merged{"", "", {{"a", "{}"}}}));
  EXPECT_EQ(parse(o, "{\"response\": \"Hi \\\"there\\\"\"}"), text_only("Hi \"there\""));
}

TEST(ToolCallGenericJson, AnythingElseIsText) {
  for (std::string s : {"plain answer", "{\"tool_calls\": [{\"name\": \"a\"", "{\"other\": 1}",
                        "{\"tool_calls\": [{\"name\": \"zzz\", \"arguments\": {}}]}", "{\"tool_calls\": [{\"name\": \"a\", \"arguments\": {}}]} trailing"}) {
    const auto m = parse(tools(ToolCallFormat::kGenericJson, {"a"}), s);
    if (std::string(s).ends_with("trailing")) {
      EXPECT_EQ(m, (Merged{" trailing", "", {{"a", "{}"}}}));
    } else {
      EXPECT_EQ(m, text_only(s)) << s;
    }
  }
}

// ---- <think> tags ----

ParserOptions think(ToolCallFormat f = ToolCallFormat::kNone) {
  ParserOptions o = tools(f);
  o.reasoning = ReasoningFormat::kThinkTags;
  return o;
}

TEST(ReasoningThinkTags, BlockThenText) {
  EXPECT_EQ(parse(think(), "<think>a</think>b"), (Merged{"b", "a", {}}));
  // Whitespace after </think> is dropped, as llama.cpp does; whitespace inside is kept.
  EXPECT_EQ(parse(think(), "\n<think>\nI should greet.\n</think>\n\nHello!"), (Merged{"Hello!", "\nI should greet.\n", {}}));
}

TEST(ReasoningThinkTags, NoBlockIsText) {
  EXPECT_EQ(parse(think(), "Hello <think>not at the start</think>"), text_only("Hello <think>not at the start</think>"));
  EXPECT_EQ(parse(think(), "<thin"), text_only("<thin"));
  EXPECT_EQ(parse(think(), " \n"), text_only(" \n"));
}

TEST(ReasoningThinkTags, CutOffBlockIsReasoning) {
  EXPECT_EQ(parse(think(), "<think>still thinking </thi"), (Merged{"", "still thinking </thi", {}}));
}

TEST(ReasoningThinkTags, PromptOpenedTheBlock) {
  auto o = think();
  o.starts_in_reasoning = true;
  EXPECT_EQ(parse(o, "Let me see.\n</think>\n\nDone."), (Merged{"Done.", "Let me see.\n", {}}));
  // A model that repeats the opening tag anyway.
  EXPECT_EQ(parse(o, "<think>x</think>y"), (Merged{"y", "x", {}}));
}

TEST(ReasoningThinkTags, InlineKeepsEverythingAsText) {
  auto o = think();
  o.reasoning_inline = true;
  EXPECT_EQ(parse(o, "<think>a</think>\nb"), text_only("<think>a</think>\nb"));
  o.starts_in_reasoning = true;
  EXPECT_EQ(parse(o, "a</think>\nb"), text_only("a</think>\nb"));
}

TEST(ReasoningThinkTags, WithHermesCalls) {
  // Qwen 3: reasoning, then a call; a call written inside the reasoning is not a call.
  const auto m = parse(think(ToolCallFormat::kHermes),
                       "<think>Maybe <tool_call>{\"name\":\"x\"}</tool_call>?</think>\n\n<tool_call>\n"
                       "{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>");
  EXPECT_EQ(m, (Merged{"", "Maybe <tool_call>{\"name\":\"x\"}</tool_call>?", {{"get_time", "{}"}}}));
}

TEST(ReasoningThinkTags, PushAfterFinishIsIgnored) {
  OutputParser p(think());
  (void)p.push("<think>a</thi");  // the partial tag is held back
  EXPECT_FALSE(p.finish().empty());
  EXPECT_TRUE(p.push("more").empty());
  EXPECT_TRUE(p.finish().empty());
}


// ---- DeepSeek R1 / V3.1 ----

const std::string kDsCallsBegin = "<｜tool▁calls▁begin｜>";
const std::string kDsCallsEnd = "<｜tool▁calls▁end｜>";
const std::string kDsCallBegin = "<｜tool▁call▁begin｜>";
const std::string kDsCallEnd = "<｜tool▁call▁end｜>";
const std::string kDsSep = "<｜tool▁sep｜>";

TEST(ToolCallDeepSeek, R1ThinkThenFencedCalls) {
  const auto m = parse(think(ToolCallFormat::kDeepSeek),
                       "<think>Need weather.</think>\n\nChecking." + kDsCallsBegin + kDsCallBegin + "function" + kDsSep +
                           "get_weather\n```json\n{\"city\": \"Paris\"}\n```" + kDsCallEnd + "\n" + kDsCallBegin +
                           "function" + kDsSep + "special_function\n```json\n{\"arg1\": 1}```" + kDsCallEnd + kDsCallsEnd);
  EXPECT_EQ(m, (Merged{"Checking.", "Need weather.", {{"get_weather", R"({"city":"Paris"})"}, {"special_function", R"({"arg1":1})"}}}));
}

TEST(ToolCallDeepSeek, V31NameThenJson) {
  const auto m = parse(tools(ToolCallFormat::kDeepSeek),
                       "CONTENT" + kDsCallsBegin + kDsCallBegin + "get_time" + kDsSep + "{\"city\": \"Paris\"}" + kDsCallEnd +
                           kDsCallBegin + "get_weather" + kDsSep + "{\"city\": \"Paris\"}" + kDsCallEnd + kDsCallsEnd + " bye");
  EXPECT_EQ(m, (Merged{"CONTENT bye", "", {{"get_time", R"({"city":"Paris"})"}, {"get_weather", R"({"city":"Paris"})"}}}));
}

TEST(ToolCallDeepSeek, MissingSectionMarkersAreTolerated) {
  // A distill that opens the call directly, and an engine that stops before the section end.
  const auto m = parse(tools(ToolCallFormat::kDeepSeek),
                       kDsCallBegin + "function" + kDsSep + "f\n```json\n{}\n```" + kDsCallEnd + "\n");
  EXPECT_EQ(m, (Merged{"", "", {{"f", "{}"}}}));
}

TEST(ToolCallDeepSeek, MalformedCallsComeBackAsText) {
  const auto opts = tools(ToolCallFormat::kDeepSeek, {"get_weather"});
  for (const std::string& bad : {
           kDsCallsBegin + kDsCallBegin + "function" + kDsSep + "get_weather\n```json\n{\"city\": \"Par",     // cut off
           kDsCallsBegin + kDsCallBegin + "function" + kDsSep + "get_weather\n```json\n{\"city\"}```" + kDsCallEnd,  // bad JSON
           kDsCallsBegin + kDsCallBegin + "launch" + kDsSep + "{}" + kDsCallEnd + kDsCallsEnd,                  // unknown name
           kDsCallsBegin + kDsCallBegin + "get_weather{}" + kDsCallEnd + kDsCallsEnd,                            // no separator
           kDsCallsBegin + kDsCallsEnd,                                                                        // empty section
           kDsCallsBegin + " plain words",                                                                     // no call
           kDsCallsBegin, std::string("<｜tool▁ca"),
       }) {
    EXPECT_EQ(parse(opts, "Hi " + bad), text_only("Hi " + bad)) << bad;
  }
}

TEST(ToolCallDeepSeek, BadCallAfterAGoodOneIsText) {
  const std::string bad = kDsCallBegin + "nope" + kDsSep + "{}" + kDsCallEnd;
  const auto m = parse(tools(ToolCallFormat::kDeepSeek, {"a"}),
                       kDsCallsBegin + kDsCallBegin + "a" + kDsSep + "{\"x\": [1]}" + kDsCallEnd + bad + kDsCallsEnd);
  EXPECT_EQ(m, (Merged{bad + kDsCallsEnd, "", {{"a", R"({"x":[1]})"}}}));
}

// ---- Functionary v3.2 ----

TEST(ToolCallFunctionaryV32, TextThenCalls) {
  const auto m = parse(tools(ToolCallFormat::kFunctionaryV32),
                       "all\nLet me check.\n>>>get_weather\n{\"city\": \"Paris\"}>>>search\n{\"q\": \">>>\"}");
  EXPECT_EQ(m, (Merged{"Let me check.\n", "", {{"get_weather", R"({"city":"Paris"})"}, {"search", R"({"q":">>>"})"}}}));
}

TEST(ToolCallFunctionaryV32, TextOnlyAndARepeatedPrompt) {
  EXPECT_EQ(parse(tools(ToolCallFormat::kFunctionaryV32), "all\nHello, world!\nWhat's up?"), text_only("Hello, world!\nWhat's up?"));
  EXPECT_EQ(parse(tools(ToolCallFormat::kFunctionaryV32), ">>>f\n{}"), (Merged{"", "", {{"f", "{}"}}}));
  EXPECT_EQ(parse(tools(ToolCallFormat::kFunctionaryV32), "all\nA>>>all\nB"), text_only("AB"));
}

TEST(ToolCallFunctionaryV32, MalformedCallsComeBackAsText) {
  for (std::string s : {"Hello there", "Hello\nworld", "get_weather\n{\"city\": ", "python\nprint(1)", "launch\n{}",
                        "get_weather\n[1]", "all\nx>>>", "all\nx>>>get_weather\n{\"a\"}", "all\nx>>> not a name", "", "\n"}) {
    const auto m = parse(tools(ToolCallFormat::kFunctionaryV32, {"get_weather"}), s);
    std::string want = s.starts_with("all\n") ? s.substr(4) : s;
    EXPECT_EQ(m, text_only(want)) << s;
  }
}

// ---- Functionary v3.1 ----

TEST(ToolCallFunctionaryV31, TextThenCalls) {
  const auto m = parse(tools(ToolCallFormat::kFunctionaryV31),
                       "Sure.<function=get_weather>{\"city\": \"Paris\"}</function>\n<function=f> {\"s\": \"</function>\"} </function>");
  EXPECT_EQ(m, (Merged{"Sure.\n", "", {{"get_weather", R"({"city":"Paris"})"}, {"f", R"({"s":"</function>"})"}}}));
}

TEST(ToolCallFunctionaryV31, MalformedCallsComeBackAsText) {
  for (std::string s : {"<function=get_weather>{\"city\": \"Par", "<function=get_weather>{\"city\"}</function>",
                        "<function=launch>{}</function>", "<function=>{}</function>", "<function=get_weather>{}",
                        "<function=get_weather>[1]</function>", "<function=a b>{}</function>", "<function=", "<functi",
                        "#include <functional>", "<|python_tag|>print(1)"}) {
    EXPECT_EQ(parse(tools(ToolCallFormat::kFunctionaryV31, {"get_weather"}), "Hi " + s), text_only("Hi " + s)) << s;
  }
}

// ---- Command R7B ----

TEST(ToolCallCommandR7B, ThinkingThenAction) {
  const auto m = parse(tools(ToolCallFormat::kCommandR7B),
                       "<|START_THINKING|>I will look it up.<|END_THINKING|><|START_ACTION|>[\n"
                       "    {\"tool_call_id\": \"0\", \"tool_name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}},\n"
                       "    {\"tool_call_id\": \"1\", \"tool_name\": \"search\", \"parameters\": {}}\n]<|END_ACTION|>");
  EXPECT_EQ(m, (Merged{"", "I will look it up.", {{"get_weather", R"({"city":"Paris"})"}, {"search", "{}"}}}));
}

TEST(ToolCallCommandR7B, ThinkingThenResponse) {
  EXPECT_EQ(parse(tools(ToolCallFormat::kCommandR7B),
                  "<|START_THINKING|>Easy.<|END_THINKING|><|START_RESPONSE|>Hello, world!\nWhat's up?<|END_RESPONSE|>"),
            (Merged{"Hello, world!\nWhat's up?", "Easy.", {}}));
  // No markers at all, and an action cut off before <|END_ACTION|> but complete.
  EXPECT_EQ(parse(tools(ToolCallFormat::kCommandR7B), "Plain <|START answer"), text_only("Plain <|START answer"));
  EXPECT_EQ(parse(tools(ToolCallFormat::kCommandR7B), "<|START_ACTION|>[{\"tool_name\": \"f\", \"parameters\": {\"a\": 1}}]"),
            (Merged{"", "", {{"f", R"({"a":1})"}}}));
  auto inline_opts = tools(ToolCallFormat::kCommandR7B);
  inline_opts.reasoning_inline = true;
  EXPECT_EQ(parse(inline_opts, "<|START_THINKING|>a<|END_THINKING|><|START_RESPONSE|>b<|END_RESPONSE|>"), text_only("ab"));
}

TEST(ToolCallCommandR7B, MalformedActionsComeBackAsText) {
  for (std::string s : {"<|START_ACTION|>[{\"tool_name\": \"get_weather\", \"parameters\": {\"c\": ",
                        "<|START_ACTION|>[{\"tool_name\": \"launch\", \"parameters\": {}}]<|END_ACTION|>",
                        "<|START_ACTION|>[{\"tool_name\": \"get_weather\", \"parameters\": {}}, 3]<|END_ACTION|>",
                        "<|START_ACTION|>[{\"name\": \"get_weather\", \"parameters\": {}}]<|END_ACTION|>",
                        "<|START_ACTION|>[]<|END_ACTION|>", "<|START_ACTION|>", "<|START_ACT"}) {
    EXPECT_EQ(parse(tools(ToolCallFormat::kCommandR7B, {"get_weather"}), "Hi " + s), text_only("Hi " + s)) << s;
  }
}

// ---- Granite 3.x ----

TEST(ToolCallGranite, CallList) {
  const auto m = parse(tools(ToolCallFormat::kGranite),
                       "<|tool_call|>[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}, "
                       "{\"name\": \"b\", \"arguments\": {}}]");
  EXPECT_EQ(m, (Merged{"", "", {{"get_weather", R"({"city":"Paris"})"}, {"b", "{}"}}}));
}

TEST(ToolCallGranite, ThinkThenResponse) {
  EXPECT_EQ(parse(think(ToolCallFormat::kGranite), "<think>Hmm.</think>\n<response>Hello!</response>"),
            (Merged{"Hello!", "Hmm.", {}}));
  EXPECT_EQ(parse(think(ToolCallFormat::kGranite), "<think>Hmm.</think><response>Checking.<|tool_call|>[{\"name\": \"f\"}]"),
            (Merged{"Checking.", "Hmm.", {{"f", "{}"}}}));
  // Only a wrapper opening the reply is syntax.
  EXPECT_EQ(parse(tools(ToolCallFormat::kGranite), "Use <response></response> tags"),
            text_only("Use <response></response> tags"));
}

TEST(ToolCallGranite, MalformedCallsComeBackAsText) {
  for (std::string s : {"<|tool_call|>[{\"name\": \"get_weather\", \"arguments\": {\"c\": ", "<|tool_call|>[{\"name\": \"launch\"}]",
                        "<|tool_call|>[{\"name\": \"get_weather\"}, 1]", "<|tool_call|>[]", "<|tool_call|> nope",
                        "<|tool_call|>", "<|tool_"}) {
    EXPECT_EQ(parse(tools(ToolCallFormat::kGranite, {"get_weather"}), "Hi " + s), text_only("Hi " + s)) << s;
  }
}

// ---- Qwen3-Coder XML ----

TEST(ToolCallQwen3Coder, XmlParameters) {
  const auto m = parse(think(ToolCallFormat::kQwen3Coder),
                       "<think>\nPlan.\n</think>\n\nLet me look.\n<tool_call>\n<function=write_file>\n<parameter=path>\n/tmp/a.txt\n"
                       "</parameter>\n<parameter=content>\nline 1\nline <2>\n</parameter>\n<parameter=count>\n3\n</parameter>\n"
                       "<parameter=opts>\n{\"x\": [true]}\n</parameter>\n</function>\n</tool_call>\n<tool_call>\n<function=ping>\n"
                       "</function>\n</tool_call>");
  EXPECT_EQ(m, (Merged{"Let me look.\n\n", "\nPlan.\n",
                       {{"write_file", R"({"path":"/tmp/a.txt","content":"line 1\nline <2>","count":3,"opts":{"x":[true]}})"},
                        {"ping", "{}"}}}));
}

TEST(ToolCallQwen3Coder, MalformedCallsComeBackAsText) {
  for (std::string s : {"<tool_call>\n<function=get_weather>\n<parameter=city>\nPar",
                        "<tool_call>\n<function=launch>\n</function>\n</tool_call>",
                        "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</function>\n</tool_call>",
                        "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}\n</tool_call>",
                        "<tool_call>\n<function=get_weather>\n</function>\nextra\n</tool_call>",
                        "<tool_call>\n<function=get_weather>\nstray\n</function>\n</tool_call>", "<tool_call>", "<tool_c",
                        "<function=get_weather>\n</function>"}) {
    EXPECT_EQ(parse(tools(ToolCallFormat::kQwen3Coder, {"get_weather"}), "Hi " + s), text_only("Hi " + s)) << s;
  }
}

// ---- random outputs made of marker fragments ----

// Outputs that mix markers, their prefixes, JSON pieces and text: no format may lose a character
// when it finds no call, and every chunking must agree (parse() checks that).
TEST(ToolCallFuzz, FragmentSoupIsChunkingInvariantAndLossless) {
  const std::vector<std::string> pieces = {
      "<tool_call>", "</tool_call>", "<tool_", "[TOOL_CALLS]", "[ARGS]", "[CALL_ID]", "[TOOL", "<|python_tag|>",
      "<|channel|>", "analysis", "final", "commentary to=functions.f", "<|message|>", "<|end|>", "<|call|>",
      "<|start|>assistant", "<think>", "</think>", "<｜tool▁calls▁begin｜>", "<｜tool▁call▁begin｜>", "<｜tool▁sep｜>",
      "<｜tool▁call▁end｜>", "<｜tool▁calls▁end｜>", "<｜tool", "function\n```json\n", "```", ">>>", "all\n", "f\n", "<function=f>",
      "</function>", "<function=", "<parameter=a>", "</parameter>", "<|START_THINKING|>", "<|END_THINKING|>", "<|START_ACTION|>",
      "<|END_ACTION|>", "<|START_RESPONSE|>", "<|END_RESPONSE|>", "<|START_", "{\"tool_name\": \"f\", \"parameters\": {}}",
      "<|tool_call|>", "<response>", "</response>", "{\"name\": \"f\", \"arguments\": {\"a\": 1}}",
      "{\"name\": \"f\"", "{", "}", "[", "]", "\"", "\\", ";", " ", "\n", "f", "text", "é"};
  std::mt19937 rng(42);
  for (int trial = 0; trial < 150; ++trial) {
    std::string out;
    const int n = std::uniform_int_distribution<int>(1, 8)(rng);
    for (int i = 0; i < n; ++i) out += pieces[std::uniform_int_distribution<size_t>(0, pieces.size() - 1)(rng)];
    for (ToolCallFormat f : {ToolCallFormat::kHermes, ToolCallFormat::kLlama3, ToolCallFormat::kMistral,
                             ToolCallFormat::kGptOss, ToolCallFormat::kGenericJson, ToolCallFormat::kDeepSeek,
                             ToolCallFormat::kFunctionaryV32, ToolCallFormat::kFunctionaryV31, ToolCallFormat::kCommandR7B,
                             ToolCallFormat::kGranite, ToolCallFormat::kQwen3Coder}) {
      ParserOptions o = tools(f);
      o.reasoning = trial % 2 ? ReasoningFormat::kThinkTags : ReasoningFormat::kNone;
      const Merged m = parse(o, out);
      // Formats whose markers are all syntax that a found call consumes: with no call, every
      // character comes back. (gpt-oss and Command R7B drop their channel markers; Functionary
      // v3.2 drops "all\n" and Granite a leading <response> wrapper.)
      const bool lossless = f == ToolCallFormat::kHermes || f == ToolCallFormat::kLlama3 || f == ToolCallFormat::kMistral ||
                            f == ToolCallFormat::kDeepSeek || f == ToolCallFormat::kFunctionaryV31 ||
                            f == ToolCallFormat::kQwen3Coder;
      if (lossless && o.reasoning == ReasoningFormat::kNone && m.calls.empty()) {
        EXPECT_EQ(m.text, out) << tool_call_format_name(f);
      }
    }
  }
}

}  // namespace
}  // namespace mx::chat

namespace mx::chat {
namespace {

// A list of calls cut off by the token limit (a model that keeps adding calls): the calls it
// finished are calls, the unfinished rest is text, in every chunking.
TEST(ToolCallLists, CutOffListKeepsTheFinishedCalls) {
  const std::string a = R"({"name": "get_weather", "arguments": {"city": "Paris"}})";
  const std::string cut = R"({"name": "get_weather", "argu)";
  struct Case {
    ToolCallFormat format;
    std::string output, rest;
  };
  const Case cases[] = {
      {ToolCallFormat::kGranite, "<|tool_call|>[" + a + ", " + a + ", " + cut, ", " + cut},
      {ToolCallFormat::kMistral, "[TOOL_CALLS][" + a + ", " + a + "," + cut, "," + cut},
      {ToolCallFormat::kGenericJson, "{\"tool_calls\": [" + a + ", " + a + ", " + cut, ", " + cut},
      {ToolCallFormat::kCommandR7B,
       R"(<|START_ACTION|>[{"tool_call_id": "0", "tool_name": "get_weather", "parameters": {"city": "Paris"}}, )"
       R"({"tool_call_id": "1", "tool_name": "get_weather", "parameters": {"city": "Paris"}}, {"tool_call_id": "2", "tool)",
       R"(, {"tool_call_id": "2", "tool)"},
  };
  for (const Case& c : cases) {
    const Merged m = parse(tools(c.format, {"get_weather"}), c.output);
    EXPECT_EQ(m, (Merged{c.rest, "", {{"get_weather", R"({"city":"Paris"})"}, {"get_weather", R"({"city":"Paris"})"}}}))
        << c.output;
  }
}

}  // namespace
}  // namespace mx::chat

namespace mx::chat {
namespace {

// A block that is not a call is text, and the scan resumes right after it: a later call in the
// same reply is still found (the shared marker + name + arguments parser, and call lists).
TEST(ToolCallBlocks, CallAfterARejectedBlockIsFound) {
  const std::string call = R"({"name": "get_weather", "arguments": {}})";
  EXPECT_EQ(parse(tools(ToolCallFormat::kMistral, {"get_weather"}), "[TOOL_CALLS][3] [TOOL_CALLS]get_weather[ARGS]{}"),
            (Merged{"[TOOL_CALLS][3] ", "", {{"get_weather", "{}"}}}));
  EXPECT_EQ(parse(tools(ToolCallFormat::kMistral, {"get_weather"}), "[TOOL_CALLS]launch[ARGS]{}\n[TOOL_CALLS] [" + call + "]"),
            (Merged{"[TOOL_CALLS]launch[ARGS]{}\n", "", {{"get_weather", "{}"}}}));
  EXPECT_EQ(parse(tools(ToolCallFormat::kFunctionaryV32, {"get_weather"}), "all\nx>>>python\nprint(1)\n>>>get_weather\n{}"),
            (Merged{"x>>>python\nprint(1)\n", "", {{"get_weather", "{}"}}}));
  EXPECT_EQ(parse(tools(ToolCallFormat::kGranite, {"get_weather"}), "<|tool_call|>[] then <|tool_call|> " + call),
            (Merged{"<|tool_call|>[] then ", "", {{"get_weather", "{}"}}}));
}

}  // namespace
}  // namespace mx::chat
