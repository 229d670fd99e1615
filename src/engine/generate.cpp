#include "engine/generate.h"

#include "engine/generation.h"

#include <algorithm>
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
    case FinishReason::kError: return "an error";
    case FinishReason::kOutOfMemory: return "running out of memory";
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
                                 const GenerateCallbacks& cb, Drafter* drafter) {
  if (prompt.empty()) return make_error("the prompt is empty");
  const int64_t n_total = cache.length(0) + static_cast<int64_t>(prompt.size());
  if (n_total >= cache.n_ctx())
    return make_error("the prompt has {} tokens but the context holds {}; use a larger context (-c)",
                      n_total, cache.n_ctx());
  const int64_t n_vocab = model.config.n_vocab;
  std::vector<float> logits(n_vocab);
  Generation gen(options, static_cast<int32_t>(n_vocab), prompt);
  if (drafter) drafter->begin(cache.length(0), prompt);

  auto t0 = std::chrono::steady_clock::now();
  if (auto st = prefill(model, ctx, cache, 0, prompt, logits); !st) return st.error();
  const double prompt_seconds = seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  Batch step;
  std::vector<Token> drafts;
  auto tok = gen.next(logits, cb);
  while (tok) {
    const int64_t pos = cache.length(0);
    if (pos >= cache.n_ctx()) {
      gen.finish(FinishReason::kContextFull);
      break;
    }
    drafts.clear();
    if (drafter) {
      // Room for the drafts in the context, and no more of them than tokens still wanted.
      int64_t room = cache.n_ctx() - pos - 1;
      if (options.n_predict >= 0) room = std::min(room, options.n_predict - gen.stats().n_generated);
      drafts = drafter->propose(*tok, static_cast<int>(std::min<int64_t>(room, kMaxBatch - 1)));
    }
    step.clear();
    step.add(*tok, static_cast<int32_t>(pos), 0, true);
    for (size_t i = 0; i < drafts.size(); ++i) step.add(drafts[i], static_cast<int32_t>(pos + 1 + i), 0, true);
    logits.resize(static_cast<size_t>(step.size() * n_vocab));
    if (auto st = forward(model, step, cache, ctx, logits.data()); !st) return st.error();
    size_t accepted = 0;
    const Token ran = *tok;
    tok = gen.next_after_drafts(logits, drafts, cb, accepted);
    // The cache keeps the token run and the drafts taken; the rest are undone.
    cache.set_length(0, pos + 1 + static_cast<int64_t>(accepted));
    if (drafter) drafter->advance(ran, std::span(drafts).first(accepted));
    gen.stats().n_drafted += static_cast<int64_t>(drafts.size());
    gen.stats().n_accepted += static_cast<int64_t>(accepted);
  }
  GenerateStats stats = gen.stats();
  stats.prompt_seconds = prompt_seconds;
  stats.gen_seconds = seconds_since(t0);
  return stats;
}

}  // namespace mx
