// Constrained sampling cost on a 151k-token vocabulary (Qwen2's). Grammar: masking every
// token at a restrictive point of a JSON grammar (after "{") and a permissive one (inside
// a string), the first time the grammar is in that state (Fresh) and again (Cached), and
// checking the one token the model chose (the common, lazy path). UTF-8 guard: the same
// two costs at a character boundary and inside a character. Building the token texts
// (once per model).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "engine/grammar_setup.h"
#include "gguf/gguf_file.h"
#include "sampling/gbnf.h"
#include "sampling/utf8_guard.h"

namespace mx {
namespace {

constexpr std::string_view kJson = R"(root ::= object
object ::= "{" ws (string ":" ws value ("," ws string ":" ws value)*)? "}" ws
array ::= "[" ws (value ("," ws value)*)? "]" ws
value ::= object | array | string | number | ("true" | "false" | "null") ws
string ::= "\"" ([^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4}))* "\"" ws
number ::= "-"? ([0-9] | [1-9] [0-9]*) ("." [0-9]+)? ([eE] [-+]? [0-9]+)? ws
ws ::= [ \t\n]*
)";

std::string vocab_path() {
  const char* dir = std::getenv("MOXING_SHARED_DIR");
  const std::filesystem::path base = dir ? std::filesystem::path(dir)
                                         : std::filesystem::path(__FILE__).parent_path().parent_path() / ".." / "shared";
  return (base / "tokenizer" / "ggml-vocab-qwen2.gguf").string();
}

enum class Work { kFresh, kCached, kChosenToken };

void BM_GrammarMask(benchmark::State& state, std::string prefix, Work work) {
  auto file = gguf::File::open(vocab_path());
  if (!file) return state.SkipWithError(file.error().message.c_str());
  auto tok = Tokenizer::from_gguf(*file);
  if (!tok) return state.SkipWithError(tok.error().message.c_str());
  auto g = parse_gbnf(kJson);
  if (!g) return state.SkipWithError(g.error().message.c_str());
  const GrammarConstraint constraint = grammar_constraint(std::make_shared<const Grammar>(std::move(*g)), token_texts(**tok), **tok);
  const std::vector<Token> prefix_tokens = (*tok)->encode(prefix, false, false);
  auto sampler = std::make_unique<GrammarSampler>(constraint);
  for (Token t : prefix_tokens) sampler->accept(t);
  const int32_t n_vocab = (*tok)->vocab().size();
  const std::vector<float> logits(static_cast<size_t>(n_vocab), 0.0f);
  Candidates c;
  for (auto _ : state) {
    if (work == Work::kChosenToken) {
      benchmark::DoNotOptimize(sampler->allows(1));
      continue;
    }
    if (work == Work::kFresh) {  // a new sampler has never seen this state
      state.PauseTiming();
      sampler = std::make_unique<GrammarSampler>(constraint);
      for (Token t : prefix_tokens) sampler->accept(t);
      state.ResumeTiming();
    }
    c.reset(logits);
    sampler->apply(c);
    benchmark::DoNotOptimize(c.items.data());
  }
  state.counters["vocab"] = n_vocab;
}

std::unique_ptr<Tokenizer> qwen2_tokenizer(benchmark::State& state) {
  auto file = gguf::File::open(vocab_path());
  if (!file) {
    state.SkipWithError(file.error().message.c_str());
    return nullptr;
  }
  auto tok = Tokenizer::from_gguf(*file);
  if (!tok) {
    state.SkipWithError(tok.error().message.c_str());
    return nullptr;
  }
  return std::move(*tok);
}

void BM_TokenTexts(benchmark::State& state) {
  const auto tok = qwen2_tokenizer(state);
  if (!tok) return;
  for (auto _ : state) benchmark::DoNotOptimize(token_texts(*tok));
}

// `open`: the output ends inside a character (the first byte of a 3-byte one).
void BM_Utf8GuardMask(benchmark::State& state, bool open, Work work) {
  const auto tok = qwen2_tokenizer(state);
  if (!tok) return;
  Utf8Guard guard(token_texts(*tok));
  if (open) guard.accept(tok->vocab().byte_token(0xE6));
  const std::vector<float> logits(static_cast<size_t>(tok->vocab().size()), 0.0f);
  Candidates c;
  for (auto _ : state) {
    if (work == Work::kChosenToken) {
      benchmark::DoNotOptimize(guard.allows(1000));
      continue;
    }
    c.reset(logits);
    guard.apply(c);
    benchmark::DoNotOptimize(c.items.data());
  }
}

const int kRegistered = [] {
  const std::pair<const char*, std::string> points[] = {{"AfterBrace", "{"}, {"InString", "{\"name\": \"Jo"}};
  for (const auto& [name, prefix] : points) {
    const std::string base = std::string("GrammarMask/") + name;
    benchmark::RegisterBenchmark((base + "/Fresh").c_str(), BM_GrammarMask, prefix, Work::kFresh)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark((base + "/Cached").c_str(), BM_GrammarMask, prefix, Work::kCached)->Unit(benchmark::kMillisecond);
  }
  benchmark::RegisterBenchmark("GrammarMask/InString/ChosenToken", BM_GrammarMask, "{\"name\": \"Jo", Work::kChosenToken);
  benchmark::RegisterBenchmark("TokenTexts/Build", BM_TokenTexts)->Unit(benchmark::kMillisecond);
  for (const bool open : {false, true}) {
    const std::string base = std::string("Utf8Guard/") + (open ? "InsideACharacter" : "AtABoundary");
    benchmark::RegisterBenchmark((base + "/Mask").c_str(), BM_Utf8GuardMask, open, Work::kCached)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark((base + "/ChosenToken").c_str(), BM_Utf8GuardMask, open, Work::kChosenToken);
  }
  return 0;
}();

}  // namespace
}  // namespace mx
