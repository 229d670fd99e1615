// The mixture-of-experts feed-forward block (Mixtral, Qwen3-MoE). Per token a router
// scores every expert; the n_expert_used most probable (softmax over all experts) each run
// a SwiGLU FFN on the token, and their outputs are summed, weighted by their probabilities
// renormalised over the chosen ones (llama.cpp's softmax gating with weight normalisation).
// Tokens are grouped by expert, so each chosen expert's weights are read once per step:
// one product over all the tokens routed to it, all experts in one dispatch.
#pragma once

#include "model/config.h"
#include "model/exec_context.h"
#include "model/weights.h"

namespace mx {

// Reads the normed rows s.h [n_tok × n_embd], writes the block's output to s.proj.
void moe_ffn(const ModelConfig& c, const LayerWeights& w, int64_t n_tok, ExecContext& ctx,
             ForwardScratch& s);

}  // namespace mx
