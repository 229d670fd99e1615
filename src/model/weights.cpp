#include "model/weights.h"

#include <set>

#include <fmt/format.h>

namespace mx {
namespace {

std::string dims_str(const std::vector<int64_t>& d) { return fmt::format("[{}]", fmt::join(d, ", ")); }

class Binder {
 public:
  Binder(const gguf::File& f, const KernelTable& kt) : f_(f), kt_(kt) {}

  Expected<WeightView> matrix(TensorKind kind, int layer, int64_t cols, int64_t rows) {
    const std::string name = tensor_name(kind, layer);
    const auto* t = f_.find_tensor(name);
    if (!t) return make_error("{}: missing tensor '{}'", f_.name(), name);
    used_.insert(name);
    if (t->dims.size() != 2 || t->dims[0] != cols || t->dims[1] != rows)
      return make_error("{}: tensor '{}' has shape {}, expected [{}, {}]", f_.name(), name,
                        dims_str(t->dims), cols, rows);
    if (!kt_.supports(t->type))
      return make_error("{}: tensor '{}' has type {}, which is not supported yet",
                        f_.name(), name, type_name(t->type));
    return WeightView{t->type, cols, rows, t->data};
  }

  // A 3-D tensor of n_expert matrices [rows × cols], viewed as one matrix of n_expert·rows rows.
  Expected<WeightView> experts(TensorKind kind, int layer, int64_t cols, int64_t rows, int64_t n_expert) {
    const std::string name = tensor_name(kind, layer);
    const auto* t = f_.find_tensor(name);
    if (!t) return make_error("{}: missing tensor '{}'", f_.name(), name);
    used_.insert(name);
    if (t->dims.size() != 3 || t->dims[0] != cols || t->dims[1] != rows || t->dims[2] != n_expert)
      return make_error("{}: tensor '{}' has shape {}, expected [{}, {}, {}] ({} experts)", f_.name(), name,
                        dims_str(t->dims), cols, rows, n_expert, n_expert);
    if (!kt_.supports(t->type))
      return make_error("{}: tensor '{}' has type {}, which is not supported yet",
                        f_.name(), name, type_name(t->type));
    return WeightView{t->type, cols, rows * n_expert, t->data};
  }

  // A 1-D F32 vector (norm weights, biases); optional ones return nullptr when absent.
  Expected<const float*> vector(TensorKind kind, int layer, int64_t n, bool required) {
    const std::string name = tensor_name(kind, layer);
    const auto* t = f_.find_tensor(name);
    if (!t) {
      if (!required) return static_cast<const float*>(nullptr);
      return make_error("{}: missing tensor '{}'", f_.name(), name);
    }
    used_.insert(name);
    if (t->dims.size() != 1 || t->dims[0] != n || t->type != GgmlType::kF32)
      return make_error("{}: tensor '{}' is {} {}, expected F32 [{}]", f_.name(), name,
                        type_name(t->type), dims_str(t->dims), n);
    return reinterpret_cast<const float*>(t->data);
  }

  // A 2-D F32 tensor [n, count] (one bias vector of n per expert).
  Expected<const float*> vectors(TensorKind kind, int layer, int64_t n, int64_t count) {
    const std::string name = tensor_name(kind, layer);
    const auto* t = f_.find_tensor(name);
    if (!t) return make_error("{}: missing tensor '{}'", f_.name(), name);
    used_.insert(name);
    if (t->dims.size() != 2 || t->dims[0] != n || t->dims[1] != count || t->type != GgmlType::kF32)
      return make_error("{}: tensor '{}' is {} {}, expected F32 [{}, {}]", f_.name(), name,
                        type_name(t->type), dims_str(t->dims), n, count);
    return reinterpret_cast<const float*>(t->data);
  }

  // A tensor the forward pass would not read could change the model's math (a bias, a
  // scale, a norm moxing does not know): such a file is refused, as the reference does.
  Status check_all_used(const ModelConfig& c) const {
    for (const auto& t : f_.tensors())
      if (!used_.contains(t.name))
        return make_error("{}: tensor '{}' is not part of moxing's '{}' model; the file is refused "
                          "rather than run without it", f_.name(), t.name, c.arch.name);
    return {};
  }

 private:
  const gguf::File& f_;
  const KernelTable& kt_;
  std::set<std::string> used_;
};

}  // namespace

Expected<ModelWeights> ModelWeights::bind(const gguf::File& f, const ModelConfig& c,
                                          const KernelTable& kt) {
  Binder b(f, kt);
  ModelWeights w;
  MX_TRY_ASSIGN(w.token_embd, b.matrix(TensorKind::kTokenEmbd, -1, c.n_embd, c.n_vocab));
  MX_TRY_ASSIGN(w.output_norm, b.vector(TensorKind::kOutputNorm, -1, c.n_embd, true));
  w.tied_output = f.find_tensor(tensor_name(TensorKind::kOutput)) == nullptr;
  if (w.tied_output && c.arch.output_required)
    return make_error("{}: missing tensor '{}' ('{}' models have their own output matrix)", f.name(),
                      tensor_name(TensorKind::kOutput), c.arch.name);
  if (w.tied_output) {
    w.output = w.token_embd;
  } else {
    MX_TRY_ASSIGN(w.output, b.matrix(TensorKind::kOutput, -1, c.n_embd, c.n_vocab));
  }
  const int64_t n_pairs = c.n_rot / 2;
  MX_TRY_ASSIGN(w.rope_freqs, b.vector(TensorKind::kRopeFreqs, -1, n_pairs, false));
  MX_TRY_ASSIGN(w.rope_factors_long, b.vector(TensorKind::kRopeFactorsLong, -1, n_pairs, false));
  MX_TRY_ASSIGN(w.rope_factors_short, b.vector(TensorKind::kRopeFactorsShort, -1, n_pairs, false));
  if (w.rope_freqs && !c.arch.rope_freqs)
    return make_error("{}: '{}' models have no rope frequency factors, but the file carries '{}'", f.name(),
                      c.arch.name, tensor_name(TensorKind::kRopeFreqs));
  if ((w.rope_factors_long || w.rope_factors_short) && !c.arch.longrope_factors)
    return make_error("{}: '{}' models have no long-rope factors, but the file carries them", f.name(),
                      c.arch.name);
  const bool bias = c.arch.qkv_bias, qk_norm = c.arch.qk_norm;
  for (int i = 0; i < c.n_layer; ++i) {
    LayerWeights l;
    MX_TRY_ASSIGN(l.attn_norm, b.vector(TensorKind::kAttnNorm, i, c.n_embd, true));
    if (c.arch.fused_qkv) {
      WeightView qkv;
      MX_TRY_ASSIGN(qkv, b.matrix(TensorKind::kAttnQkv, i, c.n_embd,
                                  c.q_width() + c.k_width() + c.v_width()));
      l.wq = qkv.row_range(0, c.q_width());
      l.wk = qkv.row_range(c.q_width(), c.k_width());
      l.wv = qkv.row_range(c.q_width() + c.k_width(), c.v_width());
    } else {
      MX_TRY_ASSIGN(l.wq, b.matrix(TensorKind::kAttnQ, i, c.n_embd, c.q_width()));
      MX_TRY_ASSIGN(l.wk, b.matrix(TensorKind::kAttnK, i, c.n_embd, c.k_width()));
      MX_TRY_ASSIGN(l.wv, b.matrix(TensorKind::kAttnV, i, c.n_embd, c.v_width()));
    }
    MX_TRY_ASSIGN(l.wo, b.matrix(TensorKind::kAttnOut, i, c.n_head * c.head_dim_v, c.n_embd));
    // Biases are optional for every architecture, as the reference reads them; required
    // where the architecture always has them.
    MX_TRY_ASSIGN(l.bq, b.vector(TensorKind::kAttnQBias, i, c.q_width(), bias));
    MX_TRY_ASSIGN(l.bk, b.vector(TensorKind::kAttnKBias, i, c.k_width(), bias));
    MX_TRY_ASSIGN(l.bv, b.vector(TensorKind::kAttnVBias, i, c.v_width(), bias));
    MX_TRY_ASSIGN(l.bo, b.vector(TensorKind::kAttnOutBias, i, c.n_embd, false));
    MX_TRY_ASSIGN(l.q_norm, b.vector(TensorKind::kAttnQNorm, i, c.head_dim_k, qk_norm));
    MX_TRY_ASSIGN(l.k_norm, b.vector(TensorKind::kAttnKNorm, i, c.head_dim_k, qk_norm));
    if (c.arch.ffn_norm_is_post_attention) {
      MX_TRY_ASSIGN(l.ffn_norm, b.vector(TensorKind::kAttnPostNorm, i, c.n_embd, true));
    } else {
      MX_TRY_ASSIGN(l.ffn_norm, b.vector(TensorKind::kFfnNorm, i, c.n_embd, true));
      MX_TRY_ASSIGN(l.attn_post_norm, b.vector(TensorKind::kAttnPostNorm, i, c.n_embd, c.arch.post_norms));
    }
    if (c.arch.attn_sinks) MX_TRY_ASSIGN(l.attn_sinks, b.vector(TensorKind::kAttnSinks, i, c.n_head, true));
    MX_TRY_ASSIGN(l.ffn_post_norm, b.vector(TensorKind::kFfnPostNorm, i, c.n_embd, c.arch.post_norms));
    if (c.is_moe()) {
      MX_TRY_ASSIGN(l.router, b.matrix(TensorKind::kFfnGateInp, i, c.n_embd, c.n_expert));
      MX_TRY_ASSIGN(l.w_gate_exps, b.experts(TensorKind::kFfnGateExps, i, c.n_embd, c.n_ff_exp, c.n_expert));
      MX_TRY_ASSIGN(l.w_up_exps, b.experts(TensorKind::kFfnUpExps, i, c.n_embd, c.n_ff_exp, c.n_expert));
      MX_TRY_ASSIGN(l.w_down_exps, b.experts(TensorKind::kFfnDownExps, i, c.n_ff_exp, c.n_embd, c.n_expert));
      if (c.arch.expert_biases) {
        MX_TRY_ASSIGN(l.router_bias, b.vector(TensorKind::kFfnGateInpBias, i, c.n_expert, true));
        MX_TRY_ASSIGN(l.gate_exps_bias, b.vectors(TensorKind::kFfnGateExpsBias, i, c.n_ff_exp, c.n_expert));
        MX_TRY_ASSIGN(l.up_exps_bias, b.vectors(TensorKind::kFfnUpExpsBias, i, c.n_ff_exp, c.n_expert));
        MX_TRY_ASSIGN(l.down_exps_bias, b.vectors(TensorKind::kFfnDownExpsBias, i, c.n_embd, c.n_expert));
      }
      if (c.n_ff_shexp > 0) {
        const float* gate;
        MX_TRY_ASSIGN(gate, b.vector(TensorKind::kFfnGateInpShexp, i, c.n_embd, true));
        l.shexp_gate = WeightView{GgmlType::kF32, c.n_embd, 1, reinterpret_cast<const uint8_t*>(gate)};
        MX_TRY_ASSIGN(l.w_gate_shexp, b.matrix(TensorKind::kFfnGateShexp, i, c.n_embd, c.n_ff_shexp));
        MX_TRY_ASSIGN(l.w_up_shexp, b.matrix(TensorKind::kFfnUpShexp, i, c.n_embd, c.n_ff_shexp));
        MX_TRY_ASSIGN(l.w_down_shexp, b.matrix(TensorKind::kFfnDownShexp, i, c.n_ff_shexp, c.n_embd));
      }
    } else if (c.arch.fused_gate_up) {
      WeightView gate_up;
      MX_TRY_ASSIGN(gate_up, b.matrix(TensorKind::kFfnUp, i, c.n_embd, 2 * c.n_ff));
      l.w_gate = gate_up.row_range(0, c.n_ff);
      l.w_up = gate_up.row_range(c.n_ff, c.n_ff);
    } else {
      MX_TRY_ASSIGN(l.w_gate, b.matrix(TensorKind::kFfnGate, i, c.n_embd, c.n_ff));
      MX_TRY_ASSIGN(l.w_up, b.matrix(TensorKind::kFfnUp, i, c.n_embd, c.n_ff));
    }
    if (!c.is_moe()) MX_TRY_ASSIGN(l.w_down, b.matrix(TensorKind::kFfnDown, i, c.n_ff, c.n_embd));
    w.layers.push_back(l);
  }
  if (auto st = b.check_all_used(c); !st) return st.error();
  return w;
}

}  // namespace mx
