// Architectures as data: the few switches by which Llama-family models differ.
// One forward pass reads these; an architecture gets its own code only where its math differs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "kernels/ops.h"

namespace mx {

struct ArchSpec {
  std::string_view name;  // general.architecture
  ops::RopeStyle rope = ops::RopeStyle::kNorm;
  bool qkv_bias = false;  // q, k, v projections carry biases (qwen2)
  bool qk_norm = false;   // per-head RMS norm of q and k before rope (qwen3)
  bool fused_qkv = false;      // one attn_qkv matrix whose rows are [q; k; v] (phi3)
  bool fused_gate_up = false;  // one ffn_up matrix of 2·n_ff rows, [gate; up] (phi3)
  bool gelu = false;           // GELU(tanh)-gated FFN instead of SiLU (gemma)
  bool scale_embeddings = false;  // token embeddings times sqrt(n_embd) (gemma)
  bool post_norms = false;     // RMS norms after the attention and FFN blocks (gemma2/3)
  int64_t swa_pattern = 0;     // default sliding-window layer pattern when metadata has none
  bool experts_required = false;  // every layer is a mixture of experts (qwen3moe)
};

// nullopt for architectures moxing does not run.
std::optional<ArchSpec> find_arch(std::string_view name);
std::string supported_arch_names();  // "llama, qwen2, ..." for error messages

// Metadata keys, built from one table so no key string is scattered through the code.
enum class Key {
  kContextLength,
  kEmbeddingLength,
  kBlockCount,
  kFeedForwardLength,
  kHeadCount,
  kHeadCountKv,
  kKeyLength,
  kValueLength,
  kRmsEps,
  kRopeFreqBase,
  kRopeDimensionCount,
  kExpertCount,
  kExpertUsedCount,
  kExpertFeedForwardLength,
  kExpertSharedCount,
  kExpertWeightsScale,
  kExpertWeightsNorm,
  kExpertGatingFunc,
  kSlidingWindow,
  kSlidingWindowPattern,
  kRopeFreqBaseSwa,
  kAttnSoftcap,
  kFinalSoftcap,
  kPoolingType,
};
std::string key_name(Key key, std::string_view arch);  // "qwen2.attention.head_count"

// Tensor names: global ones, and per-block ones "blk.{i}.{name}.weight".
enum class TensorKind {
  kTokenEmbd, kOutputNorm, kOutput,
  kAttnNorm, kAttnQ, kAttnK, kAttnV, kAttnQkv, kAttnOut, kAttnQBias, kAttnKBias, kAttnVBias,
  kAttnQNorm, kAttnKNorm, kAttnPostNorm, kFfnNorm, kFfnGate, kFfnUp, kFfnDown, kFfnPostNorm,
  // Mixture of experts: the router and the experts' matrices stacked in 3-D tensors.
  kFfnGateInp, kFfnGateExps, kFfnUpExps, kFfnDownExps,
};
std::string tensor_name(TensorKind kind, int layer = -1);

}  // namespace mx
