#include "model/exec_context.h"

namespace mx {

ForwardScratch::ForwardScratch(const ModelConfig& c, int64_t mb, int64_t n_ctx, int n_threads)
    : max_batch(mb),
      x(mb * c.n_embd), h(mb * c.n_embd), q(mb * c.q_width()), k(mb * c.k_width()),
      v(mb * c.v_width()), attn(mb * c.n_head * c.head_dim_v), proj(mb * c.n_embd),
      gate(mb * c.n_ff), up(mb * c.n_ff),
      scores(static_cast<size_t>(n_threads) *
             attention_scratch_floats(c.n_head / std::max<int64_t>(c.n_head_kv, 1), n_ctx)) {}

ExecContext::ExecContext(int n_threads, KernelTable kernels)
    : pool_(n_threads), kernels_(std::move(kernels)) {}

ForwardScratch& ExecContext::scratch_for(const ModelConfig& config, int64_t max_batch,
                                         int64_t n_ctx) {
  const std::array<int64_t, 6> shape = {config.n_embd, config.n_ff, config.q_width(),
                                         config.k_width(), config.v_width(), config.head_dim_v};
  if (!scratch_ || scratch_->max_batch < max_batch || scratch_ctx_ < n_ctx ||
      scratch_shape_ != shape) {
    scratch_ = std::make_unique<ForwardScratch>(config, max_batch, n_ctx, pool_.size());
    scratch_ctx_ = n_ctx;
    scratch_shape_ = shape;
  }
  return *scratch_;
}

}  // namespace mx
