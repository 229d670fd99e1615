// Attention for one group of query heads (kernels/attention.h), written once over a
// vector type V and instantiated by avx2_attention.cpp and avx512_attention.cpp with
// their own flags (internal linkage, as tiling.h). Keys go in blocks of 32 with an online
// softmax: a running max and sum per head, earlier output rescaled when the max grows,
// so each key and value is loaded once for all heads of the group and nothing scales
// with the context length but the loop count. Head dims that are not a multiple of the
// vector width, or groups of more than 16 heads, use the reference.
//
// Cached vectors are read in their stored type. Values of F32, F16 and BF16 go straight
// into registers (a Rows policy per type): each is loaded once per call. Keys are loaded
// once per head of the group, so a block of 32 keys not in F32 is converted to floats in
// scratch first (F16/BF16 by V, block types such as Q8_0 and Q4_0 by the type's
// to_float where V has no loader for them), and so are values of block types.
//
// V provides: Reg, kWidth; zero, set1, load, load_f16, load_bf16, store, add, sub, mul,
// max, fmadd; reduce_add, reduce_max, sums_of; exp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include <immintrin.h>

#include "kernels/attention.h"
#include "quant/blocks.h"

namespace mx::x86 {
namespace {  // NOLINT(google-build-namespaces): per-TU copies, see above

// Element i.. of a cached vector as a register, per stored type.
template <class V>
struct F32Rows {
  static typename V::Reg load(const uint8_t* row, int64_t i) { return V::load(reinterpret_cast<const float*>(row) + i); }
};
template <class V>
struct F16Rows {
  static typename V::Reg load(const uint8_t* row, int64_t i) { return V::load_f16(reinterpret_cast<const uint16_t*>(row) + i); }
};
template <class V>
struct Bf16Rows {
  static typename V::Reg load(const uint8_t* row, int64_t i) { return V::load_bf16(reinterpret_cast<const uint16_t*>(row) + i); }
};

// Q8_0 and Q4_0 rows: blocks of 32 with an F16 scale; element i.. of the row (i a multiple
// of the width, which divides 32) from its block.
template <class V>
struct Q8Rows {
  static typename V::Reg load(const uint8_t* row, int64_t i) {
    const auto* b = reinterpret_cast<const BlockQ8_0*>(row) + i / 32;
    return V::mul(V::load_i8(b->qs + i % 32), V::set1(_cvtsh_ss(b->d)));
  }
};
template <class V>
struct Q4Rows {  // element e of a block: nibble e / 16 of byte e % 16
  static typename V::Reg load(const uint8_t* row, int64_t i) {
    const auto* b = reinterpret_cast<const BlockQ4_0*>(row) + i / 32;
    const int64_t e = i % 32;
    return V::mul(V::load_nibbles(b->qs + e % 16, static_cast<int>(e / 16) * 4), V::set1(_cvtsh_ss(b->d)));
  }
};

// Converts the vectors rows[0 .. nb) of `dim` floats into tile and points rows at them.
using ConvertBlockFn = void (*)(const CachedRows& r, const uint8_t* rows[], int nb, int64_t dim, float* tile);

template <class V, class Src>
void convert_block(const CachedRows&, const uint8_t* rows[], int nb, int64_t dim, float* tile) {
  for (int j = 0; j < nb; ++j) {
    float* out = tile + j * dim;
    for (int64_t i = 0; i < dim; i += V::kWidth) V::store(out + i, Src::load(rows[j], i));
    rows[j] = reinterpret_cast<const uint8_t*>(out);
  }
}

void convert_block_by_table(const CachedRows& r, const uint8_t* rows[], int nb, int64_t dim, float* tile) {
  for (int j = 0; j < nb; ++j) {
    r.to_float(rows[j], tile + j * dim, dim);
    rows[j] = reinterpret_cast<const uint8_t*>(tile + j * dim);
  }
}

// outs[h][0 .. W) += sum over keys j < nb of probs[h][j] · values[j][offset .. offset + W),
// for H heads.
template <class V, class VR, int H>
void add_values(const float* const probs[], float* const outs[], const uint8_t* const values[], int nb,
                int64_t offset) {
  using R = typename V::Reg;
  R acc[H][2];
#pragma GCC unroll 8
  for (int h = 0; h < H; ++h) {
    acc[h][0] = V::load(outs[h]);
    acc[h][1] = V::zero();
  }
  int j = 0;
  for (; j + 2 <= nb; j += 2)
#pragma GCC unroll 2
    for (int u = 0; u < 2; ++u) {
      const R v = VR::load(values[j + u], offset);
#pragma GCC unroll 8
      for (int h = 0; h < H; ++h) acc[h][u] = V::fmadd(V::set1(probs[h][j + u]), v, acc[h][u]);
    }
  if (j < nb) {
    const R v = VR::load(values[j], offset);
#pragma GCC unroll 8
    for (int h = 0; h < H; ++h) acc[h][0] = V::fmadd(V::set1(probs[h][j]), v, acc[h][0]);
  }
#pragma GCC unroll 8
  for (int h = 0; h < H; ++h) V::store(outs[h], V::add(acc[h][0], acc[h][1]));
}

constexpr int kBlock = 32;  // keys per online-softmax step
constexpr int kMaxHeads = 16;

// The vectors of keys (or values) j0 .. j0 + nb - 1 of a call, and past nb the last one
// again; converted into `tile` (kBlock vectors of `dim` floats) by `convert` unless null.
void block_rows(const CachedRows& r, const AttentionArgs& a, int64_t j0, int nb, int64_t dim, ConvertBlockFn convert,
                float* tile, const uint8_t* rows[kBlock]) {
  for (int j = 0; j < kBlock; ++j) rows[j] = attention_row(r, a, j0 + std::min(j, nb - 1));
  if (!convert) return;
  convert(r, rows, nb, dim, tile);
  for (int j = nb; j < kBlock; ++j) rows[j] = rows[nb - 1];
}

// KR / VR read keys / values as they are after `convert_k` / `convert_v` (null: as stored).
template <class V, class KR, class VR>
void attend_blocks(const AttentionArgs& a, ConvertBlockFn convert_k, ConvertBlockFn convert_v) {
  constexpr int W = V::kWidth;
  using R = typename V::Reg;
  const int64_t nq = a.n_q, dk = a.head_dim_k / W, dv = a.head_dim_v / W;
  alignas(64) float s[kMaxHeads][kBlock];
  float* k_tile = a.scratch + nq * (a.n_keys + 64);  // the scratch past the reference's scores
  float* v_tile = k_tile + kBlock * a.head_dim_k;
  float m[kMaxHeads], l[kMaxHeads];
  for (int64_t h = 0; h < nq; ++h) {
    m[h] = -INFINITY;
    l[h] = 0.0f;
    for (int64_t c = 0; c < dv; ++c) V::store(a.out + h * a.head_dim_v + W * c, V::zero());
  }
  for (int64_t j0 = 0; j0 < a.n_keys; j0 += kBlock) {
    const int nb = static_cast<int>(std::min<int64_t>(kBlock, a.n_keys - j0));
    // Past the last key the pointers repeat the last one: their scores are computed and
    // then replaced by -inf, so the loops below need no branches.
    const uint8_t* keys[kBlock];
    const uint8_t* values[kBlock];
    block_rows(a.k, a, j0, nb, a.head_dim_k, convert_k, k_tile, keys);
    block_rows(a.v, a, j0, nb, a.head_dim_v, convert_v, v_tile, values);
    // Scores of the block, every head, W keys at a time: W independent FMA chains over
    // the head dims give registers of partial sums, and one sums_of turns them into a
    // register of W scores (a horizontal sum per score, and one chain per key, were
    // latency-bound).
    const R scale = V::set1(a.scale);
    for (int jw = 0; jw < nb; jw += W)
      for (int64_t h = 0; h < nq; ++h) {
        const float* q = a.q + h * a.head_dim_k;
        R dots[W];
        R qc = V::load(q);
#pragma GCC unroll 16
        for (int j = 0; j < W; ++j) dots[j] = V::mul(qc, KR::load(keys[jw + j], 0));
        for (int64_t c = 1; c < dk; ++c) {
          qc = V::load(q + W * c);
#pragma GCC unroll 16
          for (int j = 0; j < W; ++j) dots[j] = V::fmadd(qc, KR::load(keys[jw + j], W * c), dots[j]);
        }
        V::store(s[h] + jw, V::mul(V::sums_of(dots), scale));
      }
    // Online softmax: new max, rescale what came before, probabilities of this block.
    for (int64_t h = 0; h < nq; ++h) {
      if (a.softcap > 0)
        for (int j = 0; j < nb; ++j) s[h][j] = a.softcap * std::tanh(s[h][j] / a.softcap);
      for (int j = nb; j < kBlock; ++j) s[h][j] = -INFINITY;
      R block_max = V::load(s[h]);
      for (int i = W; i < kBlock; i += W) block_max = V::max(block_max, V::load(s[h] + i));
      const float new_max = std::max(m[h], V::reduce_max(block_max));
      const float correction = std::exp(m[h] - new_max);  // 0 on the first block
      for (int i = 0; i < kBlock; i += W) V::store(s[h] + i, V::exp(V::sub(V::load(s[h] + i), V::set1(new_max))));
      for (int j = nb; j < kBlock; ++j) s[h][j] = 0.0f;  // exp clamps its input: -inf gave a tiny value, not 0
      R sum = V::load(s[h]);
      for (int i = W; i < kBlock; i += W) sum = V::add(sum, V::load(s[h] + i));
      l[h] = l[h] * correction + V::reduce_add(sum);
      m[h] = new_max;
      if (correction != 1.0f) {
        const R corr = V::set1(correction);
        float* out = a.out + h * a.head_dim_v;
        for (int64_t c = 0; c < dv; ++c) V::store(out + W * c, V::mul(V::load(out + W * c), corr));
      }
    }
    // out_h += sum_j p_hj · v_j, W output dims at a time, up to 8 heads at once: each
    // value register loaded serves every head, and two accumulators per head over even
    // and odd keys keep enough FMAs in flight (one chain per head and one load per FMA
    // made this loop half of the kernel's time).
    for (int64_t c = 0; c < dv; ++c)
      for (int64_t h0 = 0; h0 < nq; h0 += 8) {
        const float* probs[8];
        float* outs[8];
        const int hn = static_cast<int>(std::min<int64_t>(8, nq - h0));
        for (int h = 0; h < hn; ++h) {
          probs[h] = s[h0 + h];
          outs[h] = a.out + (h0 + h) * a.head_dim_v + W * c;
        }
        switch (hn) {
          case 1: add_values<V, VR, 1>(probs, outs, values, nb, W * c); break;
          case 2: add_values<V, VR, 2>(probs, outs, values, nb, W * c); break;
          case 3: add_values<V, VR, 3>(probs, outs, values, nb, W * c); break;
          case 4: add_values<V, VR, 4>(probs, outs, values, nb, W * c); break;
          case 5: add_values<V, VR, 5>(probs, outs, values, nb, W * c); break;
          case 6: add_values<V, VR, 6>(probs, outs, values, nb, W * c); break;
          case 7: add_values<V, VR, 7>(probs, outs, values, nb, W * c); break;
          default: add_values<V, VR, 8>(probs, outs, values, nb, W * c); break;
        }
      }
  }
  for (int64_t h = 0; h < nq; ++h) {
    float inv_sum = 1.0f / l[h];
    if (a.partial) {
      a.partial[2 * h] = m[h];
      a.partial[2 * h + 1] = l[h];
    } else if (a.sinks) {  // the sink's share of the denominator; it adds nothing to the output
      const float max = std::max(m[h], a.sinks[h]);
      const float correction = std::exp(m[h] - max);
      inv_sum = correction / (l[h] * correction + std::exp(a.sinks[h] - max));
    }
    const R inv = V::set1(inv_sum);
    float* out = a.out + h * a.head_dim_v;
    for (int64_t c = 0; c < dv; ++c) V::store(out + W * c, V::mul(V::load(out + W * c), inv));
  }
}

// The block converter of keys or values of `type` read as F32 after it (F32 itself: none).
template <class V>
ConvertBlockFn converter_for(GgmlType type) {
  if (type == GgmlType::kF32) return nullptr;
  if (type == GgmlType::kF16) return &convert_block<V, F16Rows<V>>;
  if (type == GgmlType::kBF16) return &convert_block<V, Bf16Rows<V>>;
  if (type == GgmlType::kQ8_0) return &convert_block<V, Q8Rows<V>>;
  if (type == GgmlType::kQ4_0) return &convert_block<V, Q4Rows<V>>;
  return &convert_block_by_table;
}

// Attention over the call's stored types with V, or false where V's width does not divide
// the head dims (or the group is too large).
template <class V>
bool attend_blocks_with(const AttentionArgs& a) {
  if (a.head_dim_k % V::kWidth != 0 || a.head_dim_v % V::kWidth != 0 || a.n_q > kMaxHeads) return false;
  const ConvertBlockFn convert_k = converter_for<V>(a.k.type);
  if (a.v.type == GgmlType::kF16)
    attend_blocks<V, F32Rows<V>, F16Rows<V>>(a, convert_k, nullptr);
  else if (a.v.type == GgmlType::kBF16)
    attend_blocks<V, F32Rows<V>, Bf16Rows<V>>(a, convert_k, nullptr);
  else
    attend_blocks<V, F32Rows<V>, F32Rows<V>>(a, convert_k, converter_for<V>(a.v.type));
  return true;
}

}  // namespace
}  // namespace mx::x86
