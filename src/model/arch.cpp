#include "model/arch.h"

#include <array>

#include <fmt/format.h>

namespace mx {
namespace {

// gpt-oss files must say how wide the experts are and how wide the local layers' window is.
constexpr Key kGptOssRequired[] = {Key::kExpertFeedForwardLength, Key::kSlidingWindow};

constexpr std::array kArchs = {
    ArchSpec{.name = "llama", .rope = ops::RopeStyle::kNorm, .sliding_window = SlidingWindow::kEveryLayer,
             .swa_rope_from_global = true, .experts_use_ff_length = true, .rope_freqs = true},
    ArchSpec{.name = "qwen2", .rope = ops::RopeStyle::kNeox, .qkv_bias = true},
    ArchSpec{.name = "qwen3", .rope = ops::RopeStyle::kNeox, .qk_norm = true},
    ArchSpec{.name = "qwen3moe", .rope = ops::RopeStyle::kNeox, .qk_norm = true,
             .experts_required = true},
    ArchSpec{.name = "qwen2moe", .rope = ops::RopeStyle::kNeox, .qkv_bias = true, .experts_required = true,
             .expert_weights_norm = false, .shared_expert = true, .output_required = true},
    // gpt-oss: local (sliding-window) and global layers alternate, both rotated with the
    // global rope's base and scale unless rope.freq_base_swa says otherwise.
    ArchSpec{.name = "gpt-oss", .rope = ops::RopeStyle::kNeox, .activation = Activation::kSwigluOai,
             .sliding_window = SlidingWindow::kPattern, .swa_pattern = 2, .swa_rope_from_global = true,
             .experts_required = true, .expert_weights_norm = false, .gating = ExpertGating::kSoftmaxOfTopK,
             .expert_biases = true, .attn_sinks = true, .ffn_norm_is_post_attention = true,
             .scale_by_rope_dims = true, .required_keys = kGptOssRequired, .output_required = true},
    ArchSpec{.name = "phi3", .rope = ops::RopeStyle::kNeox, .fused_qkv = true, .fused_gate_up = true,
             .sliding_window = SlidingWindow::kIgnored, .longrope_factors = true},
    ArchSpec{.name = "gemma2", .rope = ops::RopeStyle::kNeox, .activation = Activation::kGelu,
             .scale_embeddings = true, .post_norms = true, .sliding_window = SlidingWindow::kPattern,
             .swa_pattern = 2, .default_n_swa = 4096, .swa_rope_from_global = true},
    ArchSpec{.name = "gemma3", .rope = ops::RopeStyle::kNeox, .qk_norm = true, .activation = Activation::kGelu,
             .scale_embeddings = true, .post_norms = true, .sliding_window = SlidingWindow::kPattern,
             .swa_pattern = 6},
};

struct KeySuffix {
  Key key;
  std::string_view suffix;
};
constexpr std::array kKeys = {
    KeySuffix{Key::kContextLength, "context_length"},
    KeySuffix{Key::kEmbeddingLength, "embedding_length"},
    KeySuffix{Key::kBlockCount, "block_count"},
    KeySuffix{Key::kFeedForwardLength, "feed_forward_length"},
    KeySuffix{Key::kHeadCount, "attention.head_count"},
    KeySuffix{Key::kHeadCountKv, "attention.head_count_kv"},
    KeySuffix{Key::kKeyLength, "attention.key_length"},
    KeySuffix{Key::kValueLength, "attention.value_length"},
    KeySuffix{Key::kRmsEps, "attention.layer_norm_rms_epsilon"},
    KeySuffix{Key::kRopeFreqBase, "rope.freq_base"},
    KeySuffix{Key::kRopeDimensionCount, "rope.dimension_count"},
    KeySuffix{Key::kExpertCount, "expert_count"},
    KeySuffix{Key::kExpertUsedCount, "expert_used_count"},
    KeySuffix{Key::kExpertFeedForwardLength, "expert_feed_forward_length"},
    KeySuffix{Key::kExpertSharedCount, "expert_shared_count"},
    KeySuffix{Key::kExpertWeightsScale, "expert_weights_scale"},
    KeySuffix{Key::kExpertWeightsNorm, "expert_weights_norm"},
    KeySuffix{Key::kExpertGatingFunc, "expert_gating_func"},
    KeySuffix{Key::kExpertSharedFeedForwardLength, "expert_shared_feed_forward_length"},
    KeySuffix{Key::kExpertGroupCount, "expert_group_count"},
    KeySuffix{Key::kExpertGroupUsedCount, "expert_group_used_count"},
    KeySuffix{Key::kRopeScalingType, "rope.scaling.type"},
    KeySuffix{Key::kRopeScalingFactor, "rope.scaling.factor"},
    KeySuffix{Key::kRopeScaleLinear, "rope.scale_linear"},
    KeySuffix{Key::kRopeScalingAttnFactor, "rope.scaling.attn_factor"},
    KeySuffix{Key::kRopeScalingOrigContext, "rope.scaling.original_context_length"},
    KeySuffix{Key::kRopeScalingFinetuned, "rope.scaling.finetuned"},
    KeySuffix{Key::kRopeScalingYarnLogMul, "rope.scaling.yarn_log_multiplier"},
    KeySuffix{Key::kRopeScalingYarnExtFactor, "rope.scaling.yarn_ext_factor"},
    KeySuffix{Key::kRopeScalingYarnAttnFactor, "rope.scaling.yarn_attn_factor"},
    KeySuffix{Key::kRopeScalingYarnBetaFast, "rope.scaling.yarn_beta_fast"},
    KeySuffix{Key::kRopeScalingYarnBetaSlow, "rope.scaling.yarn_beta_slow"},
    // Known and without effect on the computation: the embedding defines the vocabulary
    // size, the reference recomputes YaRN's magnitude whatever yarn_attn_factor says,
    // finetuned is a note, and RMS-norm models never read a LayerNorm epsilon.
    KeySuffix{Key::kVocabSize, "vocab_size"},
    KeySuffix{Key::kLayerNormEps, "attention.layer_norm_epsilon"},
    KeySuffix{Key::kAttentionCausal, "attention.causal"},
    KeySuffix{Key::kSlidingWindow, "attention.sliding_window"},
    KeySuffix{Key::kSlidingWindowPattern, "attention.sliding_window_pattern"},
    KeySuffix{Key::kRopeFreqBaseSwa, "rope.freq_base_swa"},
    KeySuffix{Key::kAttnSoftcap, "attn_logit_softcapping"},
    KeySuffix{Key::kFinalSoftcap, "final_logit_softcapping"},
    KeySuffix{Key::kPoolingType, "pooling_type"},
};

struct TensorEntry {
  TensorKind kind;
  std::string_view name;
  bool per_block;
};
constexpr std::array kTensors = {
    TensorEntry{TensorKind::kTokenEmbd, "token_embd.weight", false},
    TensorEntry{TensorKind::kOutputNorm, "output_norm.weight", false},
    TensorEntry{TensorKind::kOutput, "output.weight", false},
    TensorEntry{TensorKind::kAttnNorm, "attn_norm.weight", true},
    TensorEntry{TensorKind::kAttnQ, "attn_q.weight", true},
    TensorEntry{TensorKind::kAttnK, "attn_k.weight", true},
    TensorEntry{TensorKind::kAttnV, "attn_v.weight", true},
    TensorEntry{TensorKind::kAttnQkv, "attn_qkv.weight", true},
    TensorEntry{TensorKind::kAttnOut, "attn_output.weight", true},
    TensorEntry{TensorKind::kAttnQBias, "attn_q.bias", true},
    TensorEntry{TensorKind::kAttnKBias, "attn_k.bias", true},
    TensorEntry{TensorKind::kAttnVBias, "attn_v.bias", true},
    TensorEntry{TensorKind::kAttnQNorm, "attn_q_norm.weight", true},
    TensorEntry{TensorKind::kAttnKNorm, "attn_k_norm.weight", true},
    TensorEntry{TensorKind::kAttnPostNorm, "post_attention_norm.weight", true},
    TensorEntry{TensorKind::kFfnNorm, "ffn_norm.weight", true},
    TensorEntry{TensorKind::kFfnPostNorm, "post_ffw_norm.weight", true},
    TensorEntry{TensorKind::kFfnGate, "ffn_gate.weight", true},
    TensorEntry{TensorKind::kFfnUp, "ffn_up.weight", true},
    TensorEntry{TensorKind::kFfnDown, "ffn_down.weight", true},
    TensorEntry{TensorKind::kFfnGateInp, "ffn_gate_inp.weight", true},
    TensorEntry{TensorKind::kFfnGateExps, "ffn_gate_exps.weight", true},
    TensorEntry{TensorKind::kFfnUpExps, "ffn_up_exps.weight", true},
    TensorEntry{TensorKind::kFfnDownExps, "ffn_down_exps.weight", true},
    TensorEntry{TensorKind::kFfnGateInpShexp, "ffn_gate_inp_shexp.weight", true},
    TensorEntry{TensorKind::kFfnGateShexp, "ffn_gate_shexp.weight", true},
    TensorEntry{TensorKind::kFfnUpShexp, "ffn_up_shexp.weight", true},
    TensorEntry{TensorKind::kFfnDownShexp, "ffn_down_shexp.weight", true},
    TensorEntry{TensorKind::kAttnOutBias, "attn_output.bias", true},
    TensorEntry{TensorKind::kRopeFreqs, "rope_freqs.weight", false},
    TensorEntry{TensorKind::kRopeFactorsLong, "rope_factors_long.weight", false},
    TensorEntry{TensorKind::kRopeFactorsShort, "rope_factors_short.weight", false},
    TensorEntry{TensorKind::kAttnSinks, "attn_sinks.weight", true},
    TensorEntry{TensorKind::kFfnGateInpBias, "ffn_gate_inp.bias", true},
    TensorEntry{TensorKind::kFfnGateExpsBias, "ffn_gate_exps.bias", true},
    TensorEntry{TensorKind::kFfnUpExpsBias, "ffn_up_exps.bias", true},
    TensorEntry{TensorKind::kFfnDownExpsBias, "ffn_down_exps.bias", true},
};

}  // namespace

std::optional<ArchSpec> find_arch(std::string_view name) {
  for (const auto& a : kArchs)
    if (a.name == name) return a;
  return std::nullopt;
}

std::string supported_arch_names() {
  std::string s;
  for (const auto& a : kArchs) s += (s.empty() ? "" : ", ") + std::string(a.name);
  return s;
}

std::string key_name(Key key, std::string_view arch) {
  for (const auto& k : kKeys)
    if (k.key == key) return fmt::format("{}.{}", arch, k.suffix);
  return {};
}

std::optional<Key> find_key(std::string_view suffix) {
  for (const auto& k : kKeys)
    if (k.suffix == suffix) return k.key;
  return std::nullopt;
}

std::string tensor_name(TensorKind kind, int layer) {
  for (const auto& t : kTensors) {
    if (t.kind != kind) continue;
    return t.per_block ? fmt::format("blk.{}.{}", layer, t.name) : std::string(t.name);
  }
  return {};
}

}  // namespace mx
