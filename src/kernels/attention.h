// Attention of a group of query heads that share one key/value head (grouped-query
// attention) over a run of cached positions: out_h = softmax(scale · q_h·K) · V.
// Grouping the heads lets each key and value be read once for all of them. The forward
// pass calls one of these per (row, kv head, block of keys); the causal / sliding-window
// range is the caller's choice of `first` and `n_keys`. Keys and values live in pages of
// `page_tokens` positions (the KV cache's), found through a page table, stored in the
// cache's types (F32, F16, BF16, Q8_0, Q4_0: kernels read them as they are).
#pragma once

#include <cstdint>

#include "quant/types.h"

namespace mx {

// Converts n elements (a whole number of blocks) of a stored type to floats.
using RowToFloatFn = void (*)(const void* src, float* dst, int64_t n);

// The cached vectors of one kv head, keys or values: position p's vector is at
// data + pages[p / page_tokens] * page_stride + (p % page_tokens) * stride (bytes).
struct CachedRows {
  const uint8_t* data = nullptr;
  GgmlType type = GgmlType::kF32;
  int64_t stride = 0;       // bytes between consecutive positions of a page
  int64_t page_stride = 0;  // bytes between consecutive pages
  // The fast conversion of `type` (the kernel table's to_float) for kernels that convert
  // a block of vectors before using them; the reference converts with its own.
  RowToFloatFn to_float = nullptr;
};

struct AttentionArgs {
  int64_t n_q = 1;  // query heads in the group
  int64_t head_dim_k = 0, head_dim_v = 0;
  const float* q = nullptr;  // query h at q + h * head_dim_k
  CachedRows k, v;
  const int32_t* pages = nullptr;
  int64_t page_tokens = 0;
  int64_t first = 0;         // position of the first key
  int64_t n_keys = 0;        // >= 1: keys first .. first + n_keys - 1
  float scale = 1.0f;
  float softcap = 0.0f;      // > 0: scores become softcap · tanh(score / softcap) (Gemma 2)
  // Attention sinks (gpt-oss), or null: query h's softmax has one more logit, sinks[h]
  // (unscaled), that takes probability but adds no value. Ignored when `partial` is set.
  const float* sinks = nullptr;
  // Null, or the keys are one part of a longer run (a block of a split): the output is
  // this part's softmax-weighted values, and partial[2h], partial[2h + 1] get head h's
  // largest score m and its sum of exp(score - m), from which merge_attention_parts()
  // combines the parts.
  float* partial = nullptr;
  float* out = nullptr;      // output h at out + h * head_dim_v
  float* scratch = nullptr;  // attention_scratch_floats(n_q, n_keys, head dims) floats
};

// The bytes of key / value j (position first + j) of a call.
inline const uint8_t* attention_row(const CachedRows& r, const AttentionArgs& a, int64_t j) {
  const int64_t p = a.first + j;
  return r.data + a.pages[p / a.page_tokens] * r.page_stride + (p % a.page_tokens) * r.stride;
}

using AttendFn = void (*)(const AttentionArgs& args);

// Floats of scratch any attend function may use: scores, and a block of 32 keys and
// values converted to floats.
inline int64_t attention_scratch_floats(int64_t n_q, int64_t n_keys, int64_t head_dim_k, int64_t head_dim_v) {
  return n_q * (n_keys + 64) + 32 * (head_dim_k + head_dim_v);
}

// The reference: every score, then an exact two-pass softmax per head, then the sum of
// values, in double precision over keys and values converted by dequantize_row.
void attend_reference(const AttentionArgs& args);

// Combines the parts of a split run (each called with `partial`) into the attention over
// the whole run: out_h = sum_c w_c out_c,h / (sum_c w_c + sink), w_c = l_c · exp(m_c - M).
// part_out[c] and part_ml[c] are part c's `out` and `partial`.
void merge_attention_parts(int64_t n_q, int64_t head_dim_v, int64_t n_parts, const float* const* part_out,
                           const float* const* part_ml, const float* sinks, float* out);

}  // namespace mx
