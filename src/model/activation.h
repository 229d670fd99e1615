// The feed-forward block's gated activation, act(gate) · up, for an architecture.
#pragma once

#include <cstdint>

#include "model/arch.h"
#include "model/exec_context.h"

namespace mx {

// gate[i] = act(gate[i]) · up[i] for n values, spread over the pool.
void gated_activation(Activation act, ExecContext& ctx, float* gate, const float* up, int64_t n);

}  // namespace mx
