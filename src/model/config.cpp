#include "model/config.h"

namespace mx {
namespace {

// Reads a required positive integer key, naming it in the error.
Expected<int64_t> required_int(const gguf::File& f, Key key, std::string_view arch) {
  const std::string name = key_name(key, arch);
  const auto v = f.get_int(name);
  if (!v) return make_error("{}: missing or non-integer metadata key '{}'", f.name(), name);
  if (*v <= 0 || *v > (int64_t{1} << 31))
    return make_error("{}: metadata key '{}' has invalid value {}", f.name(), name, *v);
  return *v;
}

// The mixture-of-experts keys. Keys that would change the routing in ways not implemented
// (shared experts, sigmoid gating, a weight scale, no renormalisation) refuse the file.
Status read_experts(const gguf::File& f, std::string_view a, ModelConfig& c) {
  c.n_expert = f.get_int(key_name(Key::kExpertCount, a)).value_or(0);
  if (c.n_expert == 0) {
    if (c.arch.experts_required)
      return make_error("{}: '{}' needs metadata key '{}' > 0", f.name(), a, key_name(Key::kExpertCount, a));
    return {};
  }
  if (c.n_expert < 0 || c.n_expert > 1024)
    return make_error("{}: metadata key '{}' has invalid value {}", f.name(), key_name(Key::kExpertCount, a),
                      c.n_expert);
  MX_TRY_ASSIGN(c.n_expert_used, required_int(f, Key::kExpertUsedCount, a));
  if (c.n_expert_used > c.n_expert)
    return make_error("{}: '{}' is {} but the model has only {} experts", f.name(),
                      key_name(Key::kExpertUsedCount, a), c.n_expert_used, c.n_expert);
  c.n_ff_exp = c.n_ff;  // Mixtral-style files give the experts' width as feed_forward_length
  if (f.get_int(key_name(Key::kExpertFeedForwardLength, a)))
    MX_TRY_ASSIGN(c.n_ff_exp, required_int(f, Key::kExpertFeedForwardLength, a));
  auto refuse = [&](Key key, std::string_view what) {
    return make_error("{}: metadata key '{}' asks for {}, which moxing does not implement", f.name(),
                      key_name(key, a), what);
  };
  if (f.get_int(key_name(Key::kExpertSharedCount, a)).value_or(0) != 0)
    return refuse(Key::kExpertSharedCount, "shared experts");
  if (f.get_int(key_name(Key::kExpertGatingFunc, a)).value_or(1) != 1)
    return refuse(Key::kExpertGatingFunc, "a gating function other than softmax");
  if (f.get_float(key_name(Key::kExpertWeightsScale, a)).value_or(1.0) != 1.0)
    return refuse(Key::kExpertWeightsScale, "scaled expert weights");
  if (!f.get_bool(key_name(Key::kExpertWeightsNorm, a)).value_or(true))
    return refuse(Key::kExpertWeightsNorm, "expert weights without renormalisation");
  return {};
}

}  // namespace

Expected<ModelConfig> ModelConfig::from_gguf(const gguf::File& f) {
  const auto arch_name = f.get_string("general.architecture");
  if (!arch_name) return make_error("{}: missing 'general.architecture'", f.name());
  const auto arch = find_arch(*arch_name);
  if (!arch)
    return make_error("{}: architecture '{}' is not supported (supported: {})", f.name(),
                      *arch_name, supported_arch_names());
  ModelConfig c;
  c.arch = *arch;
  c.name = f.get_string("general.name").value_or(*arch_name);
  const std::string_view a = *arch_name;

  for (auto [key, out] : {std::pair{Key::kEmbeddingLength, &c.n_embd},
                          std::pair{Key::kBlockCount, &c.n_layer},
                          std::pair{Key::kFeedForwardLength, &c.n_ff},
                          std::pair{Key::kHeadCount, &c.n_head},
                          std::pair{Key::kContextLength, &c.n_ctx_train}}) {
    auto v = required_int(f, key, a);
    if (!v) return v.error();
    *out = *v;
  }
  c.n_head_kv = f.get_int(key_name(Key::kHeadCountKv, a)).value_or(c.n_head);
  if (c.n_head_kv <= 0 || c.n_head % c.n_head_kv != 0)
    return make_error("{}: head_count_kv {} must divide head_count {}", f.name(), c.n_head_kv,
                      c.n_head);
  if (c.n_embd % c.n_head != 0 && !f.get_int(key_name(Key::kKeyLength, a)))
    return make_error("{}: embedding_length {} is not a multiple of head_count {}", f.name(),
                      c.n_embd, c.n_head);
  c.head_dim_k = f.get_int(key_name(Key::kKeyLength, a)).value_or(c.n_embd / c.n_head);
  c.head_dim_v = f.get_int(key_name(Key::kValueLength, a)).value_or(c.head_dim_k);
  c.n_rot = f.get_int(key_name(Key::kRopeDimensionCount, a)).value_or(c.head_dim_k);
  if (c.head_dim_k <= 0 || c.head_dim_k > 1024 || c.head_dim_v <= 0 || c.head_dim_v > 1024 ||
      c.n_rot <= 0 || c.n_rot > c.head_dim_k || c.n_rot % 2 != 0)
    return make_error("{}: invalid head sizes (key {}, value {}, rope dims {})", f.name(),
                      c.head_dim_k, c.head_dim_v, c.n_rot);
  c.rms_eps = static_cast<float>(f.get_float(key_name(Key::kRmsEps, a)).value_or(1e-5));
  c.rope_freq_base =
      static_cast<float>(f.get_float(key_name(Key::kRopeFreqBase, a)).value_or(10000.0));
  c.rope_freq_base_swa = static_cast<float>(
      f.get_float(key_name(Key::kRopeFreqBaseSwa, a)).value_or(c.rope_freq_base));
  c.n_swa = f.get_int(key_name(Key::kSlidingWindow, a)).value_or(0);
  c.swa_pattern = f.get_int(key_name(Key::kSlidingWindowPattern, a)).value_or(c.arch.swa_pattern);
  c.attn_softcap = static_cast<float>(f.get_float(key_name(Key::kAttnSoftcap, a)).value_or(0.0));
  c.final_softcap = static_cast<float>(f.get_float(key_name(Key::kFinalSoftcap, a)).value_or(0.0));
  switch (f.get_int(key_name(Key::kPoolingType, a)).value_or(1)) {
    case 2: c.pooling = Pooling::kCls; break;
    case 3: c.pooling = Pooling::kLast; break;
    default: c.pooling = Pooling::kMean; break;
  }
  if (auto st = read_experts(f, a, c); !st) return st.error();
  if (c.n_swa < 0 || c.swa_pattern < 0 || c.attn_softcap < 0 || c.final_softcap < 0 ||
      !(c.rope_freq_base_swa > 0))
    return make_error("{}: invalid sliding-window or soft-capping metadata", f.name());
  if (!(c.rms_eps > 0) || !(c.rope_freq_base > 0))
    return make_error("{}: rms epsilon and rope base must be positive", f.name());

  // The vocabulary size is the embedding's row count; the token list must agree with it.
  const auto* embd = f.find_tensor(tensor_name(TensorKind::kTokenEmbd));
  if (!embd || embd->dims.size() != 2)
    return make_error("{}: missing 2-D tensor '{}'", f.name(), tensor_name(TensorKind::kTokenEmbd));
  c.n_vocab = embd->dims[1];
  return c;
}

}  // namespace mx
