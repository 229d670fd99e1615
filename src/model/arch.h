// Architectures as data: the few switches by which Llama-family models differ.
// One forward pass reads these; an architecture gets its own code only where its math differs.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "kernels/ops.h"

namespace mx {

// What `{arch}.attention.sliding_window` means for an architecture.
enum class SlidingWindow {
  kRefused,     // not part of the architecture: a file that sets it is refused
  kPattern,     // some layers local, by `sliding_window_pattern` (Gemma 2/3)
  kEveryLayer,  // every layer local (Mistral-style llama)
  kIgnored,     // the reference ignores it (its converters write wrong values): warned about
};

enum class Key;  // metadata keys, below

// The gated activation of the feed-forward block: act(gate) · up.
enum class Activation {
  kSilu,       // SiLU(gate) · up (Llama, Qwen, ...)
  kGelu,       // GELU(tanh)(gate) · up (Gemma)
  kSwigluOai,  // gpt-oss: x = min(gate, 7), x·sigmoid(1.702·x) · (clamp(up, ±7) + 1)
};

// How router logits become the chosen experts' mixing weights.
enum class ExpertGating {
  kSoftmax,        // softmax over all experts, the k best kept (then renormalised or not)
  kSoftmaxOfTopK,  // the k largest raw logits chosen, softmax over those k (gpt-oss)
};

struct ArchSpec {
  std::string_view name;  // general.architecture
  ops::RopeStyle rope = ops::RopeStyle::kNorm;
  bool qkv_bias = false;  // q, k, v projections carry biases (qwen2)
  bool qk_norm = false;   // per-head RMS norm of q and k before rope (qwen3)
  bool fused_qkv = false;      // one attn_qkv matrix whose rows are [q; k; v] (phi3)
  bool fused_gate_up = false;  // one ffn_up matrix of 2·n_ff rows, [gate; up] (phi3)
  Activation activation = Activation::kSilu;
  bool scale_embeddings = false;  // token embeddings times sqrt(n_embd) (gemma)
  bool post_norms = false;     // RMS norms after the attention and FFN blocks (gemma2/3)
  SlidingWindow sliding_window = SlidingWindow::kRefused;
  int64_t swa_pattern = 0;     // default sliding-window layer pattern when metadata has none
  int64_t default_n_swa = 0;   // window when metadata has none (Gemma 2: 4096)
  // Local layers rotate with the global rope base and scale; otherwise with
  // rope.freq_base_swa (default 10000) and no scaling (Gemma 3's linear scaling is global only).
  bool swa_rope_from_global = false;
  bool experts_required = false;  // every layer is a mixture of experts (qwen3moe)
  bool expert_weights_norm = true;  // chosen experts' weights renormalised to sum to 1
  bool experts_use_ff_length = false;  // experts as wide as feed_forward_length when
                                       // expert_feed_forward_length is absent (Mixtral);
                                       // else feed_forward_length / expert_used_count
  bool shared_expert = false;     // one more expert every token runs, gated by a sigmoid (qwen2moe)
  ExpertGating gating = ExpertGating::kSoftmax;
  bool expert_biases = false;     // router and experts carry biases (gpt-oss)
  bool attn_sinks = false;        // a learned per-head logit in every softmax, with no value (gpt-oss)
  bool ffn_norm_is_post_attention = false;  // the FFN's input norm is named post_attention_norm (gpt-oss)
  bool scale_by_rope_dims = false;  // scores scaled by 1/sqrt(n_rot), not 1/sqrt(head_dim_k) (gpt-oss)
  std::span<const Key> required_keys = {};  // keys the file must give, beyond the shape's
  bool output_required = false;   // no tied output: output.weight must be in the file
  bool rope_freqs = false;        // may carry rope_freqs.weight (Llama 3's frequency factors)
  bool longrope_factors = false;  // may carry rope_factors_long/short.weight (Phi-3)
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
  kExpertSharedFeedForwardLength,
  kExpertGroupCount,
  kExpertGroupUsedCount,
  kRopeScalingType,
  kRopeScalingFactor,
  kRopeScaleLinear,  // the old name of the scaling factor
  kRopeScalingAttnFactor,
  kRopeScalingOrigContext,
  kRopeScalingFinetuned,
  kRopeScalingYarnLogMul,
  kRopeScalingYarnExtFactor,
  kRopeScalingYarnAttnFactor,
  kRopeScalingYarnBetaFast,
  kRopeScalingYarnBetaSlow,
  kVocabSize,
  kLayerNormEps,
  kAttentionCausal,
  kSlidingWindow,
  kSlidingWindowPattern,
  kRopeFreqBaseSwa,
  kAttnSoftcap,
  kFinalSoftcap,
  kPoolingType,
};
std::string key_name(Key key, std::string_view arch);  // "qwen2.attention.head_count"
// The key of `{arch}.suffix`, if moxing knows it (every known key is read and honoured,
// refused when its value asks for what is not implemented, or documented as without effect).
std::optional<Key> find_key(std::string_view suffix);

// Tensor names: global ones, and per-block ones "blk.{i}.{name}.weight".
enum class TensorKind {
  kTokenEmbd, kOutputNorm, kOutput,
  kAttnNorm, kAttnQ, kAttnK, kAttnV, kAttnQkv, kAttnOut, kAttnQBias, kAttnKBias, kAttnVBias,
  kAttnQNorm, kAttnKNorm, kAttnPostNorm, kFfnNorm, kFfnGate, kFfnUp, kFfnDown, kFfnPostNorm,
  // Mixture of experts: the router and the experts' matrices stacked in 3-D tensors.
  kFfnGateInp, kFfnGateExps, kFfnUpExps, kFfnDownExps,
  kFfnGateInpShexp, kFfnGateShexp, kFfnUpShexp, kFfnDownShexp,  // the shared expert
  kAttnOutBias,
  // Rope frequency factors (Llama 3's rope_freqs; Phi-3's long and short long-rope factors).
  kRopeFreqs, kRopeFactorsLong, kRopeFactorsShort,
  // gpt-oss: attention sinks, router and expert biases.
  kAttnSinks, kFfnGateInpBias, kFfnGateExpsBias, kFfnUpExpsBias, kFfnDownExpsBias,
};
std::string tensor_name(TensorKind kind, int layer = -1);

}  // namespace mx
