// The scalar reference table: plain loops that follow the reference engine's arithmetic.
// Float types accumulate in double (the most accurate ground truth); quantized types take
// an exact integer sum per block, then accumulate sumi * (d_w * d_x) in float, as ggml does.
#include <cstring>
#include <type_traits>

#include "kernels/kernel_table.h"
#include "kernels/ops.h"
#include "quant/fp16.h"
#include "quant/quant.h"

namespace mx {
namespace {

void vec_dot_f32(int64_t n, const void* w, const void* x, float* out) {
  const auto* a = static_cast<const float*>(w);
  const auto* b = static_cast<const float*>(x);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(a[i]) * b[i];
  *out = static_cast<float>(sum);
}

// Products of two halves (or two bfloat16) are exact in float.
template <float (*ToF32)(uint16_t)>
void vec_dot_half(int64_t n, const void* w, const void* x, float* out) {
  const auto* a = static_cast<const uint16_t*>(w);
  const auto* b = static_cast<const uint16_t*>(x);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += ToF32(a[i]) * ToF32(b[i]);
  *out = static_cast<float>(sum);
}

void vec_dot_q8_0(int64_t n, const void* w, const void* x, float* out) {
  const auto* a = static_cast<const BlockQ8_0*>(w);
  const auto* b = static_cast<const BlockQ8_0*>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK8_0; ++i) {
    int sumi = 0;
    for (int j = 0; j < kQK8_0; ++j) sumi += a[i].qs[j] * b[i].qs[j];
    sum += static_cast<float>(sumi) * (fp16_to_fp32(a[i].d) * fp16_to_fp32(b[i].d));
  }
  *out = sum;
}

// Blocks of 32 with 4 or 5 bits: unpacked to one int per element (with the offset of the
// symmetric types applied), then dotted exactly per block.
int high_bit(const uint8_t qh[4], int j) {
  uint32_t bits;
  std::memcpy(&bits, qh, sizeof(bits));
  return static_cast<int>((bits >> j) & 1) << 4;
}
template <class Block>
void unpack32(const Block& b, int q[kQK4_0]) {
  for (int j = 0; j < kQK4_0 / 2; ++j) {
    q[j] = b.qs[j] & 0x0f;
    q[j + kQK4_0 / 2] = b.qs[j] >> 4;
    if constexpr (requires { b.qh; }) {
      q[j] |= high_bit(b.qh, j);
      q[j + kQK4_0 / 2] |= high_bit(b.qh, j + kQK4_0 / 2);
    }
    if constexpr (std::is_same_v<Block, BlockQ4_0>) q[j] -= 8, q[j + kQK4_0 / 2] -= 8;
    if constexpr (std::is_same_v<Block, BlockQ5_0>) q[j] -= 16, q[j + kQK4_0 / 2] -= 16;
  }
}

template <class Block>
int block_dot(const Block& a, const int8_t* x) {
  int q[kQK4_0];
  unpack32(a, q);
  int sumi = 0;
  for (int j = 0; j < kQK4_0; ++j) sumi += q[j] * x[j];
  return sumi;
}

// Q4_0 / Q5_0 against Q8_0: x = d * q.
template <class Block>
void vec_dot_q32(int64_t n, const void* w, const void* x, float* out) {
  const auto* a = static_cast<const Block*>(w);
  const auto* b = static_cast<const BlockQ8_0*>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK4_0; ++i)
    sum += static_cast<float>(block_dot(a[i], b[i].qs)) * (fp16_to_fp32(a[i].d) * fp16_to_fp32(b[i].d));
  *out = sum;
}

// Q4_1 / Q5_1 against Q8_1: x = d * q + m, and the activation block carries d * sum(q).
template <class Block>
void vec_dot_q32_min(int64_t n, const void* w, const void* x, float* out) {
  const auto* a = static_cast<const Block*>(w);
  const auto* b = static_cast<const BlockQ8_1*>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK4_0; ++i)
    sum += (fp16_to_fp32(a[i].d) * fp16_to_fp32(b[i].d)) * static_cast<float>(block_dot(a[i], b[i].qs)) +
           fp16_to_fp32(a[i].m) * fp16_to_fp32(b[i].s);
  *out = sum;
}

// K-quants against Q8_K: each super-block gives exact integer sums (quants times the
// sub-block scales, and mins times the activation group sums), scaled once in float.

// Unpacks a super-block's quants to one int per element, in element order.
void unpack_q4_K(const BlockQ4_K& b, int q[kQK_K]) {
  for (int p = 0; p < 4; ++p)
    for (int l = 0; l < 32; ++l) {
      q[64 * p + l] = b.qs[32 * p + l] & 0x0f;
      q[64 * p + 32 + l] = b.qs[32 * p + l] >> 4;
    }
}

void unpack_q5_K(const BlockQ5_K& b, int q[kQK_K]) {
  for (int p = 0; p < 4; ++p)
    for (int l = 0; l < 32; ++l) {
      q[64 * p + l] = (b.qs[32 * p + l] & 0x0f) | (((b.qh[l] >> (2 * p)) & 1) << 4);
      q[64 * p + 32 + l] = (b.qs[32 * p + l] >> 4) | (((b.qh[l] >> (2 * p + 1)) & 1) << 4);
    }
}

void unpack_q6_K(const BlockQ6_K& b, int q[kQK_K]) {
  for (int h = 0; h < 2; ++h)
    for (int l = 0; l < 32; ++l)
      for (int r = 0; r < 4; ++r) {
        const uint8_t lo = b.ql[64 * h + l + 32 * (r & 1)];
        q[128 * h + 32 * r + l] = ((r < 2 ? lo & 0x0f : lo >> 4) | (((b.qh[32 * h + l] >> (2 * r)) & 3) << 4)) - 32;
      }
}

// Q4_K and Q5_K: x = d * sc * q - dmin * m per sub-block of 32.
template <class Block, void (*Unpack)(const Block&, int*)>
void vec_dot_q45_K(int64_t n, const void* w, const void* x, float* out) {
  const auto* a = static_cast<const Block*>(w);
  const auto* b = static_cast<const BlockQ8_K*>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int q[kQK_K];
    Unpack(a[i], q);
    int isum = 0, msum = 0;
    for (int s = 0; s < 8; ++s) {
      uint8_t sc, m;
      unpack_k_scale_min(a[i].scales, s, &sc, &m);
      int dot = 0;
      for (int l = 0; l < 32; ++l) dot += q[32 * s + l] * b[i].qs[32 * s + l];
      isum += sc * dot;
      msum += m * (b[i].bsums[2 * s] + b[i].bsums[2 * s + 1]);
    }
    sum += fp16_to_fp32(a[i].d) * b[i].d * static_cast<float>(isum) -
           fp16_to_fp32(a[i].dmin) * b[i].d * static_cast<float>(msum);
  }
  *out = sum;
}

// Q6_K: x = d * scales[g] * (q - 32) per group of 16.
void vec_dot_q6_K(int64_t n, const void* w, const void* x, float* out) {
  const auto* a = static_cast<const BlockQ6_K*>(w);
  const auto* b = static_cast<const BlockQ8_K*>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int q[kQK_K];
    unpack_q6_K(a[i], q);
    int isum = 0;
    for (int g = 0; g < 16; ++g) {
      int dot = 0;
      for (int l = 0; l < 16; ++l) dot += q[16 * g + l] * b[i].qs[16 * g + l];
      isum += a[i].scales[g] * dot;
    }
    sum += fp16_to_fp32(a[i].d) * b[i].d * static_cast<float>(isum);
  }
  *out = sum;
}

// Q2_K: x = d * sc * q - dmin * m per sub-block of 16, q of 2 bits.
void unpack_q2_K(const BlockQ2_K& b, int q[kQK_K]) {
  for (int e = 0; e < kQK_K; ++e) q[e] = (b.qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
}

void vec_dot_q2_K(int64_t n, const void* w, const void* x, float* out) {
  const auto* a = static_cast<const BlockQ2_K*>(w);
  const auto* b = static_cast<const BlockQ8_K*>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int q[kQK_K];
    unpack_q2_K(a[i], q);
    int isum = 0, msum = 0;
    for (int s = 0; s < 16; ++s) {
      int dot = 0;
      for (int l = 0; l < 16; ++l) dot += q[16 * s + l] * b[i].qs[16 * s + l];
      isum += (a[i].scales[s] & 0x0f) * dot;
      msum += (a[i].scales[s] >> 4) * b[i].bsums[s];
    }
    sum += fp16_to_fp32(a[i].d) * b[i].d * static_cast<float>(isum) -
           fp16_to_fp32(a[i].dmin) * b[i].d * static_cast<float>(msum);
  }
  *out = sum;
}

// Q3_K: x = d * sc * (q - 4) per sub-block of 16, q of 3 bits, sc signed 6-bit.
void vec_dot_q3_K(int64_t n, const void* w, const void* x, float* out) {
  const auto* a = static_cast<const BlockQ3_K*>(w);
  const auto* b = static_cast<const BlockQ8_K*>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    BlockQ2_K low{};
    std::memcpy(low.qs, a[i].qs, sizeof(low.qs));
    int q[kQK_K];
    unpack_q2_K(low, q);
    int isum = 0;
    for (int s = 0; s < 16; ++s) {
      int dot = 0;
      for (int l = 0; l < 16; ++l) {
        const int e = 16 * s + l;
        dot += (q[e] + ((a[i].hmask[e % 32] >> (e / 32)) & 1 ? 0 : -4)) * b[i].qs[e];
      }
      isum += q3_k_scale(a[i].scales, s) * dot;
    }
    sum += fp16_to_fp32(a[i].d) * b[i].d * static_cast<float>(isum);
  }
  *out = sum;
}

// 4-bit indices into a grid of int8 values, packed as in Q4_0, against Q8_0: x = s * grid[q]
// with s the block's scale. IQ4_NL: fp16 d and a non-linear grid; MXFP4: the E8M0 half
// scale 2^(e - 128) and twice the E2M1 values (ggml's arithmetic: sumi * (s * d_x)).
float iq4_nl_scale(const BlockIQ4_NL& b) { return fp16_to_fp32(b.d); }
float mxfp4_scale(const BlockMXFP4& b) { return kE8M0Half.v[b.e]; }

template <class Block, const int8_t* Grid, float (*Scale)(const Block&)>
void vec_dot_grid4(int64_t n, const void* w, const void* x, float* out) {
  const auto* a = static_cast<const Block*>(w);
  const auto* b = static_cast<const BlockQ8_0*>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK4_0; ++i) {
    int sumi = 0;
    for (int j = 0; j < kQK4_0 / 2; ++j)
      sumi += Grid[a[i].qs[j] & 0x0f] * b[i].qs[j] + Grid[a[i].qs[j] >> 4] * b[i].qs[j + kQK4_0 / 2];
    sum += static_cast<float>(sumi) * (Scale(a[i]) * fp16_to_fp32(b[i].d));
  }
  *out = sum;
}
constexpr auto vec_dot_iq4_nl = vec_dot_grid4<BlockIQ4_NL, kIQ4NLValues, iq4_nl_scale>;
constexpr auto vec_dot_mxfp4 = vec_dot_grid4<BlockMXFP4, kMXFP4Values, mxfp4_scale>;

// The reference gemm is the definition: one vec_dot per (token, row).
template <void (*VecDot)(int64_t, const void*, const void*, float*)>
void gemm_by_rows(int64_t n, const void* w, size_t w_stride, int64_t n_rows, const void* x,
                  size_t x_stride, int64_t n_tok, float* y, size_t y_stride) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xb = static_cast<const uint8_t*>(x);
  for (int64_t t = 0; t < n_tok; ++t)
    for (int64_t r = 0; r < n_rows; ++r)
      VecDot(n, wb + r * w_stride, xb + t * x_stride, &y[t * y_stride + r]);
}

template <GgmlType T>
void to_float(const void* src, float* dst, int64_t n) { dequantize_row(T, src, dst, n); }
template <GgmlType T>
void from_float(const float* src, void* dst, int64_t n) { quantize_row(T, src, dst, n); }

template <GgmlType Type, GgmlType VecDotType, void (*VecDot)(int64_t, const void*, const void*, float*)>
TypeKernels make() {
  TypeKernels k;
  k.vec_dot_type = VecDotType;
  k.to_float = &to_float<Type>;
  k.from_float = &from_float<VecDotType>;  // activations are converted to vec_dot_type
  k.vec_dot = VecDot;
  k.gemm = &gemm_by_rows<VecDot>;
  return k;
}

}  // namespace

KernelTable reference_kernels() {
  using enum GgmlType;
  KernelTable t;
  t[kF32] = make<kF32, kF32, vec_dot_f32>();
  t[kF16] = make<kF16, kF16, vec_dot_half<fp16_to_fp32>>();
  t[kBF16] = make<kBF16, kBF16, vec_dot_half<bf16_to_fp32>>();
  t[kQ8_0] = make<kQ8_0, kQ8_0, vec_dot_q8_0>();
  t[kQ4_0] = make<kQ4_0, kQ8_0, vec_dot_q32<BlockQ4_0>>();
  t[kQ5_0] = make<kQ5_0, kQ8_0, vec_dot_q32<BlockQ5_0>>();
  t[kQ4_1] = make<kQ4_1, kQ8_1, vec_dot_q32_min<BlockQ4_1>>();
  t[kQ5_1] = make<kQ5_1, kQ8_1, vec_dot_q32_min<BlockQ5_1>>();
  t[kQ4_K] = make<kQ4_K, kQ8_K, vec_dot_q45_K<BlockQ4_K, unpack_q4_K>>();
  t[kQ5_K] = make<kQ5_K, kQ8_K, vec_dot_q45_K<BlockQ5_K, unpack_q5_K>>();
  t[kQ6_K] = make<kQ6_K, kQ8_K, vec_dot_q6_K>();
  t[kQ2_K] = make<kQ2_K, kQ8_K, vec_dot_q2_K>();
  t[kQ3_K] = make<kQ3_K, kQ8_K, vec_dot_q3_K>();
  t[kIQ4_NL] = make<kIQ4_NL, kQ8_0, vec_dot_iq4_nl>();
  t[kMXFP4] = make<kMXFP4, kQ8_0, vec_dot_mxfp4>();
  // Q8_K and Q8_1 are only activation formats: conversions, no dot of their own.
  t[kQ8_K].vec_dot_type = kQ8_K;
  t[kQ8_K].to_float = &to_float<kQ8_K>;
  t[kQ8_K].from_float = &from_float<kQ8_K>;
  t[kQ8_1].vec_dot_type = kQ8_1;
  t[kQ8_1].to_float = &to_float<kQ8_1>;
  t[kQ8_1].from_float = &from_float<kQ8_1>;
  t.attend = &attend_reference;
  t.silu_mul = &ops::silu_mul;
  t.isa = "scalar";
  return t;
}

}  // namespace mx
