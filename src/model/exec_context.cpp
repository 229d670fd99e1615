#include "model/exec_context.h"

#include <algorithm>

namespace mx {

ForwardScratch::ForwardScratch(const ModelConfig& c, int64_t mb, int64_t n_ctx, int n_threads)
    : max_batch(mb),
      x(mb * c.n_embd), h(mb * c.n_embd), q(mb * c.q_width()), k(mb * c.k_width()),
      v(mb * c.v_width()), attn(mb * c.n_head * c.head_dim_v), proj(mb * c.n_embd),
      gate(mb * c.ffn_width()), up(mb * c.ffn_width()),
      scores(static_cast<size_t>(n_threads) *
             attention_scratch_floats(c.n_head / std::max<int64_t>(c.n_head_kv, 1), n_ctx, c.head_dim_k, c.head_dim_v)) {
  if (!c.is_moe()) return;
  const int64_t slots = mb * c.n_expert_used;
  experts.router.resize(mb * c.n_expert);
  experts.slot.resize(slots);
  experts.weight.resize(slots);
  experts.first.resize(c.n_expert + 1);
  experts.cursor.resize(c.n_expert);
  experts.x.resize(slots * c.n_embd);
  experts.y.resize(slots * c.n_embd);
  experts.views.reserve(3 * c.n_expert);
  experts.targets.reserve(2 * c.n_expert);
}

ExecContext::ExecContext(int n_threads, KernelTable kernels)
    : pool_(n_threads), kernels_(std::move(kernels)) {}

ForwardScratch& ExecContext::scratch_for(const ModelConfig& config, int64_t max_batch,
                                         int64_t n_ctx) {
  const std::array<int64_t, 8> shape = {config.n_embd,    config.ffn_width(), config.q_width(),
                                         config.k_width(),  config.v_width(),   config.head_dim_v,
                                         config.n_expert,   config.n_expert_used};
  auto it = std::find_if(scratches_.begin(), scratches_.end(),
                         [&](const SizedScratch& s) { return s.shape == shape; });
  if (it == scratches_.end()) it = scratches_.insert(scratches_.end(), SizedScratch{.shape = shape, .n_ctx = 0, .scratch = nullptr});
  if (!it->scratch || it->scratch->max_batch < max_batch || it->n_ctx < n_ctx) {
    it->scratch = std::make_unique<ForwardScratch>(config, max_batch, n_ctx, pool_.size());
    it->n_ctx = n_ctx;
  }
  return *it->scratch;
}

}  // namespace mx
