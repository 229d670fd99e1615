// Tokenizer throughput: encoding ~1 MB of mixed English / Chinese / code text with
// byte-level BPE (Llama 3, Qwen2/3, GPT-2), SentencePiece (Llama 2) and WordPiece (BERT)
// vocabularies, reported as MB/s of input; and
// 100 KB runs of one character, the worst case for merge loops (must stay O(n log n)).
// Vocabularies come from $MOXING_SHARED_DIR, else ../shared next to this source tree.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "tokenizer/tokenizer.h"

namespace mx {
namespace {

std::string shared_dir() {
  if (const char* dir = std::getenv("MOXING_SHARED_DIR")) return dir;
  // This file is <repo>/bench/tokenizer_bench.cpp and the data sits beside <repo>.
  const std::filesystem::path beside = std::filesystem::path(__FILE__).parent_path().parent_path() / ".." / "shared";
  if (std::filesystem::exists(beside)) return beside.string();
  return "../shared";
}

// Loaded on first use and kept for the process (a benchmark binary, not library code).
const Tokenizer* tokenizer(const std::string& name, std::string& error) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto& slot = cache[name];
  if (!slot) {
    auto file = gguf::File::open(shared_dir() + "/tokenizer/ggml-vocab-" + name + ".gguf");
    if (!file) {
      error = file.error().message;
      return nullptr;
    }
    auto tok = Tokenizer::from_gguf(*file);
    if (!tok) {
      error = tok.error().message;
      return nullptr;
    }
    slot = std::move(*tok);
  }
  return slot.get();
}

// ~1 MB of text, the same on every run: prose, Chinese, source code and numbers in
// paragraphs picked by a fixed linear congruential generator.
const std::string& mixed_text() {
  static const std::string text = [] {
    const char* english[] = {
        "The quick brown fox jumps over the lazy dog. ",
        "It's a truth universally acknowledged that a model in possession of a good tokenizer "
        "must be in want of speed. ",
        "Don't panic: we'll measure it, they've said, and you're right to ask. ",
        "In 2024, 37.5% of the 1,234 requests took longer than 250 ms; ",
        "Hello, World!  Multiple   spaces\tand tabs.\n",
    };
    const char* chinese[] = {
        "大模型已经成为了各行各业的核心技术。", "我想在苹果公司工作一千三百一十四天～",
        "自然语言处理是人工智能的一个重要分支，", "今天天气很好，我们去公园散步吧！\n",
    };
    const char* code[] = {
        "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }\n",
        "def tokenize(text: str) -> list[int]:\n    return [vocab[w] for w in text.split()]\n",
        "    if (x != nullptr && x->next) return x->next->value;  // 🦙 fast path\n",
        "const std::vector<float> logits = model.forward(batch);\n",
    };
    std::string out;
    out.reserve(1 << 20);
    uint32_t state = 12345;
    auto next = [&](uint32_t n) {
      state = state * 1664525u + 1013904223u;
      return (state >> 8) % n;
    };
    while (out.size() < (1u << 20)) {
      switch (next(3)) {
        case 0:
          for (int i = 0; i < 6; ++i) out += english[next(5)];
          break;
        case 1:
          for (int i = 0; i < 4; ++i) out += chinese[next(4)];
          break;
        default:
          for (int i = 0; i < 5; ++i) out += code[next(4)];
          break;
      }
      out += "\n";
    }
    return out;
  }();
  return text;
}

void run_encode(benchmark::State& state, const std::string& name, const std::string& text) {
  std::string error;
  const Tokenizer* t = tokenizer(name, error);
  if (!t) {
    state.SkipWithError(error.c_str());
    return;
  }
  size_t n_tokens = 0;
  for (auto _ : state) {
    const std::vector<Token> ids = t->encode(text, false, false);
    n_tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["MB/s"] = benchmark::Counter(static_cast<double>(text.size()) * state.iterations() / 1e6,
                                              benchmark::Counter::kIsRate);
  state.counters["tokens"] = static_cast<double>(n_tokens);
  state.counters["bytes/token"] = static_cast<double>(text.size()) / std::max<size_t>(n_tokens, 1);
}

void BM_EncodeMixed1MB(benchmark::State& state, const char* name) { run_encode(state, name, mixed_text()); }

void BM_EncodeRun100KB(benchmark::State& state, const char* name, const char* unit) {
  std::string text;
  while (text.size() < 100'000) text += unit;
  run_encode(state, name, text);
}

BENCHMARK_CAPTURE(BM_EncodeMixed1MB, llama_bpe, "llama-bpe")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeMixed1MB, qwen2, "qwen2")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeMixed1MB, gpt2, "gpt-2")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeMixed1MB, llama_spm, "llama-spm")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeRun100KB, llama_bpe_a, "llama-bpe", "a")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeRun100KB, llama_bpe_spaces, "llama-bpe", " ")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeRun100KB, qwen2_a, "qwen2", "a")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeRun100KB, qwen2_spaces, "qwen2", " ")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeRun100KB, llama_spm_a, "llama-spm", "a")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeRun100KB, llama_spm_spaces, "llama-spm", " ")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_EncodeMixed1MB, bert_wpm, "bert-bge")->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mx
