// Text embeddings from a decoder model: the final hidden states of a text's tokens,
// pooled as the model's metadata says (mean, first or last token) and scaled to unit
// length, so cosine similarity is a dot product.
#pragma once

#include <span>
#include <vector>

#include "core/expected.h"
#include "model/forward.h"

namespace mx {

// Uses sequence 0 of `cache` (cleared first and after); the text must fit its context.
// `chunk` bounds the rows of one forward pass.
Expected<std::vector<float>> embed_tokens(const Model& model, ExecContext& ctx, KvCache& cache,
                                          std::span<const Token> tokens, Pooling pooling,
                                          int64_t chunk = kMaxBatch);

}  // namespace mx
