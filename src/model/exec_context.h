// Everything a forward pass needs besides the model and the cache: the thread pool,
// the kernel table chosen for this CPU, and scratch buffers sized once.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/kernel_table.h"
#include "kernels/matmul.h"
#include "model/config.h"

namespace mx {

// Mixture-of-experts buffers (empty for dense models). A "slot" is one (token, chosen
// expert) pair; slots are ordered by expert, so each expert's tokens are adjacent rows.
struct ExpertScratch {
  std::vector<float> router;      // [max_batch × n_expert] router logits
  std::vector<int32_t> slot;      // [max_batch × n_expert_used] slot of each token's j-th choice
  std::vector<float> weight;      // [max_batch × n_expert_used] mixing weight of that choice
  std::vector<int32_t> first;     // [n_expert + 1] first slot of each expert
  std::vector<int32_t> cursor;    // [n_expert] next free slot of each expert while routing
  std::vector<float> x;           // [max_batch · n_expert_used × n_embd] slot inputs
  std::vector<float> y;           // [max_batch · n_expert_used × n_embd] slot outputs
  std::vector<WeightView> views;  // this layer's expert slices, 3 per expert used (capacity kept)
  std::vector<MatmulTarget> targets;
};

// One piece of attention work: a (row, kv head) task over all of its keys, or over one
// part of them when a few long rows are split so every thread has work.
struct AttentionItem {
  int64_t task, first, n_keys;
  int64_t part;  // -1: the whole run, written straight to the output; else its slot in parts
};

// Activation buffers for a batch of up to max_batch rows (row-major, one row per token).
struct ForwardScratch {
  ForwardScratch(const ModelConfig& c, int64_t max_batch, int64_t n_ctx, int n_threads);

  int64_t max_batch;
  std::vector<float> x;        // [max_batch × n_embd] residual stream
  std::vector<float> h;        // [max_batch × n_embd] normed input of a block
  std::vector<float> q;        // [max_batch × q_width]
  std::vector<float> k;        // [max_batch × k_width]
  std::vector<float> v;        // [max_batch × v_width]
  std::vector<float> attn;     // [max_batch × n_head · head_dim_v]
  std::vector<float> proj;     // [max_batch × n_embd] output of attn_output / ffn_down
  std::vector<float> gate;     // [max_batch × ffn_width]
  std::vector<float> up;       // [max_batch × ffn_width]
  std::vector<float> scores;   // [n_threads × attention_scratch_floats] one row per thread
  std::vector<float> parts;    // outputs of split attention runs before they are merged
  std::vector<AttentionItem> attention_items;  // this layer's attention work

  QuantizedRows xq;            // activations converted for the next matmul
  ExpertScratch experts;
};

class ExecContext {
 public:
  ExecContext(int n_threads, KernelTable kernels);

  ThreadPool& pool() { return pool_; }
  const KernelTable& kernels() const { return kernels_; }
  int n_threads() const { return pool_.size(); }

  // Sizes the scratch for a model; call once before forward passes (cheap if unchanged).
  // Each model shape keeps its own scratch, so a draft model and its target can take
  // turns on one context (and one thread pool) without reallocating.
  ForwardScratch& scratch_for(const ModelConfig& config, int64_t max_batch, int64_t n_ctx);

 private:
  struct SizedScratch {
    std::array<int64_t, 8> shape{};  // the model dims the scratch was sized for
    int64_t n_ctx = 0;
    std::unique_ptr<ForwardScratch> scratch;
  };

  ThreadPool pool_;
  KernelTable kernels_;
  std::vector<SizedScratch> scratches_;
};

}  // namespace mx
