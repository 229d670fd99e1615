// What a forced tool call costs the sampler on a 151k-token vocabulary (Qwen2's): ten tools
// of realistic schemas, their calls in the Hermes format (<tool_call>{"name": ..., "arguments":
// {...}}</tool_call>), masking every token at the points where the grammar branches most
// (choosing the function's name; a free string value inside the arguments), the first time
// the grammar is in that state (Fresh) and again (Cached); and the per-token cost of a lazy
// grammar still waiting for its trigger (tool_choice "auto" before the model starts a call).
// Compare with a decode step of the model the grammar runs beside (docs/performance.md).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "engine/grammar_setup.h"
#include "gguf/gguf_file.h"
#include "sampling/gbnf.h"
#include "sampling/json_schema.h"
#include "server/tool_calls.h"

namespace mx {
namespace {

std::string vocab_path() {
  const char* dir = std::getenv("MOXING_SHARED_DIR");
  const std::filesystem::path base = dir ? std::filesystem::path(dir)
                                         : std::filesystem::path(__FILE__).parent_path().parent_path() / ".." / "shared";
  return (base / "tokenizer" / "ggml-vocab-qwen2.gguf").string();
}

// Ten tools an agent offers: strings, numbers, enums, arrays, nested objects, required keys.
std::vector<server::ToolDefinition> ten_tools() {
  const char* schemas[] = {
      R"({"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city"]})",
      R"({"type":"object","properties":{"zone":{"enum":["utc","local"]}},"required":["zone"]})",
      R"({"type":"object","properties":{"query":{"type":"string"},"limit":{"type":"integer"}},"required":["query"]})",
      R"({"type":"object","properties":{"path":{"type":"string"},"lines":{"type":"array","items":{"type":"integer"}}},"required":["path"]})",
      R"({"type":"object","properties":{"to":{"type":"string"},"subject":{"type":"string"},"body":{"type":"string"}},"required":["to","body"]})",
      R"({"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"},"op":{"enum":["add","sub","mul","div"]}},"required":["a","b","op"]})",
      R"({"type":"object","properties":{"title":{"type":"string"},"due":{"type":"string"},"tags":{"type":"array","items":{"type":"string"}}},"required":["title"]})",
      R"({"type":"object","properties":{"user":{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"}},"required":["id"]}},"required":["user"]})",
      R"({"type":"object","properties":{"url":{"type":"string"},"method":{"enum":["GET","POST"]},"headers":{"type":"object"}},"required":["url"]})",
      R"({"type":"object","properties":{"code":{"type":"string"},"timeout":{"type":"integer"}},"required":["code"]})",
  };
  const char* names[] = {"get_weather", "get_time", "search_web", "read_file", "send_email",
                         "calculate", "create_task", "lookup_user", "http_request", "run_python"};
  std::vector<server::ToolDefinition> tools;
  for (int i = 0; i < 10; ++i) {
    auto gbnf = json_schema_to_gbnf(schemas[i]);
    if (!gbnf) std::abort();
    tools.push_back({names[i], *gbnf});
  }
  return tools;
}

struct Setup {
  std::unique_ptr<Tokenizer> tokenizer;
  GrammarConstraint constraint;
};

std::optional<Setup> setup(benchmark::State& state, bool lazy) {
  auto file = gguf::File::open(vocab_path());
  if (!file) {
    state.SkipWithError(file.error().message.c_str());
    return std::nullopt;
  }
  auto tok = Tokenizer::from_gguf(*file);
  if (!tok) {
    state.SkipWithError(tok.error().message.c_str());
    return std::nullopt;
  }
  auto g = parse_gbnf(server::tool_call_grammar(ten_tools(), chat::ToolCallFormat::kHermes, {.parallel = true}).gbnf);
  if (!g) {
    state.SkipWithError(g.error().message.c_str());
    return std::nullopt;
  }
  Setup s{std::move(*tok), {}};
  s.constraint = grammar_constraint(std::make_shared<const Grammar>(std::move(*g)), token_texts(*s.tokenizer), *s.tokenizer);
  if (lazy) s.constraint.triggers = {LazyTrigger{.words = {"<tool_call>"}}};
  return s;
}

enum class Work { kFresh, kCached };

void BM_ToolCallMask(benchmark::State& state, std::string prefix, Work work) {
  auto s = setup(state, false);
  if (!s) return;
  const std::vector<Token> prefix_tokens = s->tokenizer->encode(prefix, false, false);
  auto sampler = std::make_unique<GrammarSampler>(s->constraint);
  for (Token t : prefix_tokens) sampler->accept(t);
  const std::vector<float> logits(static_cast<size_t>(s->tokenizer->vocab().size()), 0.0f);
  Candidates c;
  for (auto _ : state) {
    if (work == Work::kFresh) {
      state.PauseTiming();
      sampler = std::make_unique<GrammarSampler>(s->constraint);
      for (Token t : prefix_tokens) sampler->accept(t);
      state.ResumeTiming();
    }
    c.reset(logits);
    sampler->apply(c);
    benchmark::DoNotOptimize(c.items.data());
  }
}

// "auto" before any call: each generated token is checked against the trigger only.
void BM_LazyWaiting(benchmark::State& state) {
  auto s = setup(state, true);
  if (!s) return;
  const std::vector<Token> text = s->tokenizer->encode("The weather in Paris is mild today, so a walk is a good idea.", false, false);
  GrammarSampler sampler(s->constraint);
  size_t i = 0;
  for (auto _ : state) {
    const Token t = text[i++ % text.size()];
    benchmark::DoNotOptimize(sampler.allows(t));
    sampler.accept(t);
  }
}

const int kRegistered = [] {
  const std::pair<const char*, std::string> points[] = {
      {"ChoosingTheName", "<tool_call>\n{\"name\": \""},
      {"InAStringArgument", "<tool_call>\n{\"name\": \"send_email\", \"arguments\": {\"body\": \"Dear Jo"},
  };
  for (const auto& [name, prefix] : points) {
    const std::string base = fmt::format("ToolCallGrammar/10Tools/{}", name);
    benchmark::RegisterBenchmark((base + "/Fresh").c_str(), BM_ToolCallMask, prefix, Work::kFresh)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark((base + "/Cached").c_str(), BM_ToolCallMask, prefix, Work::kCached)->Unit(benchmark::kMillisecond);
  }
  benchmark::RegisterBenchmark("ToolCallGrammar/10Tools/LazyWaitingPerToken", BM_LazyWaiting);
  return 0;
}();

}  // namespace
}  // namespace mx
