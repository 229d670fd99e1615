// Block layouts, byte for byte as GGUF stores them (ggml-common.h). Half-precision
// scales are kept as raw uint16_t bits; convert them with fp16_to_fp32.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace mx {

constexpr int kQK8_0 = 32;
constexpr int kQK4_0 = 32;
constexpr int kQK_K = 256;  // super-block of the K-quants
constexpr int kKScaleBytes = 12;  // packed 6-bit scales and mins of Q4_K / Q5_K

// Q8_0: x[i] = d * qs[i].
struct BlockQ8_0 {
  uint16_t d;  // fp16
  int8_t qs[kQK8_0];
};

// Q4_0: x[i] = d * (q[i] - 8); byte j holds element j in its low nibble and
// element j + 16 in its high nibble.
struct BlockQ4_0 {
  uint16_t d;  // fp16
  uint8_t qs[kQK4_0 / 2];
};

// Q4_1: x[i] = d * q[i] + m, q of 4 bits packed as in Q4_0.
struct BlockQ4_1 {
  uint16_t d;  // fp16
  uint16_t m;  // fp16
  uint8_t qs[kQK4_0 / 2];
};

// Q5_0: x[i] = d * (q[i] - 16); the low 4 bits packed as in Q4_0, bit 4 of element i is
// bit i of the little-endian word qh.
struct BlockQ5_0 {
  uint16_t d;  // fp16
  uint8_t qh[4];
  uint8_t qs[kQK4_0 / 2];
};

// Q5_1: x[i] = d * q[i] + m, q of 5 bits as in Q5_0.
struct BlockQ5_1 {
  uint16_t d;  // fp16
  uint16_t m;  // fp16
  uint8_t qh[4];
  uint8_t qs[kQK4_0 / 2];
};

// Q8_1: Q8_0 plus s = d * sum(qs), the activation format of Q4_1 / Q5_1.
struct BlockQ8_1 {
  uint16_t d;  // fp16
  uint16_t s;  // fp16
  int8_t qs[kQK8_0];
};

// Q8_K: the activation format the K-quants dot against.
struct BlockQ8_K {
  float d;
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];  // sum of each group of 16 qs
};
// Where its fields start, for kernels that address Q8_K rows as bytes.
inline constexpr size_t kQ8KQsAt = offsetof(BlockQ8_K, qs), kQ8KBsumsAt = offsetof(BlockQ8_K, bsums);

// Q4_K: 8 sub-blocks of 32, x = d * sc * q - dmin * m with 6-bit sc, m.
struct BlockQ4_K {
  uint16_t d;     // fp16 scale of the scales
  uint16_t dmin;  // fp16 scale of the mins
  uint8_t scales[kKScaleBytes];
  uint8_t qs[kQK_K / 2];  // per 64 elements: 32 bytes, low nibbles first 32, high next 32
};

// Q5_K: Q4_K plus a fifth bit per element in qh.
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};

// Q6_K: 16 sub-blocks of 16, x = d * scales[s] * (q - 32), q of 6 bits (4 in ql, 2 in qh).
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  uint16_t d;
};

// Q2_K: 16 sub-blocks of 16, x = d * (scales[s] & 15) * q - dmin * (scales[s] >> 4), q of
// 2 bits. Each 32 bytes of qs hold 128 elements: bits 2k..2k+1 of byte l are element
// 32k + l of that 128.
struct BlockQ2_K {
  uint8_t scales[kQK_K / 16];
  uint8_t qs[kQK_K / 4];
  uint16_t d;     // fp16 scale of the scales
  uint16_t dmin;  // fp16 scale of the mins
};

// Q3_K: 16 sub-blocks of 16, x = d * (sc - 32) * (q - 4), q of 3 bits: the low 2 packed as
// in Q2_K, the third is bit k of hmask[l] for element 32k + l; sc are 6-bit, packed in 12
// bytes (low nibbles of sub-blocks 0..15 in bytes 0..7, top 2 bits in bytes 8..11).
struct BlockQ3_K {
  uint8_t hmask[kQK_K / 8];
  uint8_t qs[kQK_K / 4];
  uint8_t scales[kKScaleBytes];
  uint16_t d;
};

// IQ4_NL: x[i] = d * kIQ4NLValues[q[i]], 4-bit indices packed as in Q4_0.
struct BlockIQ4_NL {
  uint16_t d;  // fp16
  uint8_t qs[kQK4_0 / 2];
};
// The 16 values of IQ4_NL's non-linear grid (ggml's kvalues_iq4nl).
inline constexpr int8_t kIQ4NLValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                            1,    13,   25,  38,  53,  69,  89,  113};

// MXFP4 (OCP microscaling): x[i] = 2^(e - 127) * E2M1(q[i]), 4-bit indices packed as in
// Q4_0. E2M1 is sign, 2 exponent bits, 1 mantissa bit (0, 0.5, 1, 1.5, 2, 3, 4, 6); ggml
// stores those values doubled as int8 (kMXFP4Values) and halves the scale to match, so
// x[i] = kE8M0Half[e] * kMXFP4Values[q[i]] and the integer dot works as for IQ4_NL.
constexpr int kQK_MXFP4 = 32;
struct BlockMXFP4 {
  uint8_t e;  // E8M0: a bare biased exponent
  uint8_t qs[kQK_MXFP4 / 2];
};
// ggml's kvalues_mxfp4: twice the E2M1 values; index 8 is -0.
inline constexpr int8_t kMXFP4Values[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};
// 2^(e - 128), half the E8M0 scale, as ggml's GGML_E8M0_TO_FP32_HALF: e = 0 and 1 are float
// subnormals, e = 255 (NaN in the OCP format) reads as 2^127. A table rather than an inline
// function, so the ISA-flagged kernel files can use it without emitting code of their own.
inline constexpr auto kE8M0Half = [] {
  struct Table {
    float v[256];
  } t{};
  for (int e = 0; e < 256; ++e) {
    const uint32_t bits = e < 2 ? 0x00200000u << e : static_cast<uint32_t>(e - 1) << 23;
    t.v[e] = std::bit_cast<float>(bits);
  }
  return t;
}();

static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockMXFP4) == 17);
static_assert(sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockIQ4_NL) == 18);
static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ8_K) == 292);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);

}  // namespace mx
