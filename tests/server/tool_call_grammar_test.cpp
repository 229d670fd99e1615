// The grammars of tool calls in every template family's syntax: each accepts the calls as the
// family writes them (hand-written here, as the templates render them) and the family's
// output parser reads those texts back into the same calls; lazily, from the call marker on;
// after a reasoning block the prompt opened. No model needed.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "chat/output_parser.h"
#include "engine/grammar_setup.h"
#include "gguf/gguf_file.h"
#include "sampling/gbnf.h"
#include "sampling/grammar_sampler.h"
#include "sampling/grammar_matcher.h"
#include "sampling/json_schema.h"
#include "server/tool_call_grammar.h"
#include "gguf_edit.h"
#include "test_paths.h"

namespace mx::server {
namespace {

using chat::ToolCallFormat;
using nlohmann::json;

std::vector<ToolDefinition> two_tools() {
  const json weather = {{"type", "object"},
                        {"properties", {{"city", {{"type", "string"}}}, {"days", {{"type", "integer"}}}}},
                        {"required", {"city"}},
                        {"additionalProperties", false}};
  const json time = {{"type", "object"},
                     {"properties", {{"zone", {{"enum", {"utc", "local"}}}}}},
                     {"required", {"zone"}},
                     {"additionalProperties", false}};
  return {{"get_weather", *json_schema_to_gbnf(weather.dump()), weather}, {"get_time", *json_schema_to_gbnf(time.dump()), time}};
}

struct Family {
  const char* name;
  ToolCallFormat format;
  const char* source;    // what tells a variant apart in its template
  const char* one_call;  // get_weather(city: Paris, days: 3)
  const char* two_calls; // that, then get_time(zone: utc); "" where one reply holds one call
};

const Family kFamilies[] = {
    {"Hermes", ToolCallFormat::kHermes, "",
     "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 3}}\n</tool_call>",
     "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 3}}\n</tool_call>\n"
     "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"utc\"}}\n</tool_call>"},
    {"Qwen3Coder", ToolCallFormat::kQwen3Coder, "",
     "<tool_call>\n<function=get_weather>\n<parameter=city>\n\"Paris\"\n</parameter>\n<parameter=days>\n3\n</parameter>\n"
     "</function>\n</tool_call>",
     "<tool_call>\n<function=get_weather>\n<parameter=city>\n\"Paris\"\n</parameter>\n<parameter=days>\n3\n</parameter>\n"
     "</function>\n</tool_call>\n<tool_call>\n<function=get_time>\n<parameter=zone>\n\"utc\"\n</parameter>\n</function>\n"
     "</tool_call>"},
    {"Llama3", ToolCallFormat::kLlama3, "",
     "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\", \"days\": 3}}",
     "<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\", \"days\": 3}}; "
     "{\"name\": \"get_time\", \"parameters\": {\"zone\": \"utc\"}}"},
    {"MistralNemo", ToolCallFormat::kMistral, "",
     "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 3}}]",
     "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 3}}, "
     "{\"name\": \"get_time\", \"arguments\": {\"zone\": \"utc\"}}]"},
    {"MistralSmall32", ToolCallFormat::kMistral, "{{ '[TOOL_CALLS]' + name + '[ARGS]' }}",
     "[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\", \"days\": 3}",
     "[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\", \"days\": 3}[TOOL_CALLS]get_time[ARGS]{\"zone\": \"utc\"}"},
    {"GptOss", ToolCallFormat::kGptOss, "",
     "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\": \"Paris\", \"days\": 3}", ""},
    {"DeepSeekR1", ToolCallFormat::kDeepSeek, "'```json'",
     "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\", \"days\": 3}"
     "\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
     "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\", \"days\": 3}"
     "\n```<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_time\n```json\n{\"zone\": \"utc\"}\n```"
     "<｜tool▁call▁end｜><｜tool▁calls▁end｜>"},
    {"DeepSeekV31", ToolCallFormat::kDeepSeek, "",
     "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{\"city\": \"Paris\", \"days\": 3}<｜tool▁call▁end｜>"
     "<｜tool▁calls▁end｜>",
     "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{\"city\": \"Paris\", \"days\": 3}<｜tool▁call▁end｜>"
     "<｜tool▁call▁begin｜>get_time<｜tool▁sep｜>{\"zone\": \"utc\"}<｜tool▁call▁end｜><｜tool▁calls▁end｜>"},
    {"FunctionaryV32", ToolCallFormat::kFunctionaryV32, "",
     "get_weather\n{\"city\": \"Paris\", \"days\": 3}",
     "get_weather\n{\"city\": \"Paris\", \"days\": 3}>>>get_time\n{\"zone\": \"utc\"}"},
    {"FunctionaryV31", ToolCallFormat::kFunctionaryV31, "",
     "<function=get_weather>{\"city\": \"Paris\", \"days\": 3}</function>",
     "<function=get_weather>{\"city\": \"Paris\", \"days\": 3}</function><function=get_time>{\"zone\": \"utc\"}</function>"},
    {"CommandR7B", ToolCallFormat::kCommandR7B, "",
     "<|START_ACTION|>[{\"tool_call_id\": \"0\", \"tool_name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\", "
     "\"days\": 3}}]<|END_ACTION|>",
     "<|START_ACTION|>[{\"tool_call_id\": \"0\", \"tool_name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\", "
     "\"days\": 3}}, {\"tool_call_id\": \"0\", \"tool_name\": \"get_time\", \"parameters\": {\"zone\": \"utc\"}}]<|END_ACTION|>"},
    {"Granite", ToolCallFormat::kGranite, "",
     "<|tool_call|>[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 3}}]",
     "<|tool_call|>[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 3}}, "
     "{\"name\": \"get_time\", \"arguments\": {\"zone\": \"utc\"}}]"},
    {"GenericJson", ToolCallFormat::kGenericJson, "",
     "{\"tool_call\": {\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 3}}}",
     "{\"tool_calls\": [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 3}}, "
     "{\"name\": \"get_time\", \"arguments\": {\"zone\": \"utc\"}}]}"},
};

std::shared_ptr<const Grammar> parsed(const ToolGrammar& g) {
  auto grammar = parse_gbnf(g.gbnf);
  EXPECT_TRUE(grammar.ok()) << (grammar.ok() ? "" : grammar.error().message) << "\n" << g.gbnf;
  return grammar.ok() ? std::make_shared<const Grammar>(std::move(*grammar)) : nullptr;
}

// The whole text is a sentence of the grammar (fed a few bytes at a time, as tokens come).
bool accepts(const std::shared_ptr<const Grammar>& g, std::string_view text) {
  if (!g) return false;
  GrammarMatcher m(g);
  for (size_t i = 0; i < text.size(); i += 3) {
    const std::string_view piece = text.substr(i, 3);
    if (!m.can_accept(piece)) return false;
    m.accept(piece);
  }
  return m.is_complete();
}

// The calls the family's parser reads from `text`: [[name, arguments], ...]; text events fail.
json parsed_calls(ToolCallFormat format, std::string_view text) {
  chat::OutputParser parser({.tools = format});
  std::vector<chat::OutputEvent> events = parser.push(text);
  for (chat::OutputEvent& e : parser.finish()) events.push_back(std::move(e));
  json calls = json::array();
  for (const chat::OutputEvent& e : events) {
    if (e.kind == chat::OutputEvent::Kind::kText)  // the separator between calls may come back as text
      EXPECT_EQ(e.text.find_first_not_of(" \n"), std::string::npos) << "text '" << e.text << "' in " << text;
    if (e.kind == chat::OutputEvent::Kind::kToolCallStart) calls.push_back({e.name, ""});
    if (e.kind == chat::OutputEvent::Kind::kToolCallArguments) calls.back()[1] = calls.back()[1].get<std::string>() + e.text;
  }
  for (json& c : calls) c[1] = json::parse(c[1].get<std::string>());
  return calls;
}

class ToolCallGrammarFamily : public testing::TestWithParam<Family> {};

TEST_P(ToolCallGrammarFamily, AcceptsTheFamilysCallsAndItsParserReadsThemBack) {
  const Family& f = GetParam();
  const json weather = {"get_weather", {{"city", "Paris"}, {"days", 3}}};
  const json time = {"get_time", {{"zone", "utc"}}};

  const auto one = parsed(tool_call_grammar(two_tools(), f.format, {.template_source = f.source}));
  EXPECT_TRUE(accepts(one, f.one_call)) << f.one_call;
  EXPECT_EQ(parsed_calls(f.format, f.one_call), json::array({weather}));
  // Not what the schemas allow: an unknown function, a missing required argument, a wrong type.
  std::string unknown = f.one_call, wrong_type = f.one_call;
  unknown.replace(unknown.find("get_weather"), 11, "get_wether");
  wrong_type.replace(wrong_type.find('3'), 1, "\"3\"");
  EXPECT_FALSE(accepts(one, unknown));
  EXPECT_FALSE(accepts(one, wrong_type));

  const auto several = parsed(tool_call_grammar(two_tools(), f.format, {.parallel = true, .template_source = f.source}));
  if (*f.two_calls) {
    EXPECT_TRUE(accepts(several, f.two_calls)) << f.two_calls;
    EXPECT_FALSE(accepts(one, f.two_calls)) << "parallel_tool_calls false allows one call";
    EXPECT_EQ(parsed_calls(f.format, f.two_calls), json::array({weather, time}));
  } else {
    EXPECT_TRUE(accepts(several, f.one_call));
  }

  // The prompt opened <think>: the calls follow the end of the reasoning.
  const auto after = parsed(tool_call_grammar(two_tools(), f.format, {.after_reasoning = true, .template_source = f.source}));
  EXPECT_TRUE(accepts(after, std::string("Paris is a city.</think>\n\n") + f.one_call));
  EXPECT_FALSE(accepts(after, f.one_call));
}

// tool_choice "auto": free text, then a trigger starts the grammar, which accepts the call
// from the trigger on.
TEST_P(ToolCallGrammarFamily, LazyGrammarStartsAtTheCallMarker) {
  const Family& f = GetParam();
  const ToolGrammar g = tool_call_grammar(two_tools(), f.format, {.parallel = true, .lazy = true, .template_source = f.source});
  if (f.format == ToolCallFormat::kGenericJson) {  // no marker: "auto" replies stay free
    EXPECT_TRUE(g.triggers.empty());
    return;
  }
  ASSERT_FALSE(g.triggers.empty());
  const auto grammar = parsed(g);
  for (const std::string& reply : {std::string(f.one_call), "Let me look that up. " + std::string(*f.two_calls ? f.two_calls : f.one_call)}) {
    TriggerDetector detector(g.triggers);
    std::optional<std::string> fired;
    size_t at = 0;
    for (; at < reply.size() && !fired; at += 2) fired = detector.feed(reply.substr(at, 2));
    ASSERT_TRUE(fired.has_value()) << reply;
    // The grammar takes the fired text and the rest of the reply.
    EXPECT_TRUE(accepts(grammar, *fired + reply.substr(std::min(at, reply.size())))) << *fired << " in " << reply;
  }
}

INSTANTIATE_TEST_SUITE_P(EveryFamily, ToolCallGrammarFamily, testing::ValuesIn(kFamilies),
                         [](const testing::TestParamInfo<Family>& i) { return std::string(i.param.name); });

TEST(ToolCallGrammar, RulesOfEachToolKeepTheirOwnNames) {
  EXPECT_EQ(prefix_gbnf_rules("root ::= object ws \"a-b\" [a-z]{1,3} # c d\nws ::= | \" \"\n", "t0-"),
            "t0-root ::= t0-object t0-ws \"a-b\" [a-z]{1,3} # c d\nt0-ws ::= | \" \"\n");
  std::vector<ToolDefinition> tools;
  const json schema = {{"type", "object"}, {"properties", {{"x", {{"type", "string"}}}}}};
  for (const char* name : {"a", "b\"c"}) tools.push_back({name, *json_schema_to_gbnf(schema.dump()), schema});
  for (const Family& f : kFamilies)
    for (bool parallel : {false, true}) parsed(tool_call_grammar(tools, f.format, {.parallel = parallel}));
  EXPECT_EQ(tool_call_grammar(tools, ToolCallFormat::kNone, {}).gbnf, "");
  EXPECT_EQ(tool_call_grammar({}, ToolCallFormat::kHermes, {}).gbnf, "");
}

// Qwen3-Coder writes arguments one by one: optional ones may be left out, a $ref reaches the
// schema's definitions, a string stays a string even when it reads as a number.
TEST(ToolCallGrammar, XmlParametersFollowEachPropertysSchema) {
  const json schema = {{"type", "object"},
                       {"$defs", {{"unit", {{"enum", {"c", "f"}}}}}},
                       {"properties", {{"code", {{"type", "string"}}}, {"unit", {{"$ref", "#/$defs/unit"}}}}},
                       {"required", {"code"}}};
  const std::vector<ToolDefinition> tools = {{"f", *json_schema_to_gbnf(schema.dump()), schema}};
  const auto g = parsed(tool_call_grammar(tools, ToolCallFormat::kQwen3Coder, {}));
  const std::string head = "<tool_call>\n<function=f>\n<parameter=code>\n\"42\"\n</parameter>\n";
  const std::string tail = "</function>\n</tool_call>";
  EXPECT_TRUE(accepts(g, head + tail));
  EXPECT_TRUE(accepts(g, head + "<parameter=unit>\n\"c\"\n</parameter>\n" + tail));
  EXPECT_FALSE(accepts(g, head + "<parameter=unit>\n\"k\"\n</parameter>\n" + tail));
  EXPECT_FALSE(accepts(g, "<tool_call>\n<function=f>\n" + tail));  // code is required
  EXPECT_EQ(parsed_calls(ToolCallFormat::kQwen3Coder, head + tail), json::array({{"f", {{"code", "42"}}}}));
}

// In a real vocabulary the markers are control tokens (Llama 3's <|python_tag|>): the tool
// grammar sees their text, so a forced call may start with the one token, and a lazy grammar
// fires on it; with the plain texts (control tokens are not text) it could do neither.
TEST(ToolCallGrammar, ControlTokenMarkersAreOneTokenOfTheGrammar) {
  // Llama 3.0's vocabulary (llama.cpp's test file) with 3.1's <|python_tag|> in its reserved
  // control token 128010, as 3.1 has it.
  const std::string vocab = test::shared_path("tokenizer/ggml-vocab-llama-bpe.gguf");
  gguf::Value tokens;
  {
    auto original = gguf::File::open(vocab);
    ASSERT_TRUE(original.ok()) << original.error().message;
    tokens = *original->find("tokenizer.ggml.tokens");
  }
  std::get<gguf::Array>(tokens.data).items.at(128010).data = std::string("<|python_tag|>");
  const std::string edited = test::temp_path("llama31-vocab.gguf");
  ASSERT_TRUE(test::write_edited(vocab, test::GgufEdit{}.with("tokenizer.ggml.tokens", tokens), edited).ok());
  auto file = gguf::File::open(edited);
  std::filesystem::remove(edited);  // read into memory
  ASSERT_TRUE(file.ok()) << file.error().message;
  auto tokenizer = Tokenizer::from_gguf(*file);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.error().message;
  const Tokenizer& tok = **tokenizer;
  const Token tag = tok.vocab().find("<|python_tag|>");
  ASSERT_NE(tag, kNoToken);
  ASSERT_TRUE(tok.vocab().is_control(tag));
  const auto plain = token_texts(tok), spelled = token_texts(tok, ControlTokens::kAsText);
  EXPECT_EQ(plain->text[static_cast<size_t>(tag)], "");
  EXPECT_EQ(spelled->text[static_cast<size_t>(tag)], "<|python_tag|>");
  EXPECT_EQ(spelled->text[static_cast<size_t>(tok.vocab().bos())], "") << "BOS is never text";

  auto forced = [&](const ToolGrammar& g, std::shared_ptr<const TokenTexts> texts) {
    GrammarConstraint c = grammar_constraint(parsed(g), std::move(texts), tok);
    c.triggers = g.triggers;
    return GrammarSampler(std::move(c));
  };
  const ToolGrammar call = tool_call_grammar(two_tools(), ToolCallFormat::kLlama3, {});
  EXPECT_TRUE(forced(call, spelled).allows(tag));
  EXPECT_FALSE(forced(call, plain).allows(tag));

  const ToolGrammar lazy = tool_call_grammar(two_tools(), ToolCallFormat::kLlama3, {.lazy = true});
  GrammarSampler waiting = forced(lazy, spelled);
  for (const Token t : tok.encode("Let me check. ", false, false)) waiting.accept(t);
  EXPECT_TRUE(waiting.waiting());
  waiting.accept(tag);
  EXPECT_FALSE(waiting.waiting()) << "the marker token started the grammar";
  EXPECT_FALSE(waiting.allows(tok.vocab().find("Hello"))) << "a call must follow";
}

}  // namespace
}  // namespace mx::server
