#include "model/config.h"

#include <cmath>

#include "core/log.h"
#include "model/metadata_reader.h"

namespace mx {
namespace {

// Every `{arch}.*` key must be one moxing knows: an unknown one may change the math.
Status check_known_keys(const gguf::File& f, std::string_view arch) {
  const std::string prefix = std::string(arch) + ".";
  for (const auto& kv : f.metadata()) {
    if (kv.key.compare(0, prefix.size(), prefix) != 0) continue;
    if (!find_key(std::string_view(kv.key).substr(prefix.size())))
      return make_error("{}: metadata key '{}' is not known to moxing for '{}' models; it may change "
                        "the computation, so the file is refused rather than run differently",
                        f.name(), kv.key, arch);
  }
  return {};
}

Status read_shape(const gguf::File& f, const MetadataReader& md, ModelConfig& c) {
  MX_TRY_ASSIGN(c.n_embd, md.positive(Key::kEmbeddingLength));
  MX_TRY_ASSIGN(c.n_layer, md.positive(Key::kBlockCount));
  MX_TRY_ASSIGN(c.n_ff, md.positive(Key::kFeedForwardLength));
  MX_TRY_ASSIGN(c.n_head, md.positive(Key::kHeadCount));
  MX_TRY_ASSIGN(c.n_ctx_train, md.positive(Key::kContextLength));
  MX_TRY_ASSIGN(c.n_head_kv, md.count(Key::kHeadCountKv, c.n_head));
  if (c.n_head_kv <= 0 || c.n_head % c.n_head_kv != 0)
    return make_error("{}: head_count_kv {} must divide head_count {}", f.name(), c.n_head_kv, c.n_head);
  if (c.n_embd % c.n_head != 0 && !md.has(Key::kKeyLength))
    return make_error("{}: embedding_length {} is not a multiple of head_count {}", f.name(), c.n_embd,
                      c.n_head);
  MX_TRY_ASSIGN(c.head_dim_k, md.count(Key::kKeyLength, c.n_embd / c.n_head));
  MX_TRY_ASSIGN(c.head_dim_v, md.count(Key::kValueLength, c.head_dim_k));
  MX_TRY_ASSIGN(c.n_rot, md.count(Key::kRopeDimensionCount, c.head_dim_k));
  if (c.head_dim_k <= 0 || c.head_dim_k > 1024 || c.head_dim_v <= 0 || c.head_dim_v > 1024 ||
      c.n_rot <= 0 || c.n_rot > c.head_dim_k || c.n_rot % 2 != 0)
    return make_error("{}: invalid head sizes (key {}, value {}, rope dims {})", f.name(), c.head_dim_k,
                      c.head_dim_v, c.n_rot);
  double eps;
  MX_TRY_ASSIGN(eps, md.real(Key::kRmsEps, 1e-5));
  c.rms_eps = static_cast<float>(eps);
  if (!(c.rms_eps > 0)) return make_error("{}: rms epsilon must be positive", f.name());
  bool causal;
  MX_TRY_ASSIGN(causal, md.flag(Key::kAttentionCausal, true));
  if (!causal) return md.refuse(Key::kAttentionCausal, "asks for non-causal attention, which moxing does not run");
  int64_t pooling;
  MX_TRY_ASSIGN(pooling, md.count(Key::kPoolingType, 1));
  c.pooling = pooling == 2 ? Pooling::kCls : pooling == 3 ? Pooling::kLast : Pooling::kMean;
  return {};
}

// Sliding windows, soft-capping and the attention scale, as the reference reads them per
// architecture.
Status read_attention(const gguf::File& f, const MetadataReader& md, ModelConfig& c) {
  MX_TRY_ASSIGN(c.n_swa, md.count(Key::kSlidingWindow, c.arch.default_n_swa));
  switch (c.arch.sliding_window) {
    case SlidingWindow::kRefused:
      if (c.n_swa > 0)
        return md.refuse(Key::kSlidingWindow, fmt::format("asks for sliding-window attention, which '{}' "
                                                          "models do not have in moxing", c.arch.name));
      break;
    case SlidingWindow::kIgnored:
      if (c.n_swa > 0)
        MX_LOG_WARN("{}: '{}' = {} is ignored, as llama.cpp ignores it for '{}' (its converters write a "
                 "window the model was not trained with); attention stays global", f.name(),
                 md.name(Key::kSlidingWindow), c.n_swa, c.arch.name);
      c.n_swa = 0;
      break;
    case SlidingWindow::kEveryLayer: c.swa_pattern = 0; break;
    case SlidingWindow::kPattern:
      MX_TRY_ASSIGN(c.swa_pattern, md.count(Key::kSlidingWindowPattern, c.arch.swa_pattern));
      if (c.swa_pattern == 0) return md.refuse(Key::kSlidingWindowPattern, "is 0");
      break;
  }
  if (c.arch.sliding_window != SlidingWindow::kPattern && md.has(Key::kSlidingWindowPattern))
    return md.refuse(Key::kSlidingWindowPattern, "is not part of this architecture");
  double softcap;
  MX_TRY_ASSIGN(softcap, md.real(Key::kAttnSoftcap, 0.0));
  c.attn_softcap = static_cast<float>(softcap);
  MX_TRY_ASSIGN(softcap, md.real(Key::kFinalSoftcap, 0.0));
  c.final_softcap = static_cast<float>(softcap);
  if (c.attn_softcap < 0 || c.final_softcap < 0)
    return make_error("{}: soft-capping values must not be negative", f.name());
  // Gemma 3 27B scales queries by its hidden size per head, not by its head width
  // (llama.cpp's gemma3 model; the 27B is the one with 62 layers).
  if (c.arch.name == "gemma3" && c.n_layer == 62)
    c.attn_scale = 1.0f / std::sqrt(static_cast<float>(c.n_embd / c.n_head));
  if (c.arch.scale_by_rope_dims) c.attn_scale = 1.0f / std::sqrt(static_cast<float>(c.n_rot));
  return {};
}

// Rope bases and scaling, derived as llama.cpp derives its context's rope parameters.
Status read_rope(const gguf::File& f, const MetadataReader& md, ModelConfig& c) {
  double v;
  MX_TRY_ASSIGN(v, md.real(Key::kRopeFreqBase, 10000.0));
  c.rope_freq_base = static_cast<float>(v);
  const double swa_base_default = c.arch.swa_rope_from_global ? v : 10000.0;
  MX_TRY_ASSIGN(v, md.real(Key::kRopeFreqBaseSwa, swa_base_default));
  c.rope_freq_base_swa = static_cast<float>(v);
  if (!(c.rope_freq_base > 0) || !(c.rope_freq_base_swa > 0))
    return make_error("{}: rope bases must be positive", f.name());

  std::string type;
  MX_TRY_ASSIGN(type, md.text(Key::kRopeScalingType, "linear"));  // the reference's default
  if (type == "none") c.rope_scaling = RopeScaling::kNone;
  else if (type == "linear") c.rope_scaling = RopeScaling::kLinear;
  else if (type == "yarn") c.rope_scaling = RopeScaling::kYarn;
  else if (type == "longrope") c.rope_scaling = RopeScaling::kLongrope;
  else return md.refuse(Key::kRopeScalingType, fmt::format("is '{}', a rope scaling moxing does not implement "
                                                           "(known: none, linear, yarn, longrope)", type));
  double factor;
  MX_TRY_ASSIGN(factor, md.real(Key::kRopeScaleLinear, 0.0));
  MX_TRY_ASSIGN(factor, md.real(Key::kRopeScalingFactor, factor));
  if (factor < 0 || !std::isfinite(factor)) return md.refuse(Key::kRopeScalingFactor, "is not a valid factor");
  const float trained_scale = factor == 0.0 ? 1.0f : 1.0f / static_cast<float>(factor);
  c.rope_freq_scale = c.rope_scaling == RopeScaling::kNone ? 1.0f : trained_scale;
  c.rope_freq_scale_swa = c.arch.swa_rope_from_global ? trained_scale : 1.0f;
  MX_TRY_ASSIGN(c.n_ctx_orig, md.count(Key::kRopeScalingOrigContext, c.n_ctx_train));
  if (c.n_ctx_orig == 0) c.n_ctx_orig = c.n_ctx_train;

  MX_TRY_ASSIGN(v, md.real(Key::kRopeScalingYarnExtFactor, c.rope_scaling == RopeScaling::kYarn ? 1.0 : 0.0));
  c.yarn_ext_factor = static_cast<float>(v);
  MX_TRY_ASSIGN(v, md.real(Key::kRopeScalingYarnBetaFast, 32.0));
  c.yarn_beta_fast = static_cast<float>(v);
  MX_TRY_ASSIGN(v, md.real(Key::kRopeScalingYarnBetaSlow, 1.0));
  c.yarn_beta_slow = static_cast<float>(v);
  MX_TRY_ASSIGN(v, md.real(Key::kRopeScalingYarnLogMul, 0.0));
  if (v != 0.0) return md.refuse(Key::kRopeScalingYarnLogMul, "asks for DeepSeek's YaRN magnitude, which moxing does not implement");
  float attn_factor = 1.0f;
  if (c.yarn_ext_factor != 0.0f) {
    // The magnitude YaRN wants, 0.1·ln(factor) + 1, divided by what the rope kernel
    // multiplies in by itself whenever ext_factor is set: in float, in this order, as
    // llama.cpp computes it.
    const float f = 1.0f / c.rope_freq_scale;
    attn_factor = f <= 1.0f ? 1.0f : 0.1f * 1.0f * std::log(f) + 1.0f;
    attn_factor *= 1.0f / (1.0f + 0.1f * std::log(f));
  }
  MX_TRY_ASSIGN(v, md.real(Key::kRopeScalingAttnFactor, 1.0));
  c.rope_attn_factor = attn_factor * static_cast<float>(v);
  return {};
}

// The mixture-of-experts keys. Keys that would change the routing in ways not implemented
// (shared experts, sigmoid gating, a weight scale, no renormalisation, groups) refuse the file.
Status read_experts(const gguf::File& f, const MetadataReader& md, ModelConfig& c) {
  MX_TRY_ASSIGN(c.n_expert, md.count(Key::kExpertCount, 0));
  if (c.n_expert == 0) {
    if (c.arch.experts_required)
      return make_error("{}: '{}' needs metadata key '{}' > 0", f.name(), c.arch.name, md.name(Key::kExpertCount));
    return {};
  }
  if (c.n_expert > 1024) return md.refuse(Key::kExpertCount, fmt::format("has invalid value {}", c.n_expert));
  MX_TRY_ASSIGN(c.n_expert_used, md.positive(Key::kExpertUsedCount));
  if (c.n_expert_used > c.n_expert)
    return make_error("{}: '{}' is {} but the model has only {} experts", f.name(),
                      md.name(Key::kExpertUsedCount), c.n_expert_used, c.n_expert);
  // Mixtral-style files give the experts' width as feed_forward_length; for the others the
  // reference's default is that width shared among the experts used.
  const int64_t ff_default = c.arch.experts_use_ff_length ? c.n_ff : c.n_ff / c.n_expert_used;
  MX_TRY_ASSIGN(c.n_ff_exp, md.count(Key::kExpertFeedForwardLength, ff_default));
  if (c.n_ff_exp == 0) return md.refuse(Key::kExpertFeedForwardLength, "is 0");
  const char* kNotImplemented = "asks for {}, which moxing does not implement";
  int64_t n;
  MX_TRY_ASSIGN(n, md.count(Key::kExpertSharedCount, 0));
  if (n > (c.arch.shared_expert ? 1 : 0))
    return md.refuse(Key::kExpertSharedCount, fmt::format(fmt::runtime(kNotImplemented), fmt::format("{} shared experts", n)));
  if (c.arch.shared_expert) {
    MX_TRY_ASSIGN(c.n_ff_shexp, md.count(Key::kExpertSharedFeedForwardLength, c.n_ff));
  } else if (md.has(Key::kExpertSharedFeedForwardLength)) {
    return md.refuse(Key::kExpertSharedFeedForwardLength, "describes a shared expert this architecture does not have");
  }
  MX_TRY_ASSIGN(n, md.count(Key::kExpertGatingFunc, 1));
  if (n != 1)
    return md.refuse(Key::kExpertGatingFunc,
                     fmt::format(fmt::runtime(kNotImplemented), "a gating function other than softmax"));
  for (Key group : {Key::kExpertGroupCount, Key::kExpertGroupUsedCount}) {
    MX_TRY_ASSIGN(n, md.count(group, 0));
    if (n > 1) return md.refuse(group, fmt::format(fmt::runtime(kNotImplemented), "grouped expert routing"));
  }
  double scale;
  MX_TRY_ASSIGN(scale, md.real(Key::kExpertWeightsScale, 1.0));
  if (scale != 1.0)
    return md.refuse(Key::kExpertWeightsScale, fmt::format(fmt::runtime(kNotImplemented), "scaled expert weights"));
  bool norm;
  MX_TRY_ASSIGN(norm, md.flag(Key::kExpertWeightsNorm, true));
  if (!norm)
    return md.refuse(Key::kExpertWeightsNorm,
                     fmt::format(fmt::runtime(kNotImplemented), "expert weights without renormalisation"));
  return {};
}

}  // namespace

std::string_view rope_scaling_name(RopeScaling s) {
  switch (s) {
    case RopeScaling::kNone: return "none";
    case RopeScaling::kLinear: return "linear";
    case RopeScaling::kYarn: return "yarn";
    case RopeScaling::kLongrope: return "longrope";
  }
  return "?";
}

Expected<ModelConfig> ModelConfig::from_gguf(const gguf::File& f) {
  const auto arch_name = f.get_string("general.architecture");
  if (!arch_name) return make_error("{}: missing 'general.architecture'", f.name());
  const auto arch = find_arch(*arch_name);
  if (!arch)
    return make_error("{}: architecture '{}' is not supported (supported: {})", f.name(), *arch_name,
                      supported_arch_names());
  ModelConfig c;
  c.arch = *arch;
  c.name = f.get_string("general.name").value_or(*arch_name);
  const MetadataReader md(f, arch->name);
  if (auto st = check_known_keys(f, arch->name); !st) return st.error();
  for (Key key : arch->required_keys)
    if (!md.has(key)) return make_error("{}: '{}' models need metadata key '{}'", f.name(), arch->name, md.name(key));
  if (auto st = read_shape(f, md, c); !st) return st.error();
  if (auto st = read_attention(f, md, c); !st) return st.error();
  if (auto st = read_rope(f, md, c); !st) return st.error();
  if (auto st = read_experts(f, md, c); !st) return st.error();

  // The vocabulary size is the embedding's row count; the token list must agree with it.
  const auto* embd = f.find_tensor(tensor_name(TensorKind::kTokenEmbd));
  if (!embd || embd->dims.size() != 2)
    return make_error("{}: missing 2-D tensor '{}'", f.name(), tensor_name(TensorKind::kTokenEmbd));
  c.n_vocab = embd->dims[1];
  return c;
}

}  // namespace mx
