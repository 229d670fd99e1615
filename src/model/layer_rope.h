// The rope parameters of one layer, from the model's config and frequency factors: what
// the reference hands its rope kernel for that layer.
#pragma once

#include <cstdint>

#include "kernels/ops.h"
#include "model/model.h"

namespace mx {

// n_ctx is the context a sequence may fill: Phi-3's long-rope factors apply when it
// exceeds the trained context, its short ones otherwise (as llama.cpp chooses per context).
ops::RopeParams layer_rope(const Model& model, int64_t layer, int64_t n_ctx);

}  // namespace mx
