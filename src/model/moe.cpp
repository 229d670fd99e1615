#include "model/moe.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <span>

#include "kernels/ops.h"
#include "model/activation.h"
#include "model/project.h"

namespace mx {
namespace {

// llama.cpp clamps the sum of the chosen probabilities before dividing by it.
constexpr float kMinWeightSum = 6.103515625e-5f;

// Chooses each token's experts from its router logits, gives every (token, expert) choice
// a slot (slots ordered by expert, then token) and copies the token's row to its slots.
void route(const ModelConfig& c, const float* h, int64_t n_tok, ExpertScratch& e) {
  const int64_t n_exp = c.n_expert, k = c.n_expert_used;
  const bool softmax_first = c.arch.gating == ExpertGating::kSoftmax;
  std::fill(e.first.begin(), e.first.end(), 0);
  for (int64_t t = 0; t < n_tok; ++t) {
    float* p = &e.router[t * n_exp];
    if (softmax_first) ops::softmax(p, n_exp);
    int32_t* chosen = &e.slot[t * k];  // expert ids until the slots are known
    float* weight = &e.weight[t * k];
    for (int64_t j = 0; j < k; ++j) {  // k best, the lower id on ties
      const int64_t best = std::max_element(p, p + n_exp) - p;
      chosen[j] = static_cast<int32_t>(best);
      weight[j] = p[best];
      p[best] = -INFINITY;
    }
    if (!softmax_first) ops::softmax(weight, k);  // over the chosen experts' logits
    float sum = 0.0f;
    for (int64_t j = 0; j < k; ++j) sum += weight[j];
    sum = c.arch.expert_weights_norm ? std::max(sum, kMinWeightSum) : 1.0f;
    for (int64_t j = 0; j < k; ++j) {
      weight[j] /= sum;
      ++e.first[chosen[j] + 1];
    }
  }
  for (int64_t x = 0; x < n_exp; ++x) e.first[x + 1] += e.first[x];
  // Slots of each expert in token order.
  std::copy(e.first.begin(), e.first.end() - 1, e.cursor.begin());
  for (int64_t t = 0; t < n_tok; ++t)
    for (int64_t j = 0; j < k; ++j) {
      int32_t& s = e.slot[t * k + j];
      s = e.cursor[s]++;
      std::memcpy(&e.x[s * c.n_embd], &h[t * c.n_embd], c.n_embd * sizeof(float));
    }
}

// out rows (one per slot, rows_per_expert wide) = each slot's expert's matrix from the
// stacked tensors times the slot's input row. Matrices whose activation type agrees share
// one conversion; every expert with slots is one target of a single dispatch.
void expert_products(ExecContext& ctx, ForwardScratch& s, std::initializer_list<std::pair<const WeightView*, float*>> mats,
                     int64_t rows_per_expert, const float* in, int64_t n_slots) {
  const auto& kt = ctx.kernels();
  ExpertScratch& e = s.experts;
  const int64_t n_exp = static_cast<int64_t>(e.first.size()) - 1;
  const int64_t cols = mats.begin()->first->cols;
  MX_CHECK(mats.size() <= 2);
  bool done[2] = {false, false};
  for (size_t lead = 0; lead < mats.size(); ++lead) {
    if (done[lead]) continue;
    const GgmlType xq_type = kt[mats.begin()[lead].first->type].vec_dot_type;
    s.xq.convert(kt, ctx.pool(), xq_type, in, n_slots, cols);
    e.views.clear();
    e.targets.clear();
    for (size_t m = lead; m < mats.size(); ++m) {
      const auto [stacked, out] = mats.begin()[m];
      if (done[m] || kt[stacked->type].vec_dot_type != xq_type) continue;
      done[m] = true;
      for (int64_t x = 0; x < n_exp; ++x) {
        const int64_t first = e.first[x], count = e.first[x + 1] - first;
        if (count == 0) continue;
        e.views.push_back(stacked->row_range(x * rows_per_expert, rows_per_expert));  // capacity reserved
        e.targets.push_back({&e.views.back(), out + first * rows_per_expert,
                             static_cast<size_t>(rows_per_expert), first, count});
      }
    }
    matmul(kt, ctx.pool(), std::span<const MatmulTarget>(e.targets), s.xq);
  }
}

// rows[slot] += bias of the slot's expert (expert x's `width` values at bias + x·width).
void add_expert_bias(const ExpertScratch& e, const float* bias, float* rows, int64_t width) {
  if (!bias) return;
  const int64_t n_exp = static_cast<int64_t>(e.first.size()) - 1;
  for (int64_t x = 0; x < n_exp; ++x)
    for (int64_t slot = e.first[x]; slot < e.first[x + 1]; ++slot)
      ops::add_inplace(rows + slot * width, bias + x * width, width);
}

// The shared expert every token runs (qwen2moe): its FFN output times sigmoid(g), g the
// token's dot with the shared gate, added to the routed experts' sum. The slot buffers are
// free again by now and hold its activations.
void add_shared_expert(const ModelConfig& c, const LayerWeights& w, int64_t n_tok, ExecContext& ctx,
                       ForwardScratch& s) {
  ExpertScratch& e = s.experts;
  float* gate_logit = e.router.data();  // [n_tok], the router's logits are used up
  project(ctx, s, w.shexp_gate, s.h.data(), n_tok, gate_logit);
  project_together(ctx, s, {{&w.w_gate_shexp, s.gate.data()}, {&w.w_up_shexp, s.up.data()}}, s.h.data(), n_tok);
  gated_activation(Activation::kSilu, ctx, s.gate.data(), s.up.data(), n_tok * c.n_ff_shexp);
  project(ctx, s, w.w_down_shexp, s.gate.data(), n_tok, e.y.data());
  for (int64_t t = 0; t < n_tok; ++t) {
    // silu(g) / g as the reference computes the gate (it is sigmoid(g)); its limit at 0,
    // where the reference would divide 0 by 0.
    const float g = gate_logit[t];
    const float gate = g == 0.0f ? 0.5f : g / (1.0f + std::exp(-g)) / g;
    const float* y = &e.y[t * c.n_embd];
    float* out = &s.proj[t * c.n_embd];
    for (int64_t i = 0; i < c.n_embd; ++i) out[i] += y[i] * gate;
  }
}

}  // namespace

void moe_ffn(const ModelConfig& c, const LayerWeights& w, int64_t n_tok, ExecContext& ctx,
             ForwardScratch& s) {
  ExpertScratch& e = s.experts;
  const int64_t k = c.n_expert_used, n_slots = n_tok * k;
  {  // router logits: a small F32 product
    const auto& kt = ctx.kernels();
    s.xq.convert(kt, ctx.pool(), kt[w.router.type].vec_dot_type, s.h.data(), n_tok, c.n_embd);
    matmul(kt, ctx.pool(), w.router, s.xq, e.router.data(), static_cast<size_t>(c.n_expert));
    if (w.router_bias)
      for (int64_t t = 0; t < n_tok; ++t) ops::add_inplace(&e.router[t * c.n_expert], w.router_bias, c.n_expert);
  }
  route(c, s.h.data(), n_tok, e);

  expert_products(ctx, s, {{&w.w_gate_exps, s.gate.data()}, {&w.w_up_exps, s.up.data()}}, c.n_ff_exp,
                  e.x.data(), n_slots);
  add_expert_bias(e, w.gate_exps_bias, s.gate.data(), c.n_ff_exp);
  add_expert_bias(e, w.up_exps_bias, s.up.data(), c.n_ff_exp);
  gated_activation(c.arch.activation, ctx, s.gate.data(), s.up.data(), n_slots * c.n_ff_exp);
  expert_products(ctx, s, {{&w.w_down_exps, e.y.data()}}, c.n_embd, s.gate.data(), n_slots);
  add_expert_bias(e, w.down_exps_bias, e.y.data(), c.n_embd);

  // Each token's output: its experts' outputs times their weights, summed best first.
  for (int64_t t = 0; t < n_tok; ++t) {
    float* out = &s.proj[t * c.n_embd];
    for (int64_t j = 0; j < k; ++j) {
      const float* y = &e.y[e.slot[t * k + j] * c.n_embd];
      const float wj = e.weight[t * k + j];
      if (j == 0)
        for (int64_t i = 0; i < c.n_embd; ++i) out[i] = wj * y[i];
      else
        for (int64_t i = 0; i < c.n_embd; ++i) out[i] += wj * y[i];
    }
  }
  if (c.n_ff_shexp > 0) add_shared_expert(c, w, n_tok, ctx, s);
}

}  // namespace mx
