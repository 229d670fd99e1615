#include "engine/generate.h"

#include <chrono>
#include <vector>

namespace mx {
namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

std::string_view finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::kEndOfText: return "end of text";
    case FinishReason::kLength: return "length limit";
    case FinishReason::kContextFull: return "context full";
    case FinishReason::kStopped: return "a stop sequence";
    case FinishReason::kRepetition: return "repetition";
  }
  return "";
}

Status prefill(const Model& model, ExecContext& ctx, KvCache& cache, int32_t seq,
               std::span<const Token> tokens, std::span<float> last_logits) {
  Batch batch;
  for (size_t b = 0; b < tokens.size(); b += kMaxBatch) {
    batch.clear();
    const size_t e = std::min(tokens.size(), b + kMaxBatch);
    const int64_t start = cache.length(seq);
    for (size_t i = b; i < e; ++i)
      batch.add(tokens[i], static_cast<int32_t>(start + i - b), seq, i + 1 == tokens.size());
    if (auto st = forward(model, batch, cache, ctx, last_logits.data()); !st) return st;
  }
  return {};
}

Expected<GenerateStats> generate(const Model& model, ExecContext& ctx, KvCache& cache,
                                 std::span<const Token> prompt, const GenerateOptions& options,
                                 const GenerateCallbacks& cb) {
  if (prompt.empty()) return make_error("the prompt is empty");
  const int64_t n_total = cache.length(0) + static_cast<int64_t>(prompt.size());
  if (n_total >= cache.n_ctx())
    return make_error("the prompt has {} tokens but the context holds {}; use a larger context (-c)",
                      n_total, cache.n_ctx());
  GenerateStats stats;
  stats.n_prompt = static_cast<int64_t>(prompt.size());
  std::vector<float> logits(model.config.n_vocab);
  SamplerChain sampler(options.sampling, model.config.n_vocab);
  for (Token t : prompt) sampler.accept(t);  // penalties and DRY see the prompt too
  LoopDetector loops(options.loop_guard);

  auto t0 = std::chrono::steady_clock::now();
  if (auto st = prefill(model, ctx, cache, 0, prompt, logits); !st) return st.error();
  stats.prompt_seconds = seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  Batch step;
  for (;;) {
    if (options.n_predict >= 0 && stats.n_generated >= options.n_predict) {
      stats.finish = FinishReason::kLength;
      break;
    }
    const Token tok = sampler.sample(logits);
    if (tok < 0 || (cb.is_end && cb.is_end(tok))) {  // < 0: the grammar allows nothing more
      stats.finish = FinishReason::kEndOfText;
      break;
    }
    ++stats.n_generated;
    if ((options.logprobs || options.top_logprobs > 0) && cb.on_logprobs)
      cb.on_logprobs(step_logprobs(logits, tok, options.top_logprobs));
    if (options.loop_guard.mode != LoopGuardMode::kOff) {
      if (const auto loop = loops.push(tok)) {
        // Penalize: the first loop switches the penalties on; a loop despite them stops.
        const bool again = stats.loop.has_value();
        if (!again) {
          stats.loop = loop;
          stats.loop_at = stats.n_generated;
        }
        if (options.loop_guard.mode == LoopGuardMode::kStop || again) {
          stats.finish = FinishReason::kRepetition;
          break;
        }
        loops.reset();
        PenaltyParams pen = options.sampling.penalties;
        if (!pen.active()) pen = options.loop_penalties;
        DryParams dry = options.sampling.dry;
        if (!dry.active()) dry = options.loop_dry;
        sampler.strengthen_penalties(pen, dry);
        stats.penalized = true;
      }
    }
    if (cb.on_token && !cb.on_token(tok)) {
      stats.finish = FinishReason::kStopped;
      break;
    }
    if (cache.length(0) >= cache.n_ctx()) {
      stats.finish = FinishReason::kContextFull;
      break;
    }
    step.clear();
    step.add(tok, static_cast<int32_t>(cache.length(0)), 0, true);
    if (auto st = forward(model, step, cache, ctx, logits.data()); !st) return st.error();
  }
  stats.gen_seconds = seconds_since(t0);
  return stats;
}

}  // namespace mx
