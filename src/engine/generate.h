// One prompt in, a stream of sampled tokens out: prefill in batches, then decode steps.
// The CLI's `run` uses this directly; the server's scheduler will drive the same forward.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

#include "core/expected.h"
#include "model/exec_context.h"
#include "model/forward.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "sampling/chain.h"

namespace mx {

enum class FinishReason { kEndOfText, kLength, kContextFull, kStopped };
std::string_view finish_reason_name(FinishReason reason);

struct GenerateOptions {
  int64_t n_predict = 128;  // < 0: until the context is full
  SamplingParams sampling;
};

struct GenerateStats {
  int64_t n_prompt = 0;
  int64_t n_generated = 0;
  double prompt_seconds = 0;
  double gen_seconds = 0;
  FinishReason finish = FinishReason::kLength;
};

struct GenerateCallbacks {
  std::function<bool(Token)> is_end;    // end-of-generation tokens (EOS, EOT)
  std::function<bool(Token)> on_token;  // returns false to stop early
};

// Sequence 0 of the cache continues: `prompt` is appended to what it holds (empty for a
// fresh start; the earlier turns of a chat). A prompt that does not fit the context leaves
// no room to generate and is an error, not a silent truncation. Generated tokens that were
// run through the model are in the cache afterwards (all but one that ended generation).
Expected<GenerateStats> generate(const Model& model, ExecContext& ctx, KvCache& cache,
                                 std::span<const Token> prompt, const GenerateOptions& options,
                                 const GenerateCallbacks& callbacks);

// Runs tokens through the model in batches of kMaxBatch; logits of the last one into `last_logits`.
Status prefill(const Model& model, ExecContext& ctx, KvCache& cache, int32_t seq,
               std::span<const Token> tokens, std::span<float> last_logits);

}  // namespace mx
