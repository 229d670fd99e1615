// The cost of choosing one token on a 151k-token vocabulary (Qwen2's size) with the
// default sampler chain (penalties, DRY, top-k 40, top-p 0.95, min-p 0.05, temperature
// 0.8), and greedily: what the scheduler spends per sequence and step beside the model.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "sampling/chain.h"

namespace mx {
namespace {

constexpr int64_t kVocab = 151936;

std::vector<float> random_logits(uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<float> logits(kVocab);
  for (float& x : logits) x = normal(rng);
  return logits;
}

void BM_Sample(benchmark::State& state, float temperature) {
  SamplingParams params;
  params.temperature = temperature;
  const std::vector<float> logits = random_logits(1);
  constexpr int kTokens = 64;  // one reply: the chain's history grows as in a generation
  for (auto _ : state) {
    SamplerChain chain(params, kVocab);
    for (int i = 0; i < kTokens; ++i) benchmark::DoNotOptimize(chain.sample(logits));
  }
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kTokens), benchmark::Counter::kIsRate);
}

BENCHMARK_CAPTURE(BM_Sample, default_chain, 0.8f)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Sample, greedy, 0.0f)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mx
