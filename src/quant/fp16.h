// Scalar IEEE half and bfloat16 conversions, usable anywhere (header only, portable).
//
// F16 matches the x86 F16C instructions bit for bit (round to nearest even, subnormals
// kept, NaN quieted with its payload's top bits kept), so a SIMD path that uses
// vcvtps2ph / vcvtph2ps agrees with this reference on every input.
// BF16 follows ggml: round to nearest even, subnormals kept, NaN forced quiet.
//
// Do not include this from the avx2_* / avx512_* files: an inline function compiled with
// wider ISA flags may be the copy the linker keeps for the whole program; those files use
// the F16C intrinsics instead.
#pragma once

#include <bit>
#include <cstdint>

namespace mx {

inline float fp16_to_fp32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) {  // inf, or NaN made quiet (bit 22) as the hardware does
    return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13) | (mant ? 0x400000u : 0u));
  }
  if (exp == 0) {  // zero or subnormal: mant * 2^-24 is exact in float
    const float v = static_cast<float>(mant) * 0x1p-24f;
    return std::bit_cast<float>(sign | std::bit_cast<uint32_t>(v));
  }
  return std::bit_cast<float>(sign | ((exp + (127 - 15)) << 23) | (mant << 13));
}

inline uint16_t fp32_to_fp16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t a = x & 0x7fffffffu;
  if (a > 0x7f800000u) return sign | 0x7e00u | ((a >> 13) & 0x3ffu);  // NaN, quiet
  if (a >= 0x477ff000u) return sign | 0x7c00u;  // >= 65520 (halfway past 65504) rounds to inf
  if (a < 0x38800000u) {  // below 2^-14: a half subnormal (units of 2^-24) or zero
    const uint32_t exp = a >> 23;
    if (exp < 102) return sign;  // below 2^-25: rounds to zero (2^-25 itself ties to 0)
    const uint32_t mant = (a & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - exp;  // 14..24
    uint32_t h = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) ++h;
    return sign | static_cast<uint16_t>(h);
  }
  // Normal: rebias the exponent, keep 10 mantissa bits, round to nearest even on the
  // 13 dropped ones; a carry correctly moves into the exponent.
  uint32_t h = (a - ((127u - 15u) << 23)) >> 13;
  const uint32_t rem = a & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) ++h;
  return sign | static_cast<uint16_t>(h);
}

inline float bf16_to_fp32(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

inline uint16_t fp32_to_bf16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

}  // namespace mx
