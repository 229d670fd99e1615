// One prompt in, a stream of sampled tokens out: prefill in batches, then decode steps.
// The CLI's `run` uses this directly; the server's scheduler will drive the same forward.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/expected.h"
#include "engine/drafter.h"
#include "engine/loop_guard.h"
#include "model/exec_context.h"
#include "model/forward.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "sampling/chain.h"
#include "sampling/logprobs.h"

namespace mx {

// kError: running the model failed (GenerateStats::error says how); kOutOfMemory: memory
// ran out while running it (worth trying again later).
enum class FinishReason { kEndOfText, kLength, kContextFull, kStopped, kRepetition, kError, kOutOfMemory };
std::string_view finish_reason_name(FinishReason reason);

struct GenerateOptions {
  int64_t n_predict = 128;  // < 0: until the context is full
  SamplingParams sampling;
  LoopGuardParams loop_guard;
  // What the loop guard's `penalize` switches on (unless the sampling already sets more).
  PenaltyParams loop_penalties{.last_n = 256, .repeat = 1.1f, .frequency = 0.0f, .presence = 0.0f};
  DryParams loop_dry{.multiplier = 0.8f, .base = 1.75f, .allowed_length = 2, .last_n = -1};
  // > 0: on_logprobs receives each generated token's log-probability and the top N.
  int top_logprobs = 0;
  bool logprobs = false;  // the chosen token's log-probability alone (top_logprobs = 0)
  // Scores the prompt: on_prompt_logprobs receives the log-probability (and the top
  // top_logprobs) of every prompt token after the first, given the ones before it. The
  // whole prompt is then computed (no prefix-cache reuse). Continuous batching only.
  bool prompt_logprobs = false;
};

struct GenerateStats {
  int64_t n_prompt = 0;
  int64_t n_cached = 0;     // prompt tokens restored from a prefix cache, not computed
  int64_t n_generated = 0;
  double prompt_seconds = 0;
  double gen_seconds = 0;
  FinishReason finish = FinishReason::kLength;
  std::string error;                 // kError, kOutOfMemory: what failed
  std::optional<DetectedLoop> loop;  // the first loop the guard saw, if any
  int64_t loop_at = -1;              // generated tokens when it was seen
  bool penalized = false;            // the loop guard switched the penalties on
  int64_t n_drafted = 0;             // speculative decoding: tokens proposed,
  int64_t n_accepted = 0;            // and of them, taken
};

struct GenerateCallbacks {
  std::function<bool(Token)> is_end;    // end-of-generation tokens (EOS, EOT)
  std::function<bool(Token)> on_token;  // returns false to stop early
  std::function<void(const StepLogprobs&)> on_logprobs;  // before on_token, if asked for
  std::function<void(const StepLogprobs&)> on_prompt_logprobs;  // prompt tokens 1.., in order
};

// Sequence 0 of the cache continues: `prompt` is appended to what it holds (empty for a
// fresh start; the earlier turns of a chat). A prompt that does not fit the context leaves
// no room to generate and is an error, not a silent truncation. Generated tokens that were
// run through the model are in the cache afterwards (all but one that ended generation).
// With a drafter, each step runs the next token and the drafter's guesses in one batch
// (speculative decoding); the tokens generated are the same, and so is the cache after.
Expected<GenerateStats> generate(const Model& model, ExecContext& ctx, KvCache& cache,
                                 std::span<const Token> prompt, const GenerateOptions& options,
                                 const GenerateCallbacks& callbacks, Drafter* drafter = nullptr);

// Runs tokens through the model in batches of kMaxBatch; logits of the last one into `last_logits`.
Status prefill(const Model& model, ExecContext& ctx, KvCache& cache, int32_t seq,
               std::span<const Token> tokens, std::span<float> last_logits);

}  // namespace mx
