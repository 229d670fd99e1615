// Views of a model's tensors inside the mapped GGUF file, checked against the config.
#pragma once

#include <vector>

#include "core/expected.h"
#include "gguf/gguf_file.h"
#include "kernels/kernel_table.h"
#include "kernels/matmul.h"
#include "model/config.h"

namespace mx {

struct LayerWeights {
  const float* attn_norm = nullptr;  // [n_embd]
  WeightView wq, wk, wv, wo;         // [q_width × n_embd], ..., wo [n_embd × n_head·head_dim_v]
  const float* bq = nullptr;         // [q_width] when the arch has biases
  const float* bk = nullptr;
  const float* bv = nullptr;
  const float* q_norm = nullptr;     // [head_dim_k] when the arch has q/k norms
  const float* k_norm = nullptr;
  const float* attn_post_norm = nullptr;  // [n_embd] when the arch has post norms
  const float* ffn_norm = nullptr;   // [n_embd]
  const float* ffn_post_norm = nullptr;
  WeightView w_gate, w_up;           // [n_ff × n_embd]
  WeightView w_down;                 // [n_embd × n_ff]
  // Mixture-of-experts layers instead of w_gate/w_up/w_down: the router and every expert's
  // matrices stacked, expert e's rows at e·n_ff_exp (gate, up) and e·n_embd (down).
  WeightView router;                 // [n_expert × n_embd]
  WeightView w_gate_exps, w_up_exps; // [n_expert·n_ff_exp × n_embd]
  WeightView w_down_exps;            // [n_expert·n_embd × n_ff_exp]
  // The shared expert (qwen2moe), run by every token and gated by sigmoid(shexp_gate·h).
  WeightView shexp_gate;             // [1 × n_embd]
  WeightView w_gate_shexp, w_up_shexp;  // [n_ff_shexp × n_embd]
  WeightView w_down_shexp;           // [n_embd × n_ff_shexp]
  const float* bo = nullptr;         // [n_embd] attn_output bias, when the file has one
  // gpt-oss: one sink logit per query head; biases of the router [n_expert] and of every
  // expert's gate and up rows [n_expert × n_ff_exp] and down rows [n_expert × n_embd].
  const float* attn_sinks = nullptr;
  const float* router_bias = nullptr;
  const float* gate_exps_bias = nullptr;
  const float* up_exps_bias = nullptr;
  const float* down_exps_bias = nullptr;
};

struct ModelWeights {
  WeightView token_embd;             // [n_vocab × n_embd]
  const float* output_norm = nullptr;
  WeightView output;                 // [n_vocab × n_embd]; token_embd when tied
  bool tied_output = false;
  // Rope frequency factors, [n_rot / 2] each, or null: Llama 3's for every context,
  // Phi-3's long-rope pair chosen by the context size.
  const float* rope_freqs = nullptr;
  const float* rope_factors_long = nullptr;
  const float* rope_factors_short = nullptr;
  std::vector<LayerWeights> layers;

  // Every matrix must be a type the kernel table can multiply, and every tensor of the file
  // must be one the forward pass uses: an unknown one is an error naming it.
  static Expected<ModelWeights> bind(const gguf::File& file, const ModelConfig& config,
                                     const KernelTable& kernels);
};

}  // namespace mx
