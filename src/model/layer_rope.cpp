#include "model/layer_rope.h"

namespace mx {

ops::RopeParams layer_rope(const Model& model, int64_t layer, int64_t n_ctx) {
  const ModelConfig& c = model.config;
  const ModelWeights& w = model.weights;
  ops::RopeParams p;
  p.freq_base = c.rope_base(layer);
  p.freq_scale = c.rope_scale(layer);
  p.freq_factors = w.rope_freqs ? w.rope_freqs : n_ctx > c.n_ctx_orig ? w.rope_factors_long : w.rope_factors_short;
  p.ext_factor = c.yarn_ext_factor;
  p.attn_factor = c.rope_attn_factor;
  ops::yarn_corr_dims(c.n_rot, c.n_ctx_orig, p.freq_base, c.yarn_beta_fast, c.yarn_beta_slow, &p.corr_low,
                      &p.corr_high);
  return p;
}

}  // namespace mx
