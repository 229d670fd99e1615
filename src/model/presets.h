// The shapes of real, popular models: what `moxing forge` writes with random weights so
// benchmarks run on honest inputs (speed depends on shapes and types, not on values).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace mx {

struct ModelPreset {
  std::string_view name;  // "qwen2.5-0.5b"
  std::string_view arch;  // general.architecture
  int64_t n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_vocab, n_ctx_train;
  double rope_freq_base;
  double rms_eps;
  bool tied_embeddings;  // no output.weight: the token embedding is the classifier
  // Mixture of experts (every layer): n_expert experts of n_ff_exp rows, n_expert_used per token.
  int64_t n_expert = 0, n_expert_used = 0, n_ff_exp = 0;
  int64_t n_swa = 0;  // sliding window of the local layers (gpt-oss); 0: none
  // YaRN rope scaling the model was trained with: factor and original context; 0: none.
  double yarn_factor = 0;
  int64_t yarn_orig_ctx = 0;
};

std::span<const ModelPreset> model_presets();
std::optional<ModelPreset> find_preset(std::string_view name);
std::string preset_names();  // "qwen2.5-0.5b, llama-3.2-1b, ..." for help and errors

}  // namespace mx
