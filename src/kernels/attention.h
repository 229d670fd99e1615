// Attention of a group of query heads that share one key/value head (grouped-query
// attention) over a run of cached positions: out_h = softmax(scale · q_h·K) · V.
// Grouping the heads lets each key and value be read once for all of them. The forward
// pass calls one of these per (row, kv head); the causal / sliding-window range is the
// caller's choice of `k`, `v` and `n_keys`.
#pragma once

#include <cstdint>

namespace mx {

struct AttentionArgs {
  int64_t n_q = 1;  // query heads in the group
  int64_t head_dim_k = 0, head_dim_v = 0;
  const float* q = nullptr;  // query h at q + h * head_dim_k
  const float* k = nullptr;  // key j at k + j * k_stride
  const float* v = nullptr;  // value j at v + j * v_stride
  int64_t k_stride = 0, v_stride = 0;  // floats between consecutive positions
  int64_t n_keys = 0;        // >= 1
  float scale = 1.0f;
  float softcap = 0.0f;      // > 0: scores become softcap · tanh(score / softcap) (Gemma 2)
  float* out = nullptr;      // output h at out + h * head_dim_v
  float* scratch = nullptr;  // attention_scratch_floats(n_q, n_keys) floats
};

using AttendFn = void (*)(const AttentionArgs& args);

// Floats of scratch any attend function may use.
inline int64_t attention_scratch_floats(int64_t n_q, int64_t n_keys) { return n_q * (n_keys + 64); }

// The reference: every score, then an exact two-pass softmax per head, then the sum of values.
void attend_reference(const AttentionArgs& args);

}  // namespace mx
