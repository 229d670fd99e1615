#include "model/activation.h"

#include "kernels/ops.h"

namespace mx {

void gated_activation(Activation act, ExecContext& ctx, float* gate, const float* up, int64_t n) {
  const auto& kt = ctx.kernels();
  // Chunks of 8 K elements: one token's few thousand stay on one thread.
  ctx.pool().parallel_for(n, 8192, [&](int64_t b, int64_t e) {
    switch (act) {
      case Activation::kSilu: kt.silu_mul(gate + b, up + b, gate + b, e - b); break;
      case Activation::kGelu: ops::gelu_mul(gate + b, up + b, gate + b, e - b); break;
      case Activation::kSwigluOai: ops::swiglu_oai_mul(gate + b, up + b, gate + b, e - b); break;
    }
  });
}

}  // namespace mx
