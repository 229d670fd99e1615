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

}  // namespace
}  // namespace mx::chat
