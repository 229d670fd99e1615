#include "model/presets.h"

#include <array>

namespace mx {
namespace {

// From each model's published config.json (hidden_size, num_hidden_layers,
// num_attention_heads, num_key_value_heads, head_dim, intermediate_size, vocab_size,
// max_position_embeddings, rope_theta, rms_norm_eps, tie_word_embeddings; num_experts,
// num_experts_per_tok, moe_intermediate_size; sliding_window, rope_scaling). mistral-7b is v0.3 (vocabulary 32768);
// mixtral-8x7b is v0.1, a llama with experts whose width is intermediate_size.
constexpr std::array kPresets = {
    ModelPreset{"qwen2.5-0.5b", "qwen2", 896, 24, 14, 2, 64, 4864, 151936, 32768, 1e6, 1e-6, true},
    ModelPreset{"qwen2.5-1.5b", "qwen2", 1536, 28, 12, 2, 128, 8960, 151936, 32768, 1e6, 1e-6, true},
    ModelPreset{"qwen2.5-7b", "qwen2", 3584, 28, 28, 4, 128, 18944, 152064, 32768, 1e6, 1e-6, false},
    ModelPreset{"qwen3-0.6b", "qwen3", 1024, 28, 16, 8, 128, 3072, 151936, 40960, 1e6, 1e-6, true},
    ModelPreset{"qwen3-1.7b", "qwen3", 2048, 28, 16, 8, 128, 6144, 151936, 40960, 1e6, 1e-6, true},
    ModelPreset{"qwen3-8b", "qwen3", 4096, 36, 32, 8, 128, 12288, 151936, 40960, 1e6, 1e-6, false},
    ModelPreset{"llama-3.2-1b", "llama", 2048, 16, 32, 8, 64, 8192, 128256, 131072, 5e5, 1e-5, true},
    ModelPreset{"llama-3.2-3b", "llama", 3072, 28, 24, 8, 128, 8192, 128256, 131072, 5e5, 1e-5, true},
    ModelPreset{"llama-3.1-8b", "llama", 4096, 32, 32, 8, 128, 14336, 128256, 131072, 5e5, 1e-5, false},
    ModelPreset{"llama-2-7b", "llama", 4096, 32, 32, 32, 128, 11008, 32000, 4096, 1e4, 1e-5, false},
    ModelPreset{"mistral-7b", "llama", 4096, 32, 32, 8, 128, 14336, 32768, 32768, 1e6, 1e-5, false},
    ModelPreset{"qwen3-30b-a3b", "qwen3moe", 2048, 48, 32, 4, 128, 6144, 151936, 40960, 1e6, 1e-6, false,
                128, 8, 768},
    ModelPreset{"mixtral-8x7b", "llama", 4096, 32, 32, 8, 128, 14336, 32000, 32768, 1e6, 1e-5, false, 8, 2,
                14336},
    ModelPreset{"gpt-oss-20b", "gpt-oss", 2880, 24, 64, 8, 64, 2880, 201088, 131072, 150000, 1e-5, false,
                32, 4, 2880, 128, 32, 4096},
};

}  // namespace

std::span<const ModelPreset> model_presets() { return kPresets; }

std::optional<ModelPreset> find_preset(std::string_view name) {
  for (const auto& p : kPresets)
    if (p.name == name) return p;
  return std::nullopt;
}

std::string preset_names() {
  std::string s;
  for (const auto& p : kPresets) s += (s.empty() ? "" : ", ") + std::string(p.name);
  return s;
}

}  // namespace mx
