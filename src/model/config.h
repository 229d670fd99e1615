// Model hyper-parameters, read entirely from GGUF metadata.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include "core/expected.h"
#include "gguf/gguf_file.h"
#include "model/arch.h"

namespace mx {

// How an embedding is made of a text's hidden states ({arch}.pooling_type in GGUF).
enum class Pooling { kMean, kCls, kLast };

// How positions beyond the trained context are handled (rope.scaling.type).
enum class RopeScaling { kNone, kLinear, kYarn, kLongrope };
std::string_view rope_scaling_name(RopeScaling s);

struct ModelConfig {
  ArchSpec arch;
  std::string name;        // general.name, for display
  int64_t n_vocab = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_ff = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim_k = 0;  // key/query head width
  int64_t head_dim_v = 0;
  int64_t n_rot = 0;       // rotated dims per head
  int64_t n_ctx_train = 0;
  float rms_eps = 1e-5f;
  float rope_freq_base = 10000.0f;
  float rope_freq_base_swa = 10000.0f;  // for sliding-window layers
  // Rope scaling, with the reference's defaults: the angles of global layers are scaled by
  // rope_freq_scale (1 / rope.scaling.factor); YaRN blends them along a ramp (ext_factor)
  // and corrects their magnitude (attn_factor).
  RopeScaling rope_scaling = RopeScaling::kNone;
  float rope_freq_scale = 1.0f;
  float rope_freq_scale_swa = 1.0f;
  int64_t n_ctx_orig = 0;               // rope.scaling.original_context_length
  float yarn_ext_factor = 0.0f;
  float rope_attn_factor = 1.0f;        // cos and sin are multiplied by it
  float yarn_beta_fast = 32.0f, yarn_beta_slow = 1.0f;
  int64_t n_swa = 0;                    // sliding window in tokens; 0: every layer is global
  int64_t swa_pattern = 0;              // layer il is local when il % pattern < pattern - 1;
                                        // 0: every layer (when n_swa > 0)
  float attn_scale = 0.0f;              // scores times this; 0: 1 / sqrt(head_dim_k)
  float attn_softcap = 0.0f;            // 0: off
  float final_softcap = 0.0f;
  Pooling pooling = Pooling::kMean;     // metadata 2 = first token, 3 = last; else the mean
  // Mixture of experts (every layer when n_expert > 0): a router picks n_expert_used of
  // n_expert feed-forward experts per token, each n_ff_exp wide.
  int64_t n_expert = 0;
  int64_t n_expert_used = 0;
  int64_t n_ff_exp = 0;
  int64_t n_ff_shexp = 0;  // the shared expert's width; 0: none

  bool is_moe() const { return n_expert > 0; }
  // Width of one token's feed-forward activations: all its chosen experts' side by side.
  int64_t ffn_width() const { return is_moe() ? std::max(n_expert_used * n_ff_exp, n_ff_shexp) : n_ff; }

  bool is_swa_layer(int64_t il) const {
    return n_swa > 0 && (swa_pattern == 0 || il % swa_pattern < swa_pattern - 1);
  }
  float rope_base(int64_t il) const { return is_swa_layer(il) ? rope_freq_base_swa : rope_freq_base; }
  float rope_scale(int64_t il) const { return is_swa_layer(il) ? rope_freq_scale_swa : rope_freq_scale; }

  int64_t q_width() const { return n_head * head_dim_k; }
  int64_t k_width() const { return n_head_kv * head_dim_k; }
  int64_t v_width() const { return n_head_kv * head_dim_v; }

  static Expected<ModelConfig> from_gguf(const gguf::File& file);
};

}  // namespace mx
