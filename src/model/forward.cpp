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

// Causal attention of every (row, head) over its sequence's cached keys, in the cache's
// stored types. Items are dealt round-robin to threads so long and short rows balance;
// when there are fewer (row, kv head) tasks than 4 per thread (decoding one or two
// sequences), long runs are split into parts of at least kMinPartKeys keys, computed
// apart and merged (merge_attention_parts), so decoding at depth uses every thread.
void attention(const ModelConfig& c, const Batch& batch, const KvCache& cache, int64_t layer,
               const float* sinks, ExecContext& ctx, ForwardScratch& s) {
  constexpr int64_t kMinPartKeys = 256, kMaxParts = 64;
  // One task per (row, kv head): the query heads sharing that kv head read its keys once.
  const int64_t group = c.n_head / c.n_head_kv;
  const int64_t n_tasks = batch.size() * c.n_head_kv;
  const int64_t out_width = c.n_head * c.head_dim_v;
  const int64_t scratch_floats = attention_scratch_floats(group, cache.n_ctx(), c.head_dim_k, c.head_dim_v);
  const bool swa = c.is_swa_layer(layer);
  const int nth = ctx.n_threads();
  const int64_t wanted_items = 4 * static_cast<int64_t>(nth);
  const int64_t part_floats = group * (c.head_dim_v + 2);  // a part's output, then its (max, sum) pairs

  std::vector<AttentionItem>& items = s.attention_items;
  items.clear();
  int64_t n_parts = 0;
  for (int64_t task = 0; task < n_tasks; ++task) {
    const int64_t row = task / c.n_head_kv;
    // A local layer sees the last n_swa positions: p - n_swa < j <= p.
    const int64_t last = batch.positions[row];
    const int64_t first = swa ? std::max<int64_t>(0, last - c.n_swa + 1) : 0;
    const int64_t n_keys = last + 1 - first;
    const int64_t split =
        n_tasks >= wanted_items
            ? 1
            : std::min({(wanted_items + n_tasks - 1) / n_tasks, n_keys / kMinPartKeys, kMaxParts});
    if (split <= 1) {
      items.push_back({task, first, n_keys, -1});
      continue;
    }
    for (int64_t i = 0; i < split; ++i) {
      const int64_t begin = n_keys * i / split, end = n_keys * (i + 1) / split;
      items.push_back({task, first + begin, end - begin, n_parts++});
    }
  }
  if (static_cast<int64_t>(s.parts.size()) < n_parts * part_floats)
    s.parts.resize(static_cast<size_t>(n_parts * part_floats));

  const AttendFn attend = ctx.kernels().attend;
  const KvCacheTypes& types = cache.types();
  const auto key_to_float = ctx.kernels()[types.k].to_float, value_to_float = ctx.kernels()[types.v].to_float;
  const int64_t k_head_bytes = static_cast<int64_t>(row_size(types.k, c.head_dim_k));
  const int64_t v_head_bytes = static_cast<int64_t>(row_size(types.v, c.head_dim_v));
  const float scale = c.attn_scale > 0 ? c.attn_scale : 1.0f / std::sqrt(static_cast<float>(c.head_dim_k));
  const auto n_items = static_cast<int64_t>(items.size());
  ctx.pool().run([&](int ith, int nth_run) {
    for (int64_t i = ith; i < n_items; i += nth_run) {
      const AttentionItem& item = items[static_cast<size_t>(i)];
      const int64_t row = item.task / c.n_head_kv, kv_head = item.task % c.n_head_kv;
      float* part = item.part >= 0 ? s.parts.data() + item.part * part_floats : nullptr;
      attend({.n_q = group,
              .head_dim_k = c.head_dim_k,
              .head_dim_v = c.head_dim_v,
              .q = s.q.data() + row * c.q_width() + kv_head * group * c.head_dim_k,
              .k = {.data = cache.keys(layer) + kv_head * k_head_bytes,
                    .type = types.k,
                    .stride = cache.key_stride(),
                    .page_stride = cache.key_page_stride(),
                    .to_float = key_to_float},
              .v = {.data = cache.values(layer) + kv_head * v_head_bytes,
                    .type = types.v,
                    .stride = cache.value_stride(),
                    .page_stride = cache.value_page_stride(),
                    .to_float = value_to_float},
              .pages = cache.page_table(batch.seq_ids[row]).data(),
              .page_tokens = KvCache::kPageTokens,
              .first = item.first,
              .n_keys = item.n_keys,
              .scale = scale,
              .softcap = c.attn_softcap,
              .sinks = sinks ? sinks + kv_head * group : nullptr,
              .partial = part ? part + group * c.head_dim_v : nullptr,
              .out = part ? part : s.attn.data() + row * out_width + kv_head * group * c.head_dim_v,
              .scratch = s.scores.data() + ith * scratch_floats});
    }
  });
  // The split tasks' parts are consecutive items: merge each task's.
  std::array<const float*, kMaxParts> outs{}, mls{};
  for (int64_t i = 0; i < n_items;) {
    const AttentionItem& head = items[static_cast<size_t>(i)];
    int64_t n = 1;
    while (head.part >= 0 && i + n < n_items && items[static_cast<size_t>(i + n)].task == head.task) ++n;
    if (head.part >= 0) {
      const int64_t row = head.task / c.n_head_kv, kv_head = head.task % c.n_head_kv;
      for (int64_t p = 0; p < n; ++p) {
        outs[static_cast<size_t>(p)] = s.parts.data() + (head.part + p) * part_floats;
        mls[static_cast<size_t>(p)] = outs[static_cast<size_t>(p)] + group * c.head_dim_v;
      }
      merge_attention_parts(group, c.head_dim_v, n, outs.data(), mls.data(), sinks ? sinks + kv_head * group : nullptr,
                            s.attn.data() + row * out_width + kv_head * group * c.head_dim_v);
    }
    i += n;
  }
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
    cache.write(layer, batch.seq_ids[t], batch.positions[t], k, &s.v[t * c.v_width()]);
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
