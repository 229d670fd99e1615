// Attention of a group of query heads that share one key/value head (grouped-query
// attention) over a run of cached positions: out_h = softmax(scale · q_h·K) · V.
// Grouping the heads lets each key and value be read once for all of them. The forward
// pass calls one of these per (row, kv head); the causal / sliding-window range is the
// caller's choice of `first` and `n_keys`. Keys and values live in pages of
// `page_tokens` positions (the KV cache's), found through a page table.
#pragma once

#include <cstdint>

namespace mx {

struct AttentionArgs {
  int64_t n_q = 1;  // query heads in the group
  int64_t head_dim_k = 0, head_dim_v = 0;
  const float* q = nullptr;  // query h at q + h * head_dim_k
  // Key at position p: k + pages[p / page_tokens] * k_page_stride + (p % page_tokens) * k_stride;
  // values alike. One contiguous run is pages = {0} with page_tokens >= first + n_keys.
  const float* k = nullptr;
  const float* v = nullptr;
  int64_t k_stride = 0, v_stride = 0;            // floats between consecutive positions of a page
  const int32_t* pages = nullptr;
  int64_t page_tokens = 0;
  int64_t k_page_stride = 0, v_page_stride = 0;  // floats between consecutive pages
  int64_t first = 0;         // position of the first key
  int64_t n_keys = 0;        // >= 1: keys first .. first + n_keys - 1
  float scale = 1.0f;
  float softcap = 0.0f;      // > 0: scores become softcap · tanh(score / softcap) (Gemma 2)
  // Attention sinks (gpt-oss), or null: query h's softmax has one more logit, sinks[h]
  // (unscaled), that takes probability but adds no value.
  const float* sinks = nullptr;
  float* out = nullptr;      // output h at out + h * head_dim_v
  float* scratch = nullptr;  // attention_scratch_floats(n_q, n_keys) floats
};

// Key / value j (position first + j) of a call.
inline const float* attention_key(const AttentionArgs& a, int64_t j) {
  const int64_t p = a.first + j;
  return a.k + a.pages[p / a.page_tokens] * a.k_page_stride + (p % a.page_tokens) * a.k_stride;
}
inline const float* attention_value(const AttentionArgs& a, int64_t j) {
  const int64_t p = a.first + j;
  return a.v + a.pages[p / a.page_tokens] * a.v_page_stride + (p % a.page_tokens) * a.v_stride;
}

using AttendFn = void (*)(const AttentionArgs& args);

// Floats of scratch any attend function may use.
inline int64_t attention_scratch_floats(int64_t n_q, int64_t n_keys) { return n_q * (n_keys + 64); }

// The reference: every score, then an exact two-pass softmax per head, then the sum of values.
void attend_reference(const AttentionArgs& args);

}  // namespace mx
