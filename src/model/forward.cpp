#include "model/forward.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <initializer_list>
#include <span>
#include <utility>

#include "kernels/ops.h"
#include "model/activation.h"
#include "model/layer_rope.h"
#include "model/moe.h"
#include "model/project.h"

namespace mx {
namespace {

Status validate(const Model& model, const Batch& batch, const KvCache& cache) {
  if (batch.size() == 0) return make_error("empty batch");
  if (batch.size() > kMaxBatch)
    return make_error("batch of {} rows exceeds the limit of {}", batch.size(), kMaxBatch);
  std::vector<int64_t> next(cache.n_seq());
  for (int32_t s = 0; s < cache.n_seq(); ++s) next[s] = cache.length(s);
  for (int64_t i = 0; i < batch.size(); ++i) {
    const int32_t s = batch.seq_ids[i];
    const Token t = batch.tokens[i];
    if (s < 0 || s >= cache.n_seq())
      return make_error("row {}: sequence {} is outside the cache's {} sequences", i, s, cache.n_seq());
    if (t < 0 || t >= model.config.n_vocab)
      return make_error("row {}: token {} is outside the vocabulary of {}", i, t, model.config.n_vocab);
    if (batch.positions[i] != next[s])
      return make_error("row {}: position {} does not continue sequence {} (expected {})", i,
                        batch.positions[i], s, next[s]);
    if (batch.positions[i] >= cache.n_ctx())
      return make_error("row {}: position {} is beyond the context size {}", i,
                        batch.positions[i], cache.n_ctx());
    ++next[s];
  }
  return {};
}

// Gemma normalises each block's output before adding it to the residual stream.
void post_norm(const ModelConfig& c, const float* weight, float* rows, int64_t n) {
  if (!weight) return;
  for (int64_t t = 0; t < n; ++t)
    ops::rms_norm(rows + t * c.n_embd, weight, rows + t * c.n_embd, c.n_embd, c.rms_eps);
}

void add_bias(float* y, const float* bias, int64_t n_rows, int64_t width) {
  if (!bias) return;
  for (int64_t t = 0; t < n_rows; ++t) ops::add_inplace(y + t * width, bias, width);
}

// Causal attention of every (row, head) over its sequence's cached keys. Rows are
// dealt round-robin to threads so long and short rows balance.
void attention(const ModelConfig& c, const Batch& batch, const KvCache& cache, int64_t layer,
               const float* sinks, ExecContext& ctx, ForwardScratch& s) {
  // One task per (row, kv head): the query heads sharing that kv head read its keys once.
  const int64_t group = c.n_head / c.n_head_kv;
  const int64_t n_tasks = batch.size() * c.n_head_kv;
  const int64_t out_width = c.n_head * c.head_dim_v;
  const int64_t scratch_floats = attention_scratch_floats(group, cache.n_ctx());
  const bool swa = c.is_swa_layer(layer);
  const AttendFn attend = ctx.kernels().attend;
  ctx.pool().run([&](int ith, int nth) {
    for (int64_t task = ith; task < n_tasks; task += nth) {
      const int64_t row = task / c.n_head_kv, kv_head = task % c.n_head_kv;
      const int32_t seq = batch.seq_ids[row];
      // A local layer sees the last n_swa positions: p - n_swa < j <= p.
      const int64_t last = batch.positions[row];
      const int64_t first = swa ? std::max<int64_t>(0, last - c.n_swa + 1) : 0;
      attend({.n_q = group,
              .head_dim_k = c.head_dim_k,
              .head_dim_v = c.head_dim_v,
              .q = s.q.data() + row * c.q_width() + kv_head * group * c.head_dim_k,
              .k = cache.keys(layer) + kv_head * c.head_dim_k,
              .v = cache.values(layer) + kv_head * c.head_dim_v,
              .k_stride = cache.key_stride(),
              .v_stride = cache.value_stride(),
              .pages = cache.page_table(seq).data(),
              .page_tokens = KvCache::kPageTokens,
              .k_page_stride = cache.key_page_stride(),
              .v_page_stride = cache.value_page_stride(),
              .first = first,
              .n_keys = last + 1 - first,
              .scale = c.attn_scale > 0 ? c.attn_scale : 1.0f / std::sqrt(static_cast<float>(c.head_dim_k)),
              .softcap = c.attn_softcap,
              .sinks = sinks ? sinks + kv_head * group : nullptr,
              .out = s.attn.data() + row * out_width + kv_head * group * c.head_dim_v,
              .scratch = s.scores.data() + ith * scratch_floats});
    }
  });
}

void attention_block(const Model& model, const Batch& batch, KvCache& cache, int64_t layer,
                     ExecContext& ctx, ForwardScratch& s) {
  const ModelConfig& c = model.config;
  const LayerWeights& w = model.weights.layers[layer];
  const int64_t n = batch.size();
  for (int64_t t = 0; t < n; ++t)
    ops::rms_norm(&s.x[t * c.n_embd], w.attn_norm, &s.h[t * c.n_embd], c.n_embd, c.rms_eps);

  project_together(ctx, s, {{&w.wq, s.q.data()}, {&w.wk, s.k.data()}, {&w.wv, s.v.data()}}, s.h.data(), n);
  add_bias(s.q.data(), w.bq, n, c.q_width());
  add_bias(s.k.data(), w.bk, n, c.k_width());
  add_bias(s.v.data(), w.bv, n, c.v_width());

  const ops::RopeParams rope = layer_rope(model, layer, cache.n_ctx());
  for (int64_t t = 0; t < n; ++t) {
    float* q = &s.q[t * c.q_width()];
    float* k = &s.k[t * c.k_width()];
    if (c.arch.qk_norm) {
      for (int64_t h = 0; h < c.n_head; ++h)
        ops::rms_norm(q + h * c.head_dim_k, w.q_norm, q + h * c.head_dim_k, c.head_dim_k, c.rms_eps);
      for (int64_t h = 0; h < c.n_head_kv; ++h)
        ops::rms_norm(k + h * c.head_dim_k, w.k_norm, k + h * c.head_dim_k, c.head_dim_k, c.rms_eps);
    }
    float cos_sin[1024];  // n_rot <= head_dim_k <= 1024 (config)
    ops::rope_angles(batch.positions[t], c.n_rot, rope, cos_sin);
    ops::rope_apply(q, c.n_head, c.head_dim_k, c.n_rot, cos_sin, c.arch.rope);
    ops::rope_apply(k, c.n_head_kv, c.head_dim_k, c.n_rot, cos_sin, c.arch.rope);
    const int32_t pos = batch.positions[t];
    std::copy(k, k + c.k_width(), cache.key(layer, batch.seq_ids[t], pos));
    std::copy(&s.v[t * c.v_width()], &s.v[(t + 1) * c.v_width()],
              cache.value(layer, batch.seq_ids[t], pos));
  }

  attention(c, batch, cache, layer, w.attn_sinks, ctx, s);
  project(ctx, s, w.wo, s.attn.data(), n, s.proj.data());
  add_bias(s.proj.data(), w.bo, n, c.n_embd);
  post_norm(c, w.attn_post_norm, s.proj.data(), n);
  ops::add_inplace(s.x.data(), s.proj.data(), n * c.n_embd);
}

void ffn_block(const Model& model, int64_t n, int64_t layer, ExecContext& ctx, ForwardScratch& s) {
  const ModelConfig& c = model.config;
  const LayerWeights& w = model.weights.layers[layer];
  for (int64_t t = 0; t < n; ++t)
    ops::rms_norm(&s.x[t * c.n_embd], w.ffn_norm, &s.h[t * c.n_embd], c.n_embd, c.rms_eps);
  if (c.is_moe()) {
    moe_ffn(c, w, n, ctx, s);
  } else {
    project_together(ctx, s, {{&w.w_gate, s.gate.data()}, {&w.w_up, s.up.data()}}, s.h.data(), n);
    gated_activation(c.arch.activation, ctx, s.gate.data(), s.up.data(), n * c.n_ff);
    project(ctx, s, w.w_down, s.gate.data(), n, s.proj.data());
  }
  post_norm(c, w.ffn_post_norm, s.proj.data(), n);
  ops::add_inplace(s.x.data(), s.proj.data(), n * c.n_embd);
}

enum class Output { kLogits, kHidden };

Status run_forward(const Model& model, const Batch& batch, KvCache& cache, ExecContext& ctx, Output what,
                   float* out) {
  if (auto st = validate(model, batch, cache); !st) return st;
  for (int64_t t = 0; t < batch.size(); ++t)
    if (auto st = cache.make_writable(batch.seq_ids[t], batch.positions[t]); !st) return st;
  const ModelConfig& c = model.config;
  const int64_t n = batch.size();
  ForwardScratch& s = ctx.scratch_for(c, kMaxBatch, cache.n_ctx());

  const WeightView& embd = model.weights.token_embd;
  const auto to_float = ctx.kernels()[embd.type].to_float;
  for (int64_t t = 0; t < n; ++t)
    to_float(embd.data + batch.tokens[t] * embd.row_bytes(), &s.x[t * c.n_embd], c.n_embd);
  if (c.arch.scale_embeddings)
    ops::scale(s.x.data(), n * c.n_embd, std::sqrt(static_cast<float>(c.n_embd)));

  for (int64_t layer = 0; layer < c.n_layer; ++layer) {
    attention_block(model, batch, cache, layer, ctx, s);
    ffn_block(model, n, layer, ctx, s);
  }
  // A sequence's rows continue it in order (validate), so its last row gives its length;
  // going backwards, the earlier rows never shorten it (which would give pages back).
  for (int64_t t = n - 1; t >= 0; --t)
    if (batch.positions[t] + 1 > cache.length(batch.seq_ids[t]))
      cache.set_length(batch.seq_ids[t], batch.positions[t] + 1);

  // Final norm and output projection only for the rows whose output is wanted.
  float* normed = what == Output::kHidden ? out : s.h.data();
  int64_t n_out = 0;
  for (int64_t t = 0; t < n; ++t) {
    if (!batch.want_logits[t]) continue;
    ops::rms_norm(&s.x[t * c.n_embd], model.weights.output_norm, &normed[n_out * c.n_embd], c.n_embd,
                  c.rms_eps);
    ++n_out;
  }
  if (n_out > 0 && what == Output::kLogits) {
    project(ctx, s, model.weights.output, s.h.data(), n_out, out);
    if (c.final_softcap > 0) ops::softcap(out, n_out * c.n_vocab, c.final_softcap);
  }
  return {};
}

}  // namespace

Status forward(const Model& model, const Batch& batch, KvCache& cache, ExecContext& ctx,
               float* logits) {
  return run_forward(model, batch, cache, ctx, Output::kLogits, logits);
}

Status forward_hidden(const Model& model, const Batch& batch, KvCache& cache, ExecContext& ctx,
                      float* hidden) {
  return run_forward(model, batch, cache, ctx, Output::kHidden, hidden);
}

}  // namespace mx
