// The forward pass of a decoder-only transformer, driven by the architecture's switches.
#pragma once

#include "core/expected.h"
#include "model/batch.h"
#include "model/exec_context.h"
#include "model/kv_cache.h"
#include "model/model.h"

namespace mx {

// Runs the batch through the model, writing its keys and values into the cache, and
// writes the logits of each row with want_logits set, in batch order, to `logits`
// ([n_wanted × n_vocab]). Rows of one sequence must have consecutive, increasing
// positions continuing the sequence's cached length. Errors name the offending row.
Status forward(const Model& model, const Batch& batch, KvCache& cache, ExecContext& ctx,
               float* logits);

// Like forward(), but writes each wanted row's final hidden state (after the output norm,
// before the output projection; [n_wanted × n_embd]) instead of logits: what embeddings pool.
Status forward_hidden(const Model& model, const Batch& batch, KvCache& cache, ExecContext& ctx,
                      float* hidden);

// How many rows forward() accepts at once; longer prompts go in several batches.
constexpr int64_t kMaxBatch = 512;

}  // namespace mx
