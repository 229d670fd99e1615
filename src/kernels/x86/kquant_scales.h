// Scale unpacking of the K-quants (Q3_K, Q4_K, Q5_K), shared by the avx2_* / avx512_* K-quant files with
// internal linkage (each ISA file compiles its own copy; see tiling.h).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace mx::x86 {
namespace {  // NOLINT(google-build-namespaces): per-TU copies

// The 8 six-bit scales and mins of a Q4_K / Q5_K super-block, from its 12 packed bytes
// read as three 32-bit words A, B, C: sub-blocks 0..3 keep theirs in the low 6 bits of
// A (scales) and B (mins); 4..7 take the nibbles of C and the top 2 bits of A and B.
struct KScales {
  uint8_t sc[8];
  uint8_t m[8];
};

inline KScales unpack_k_scales(const uint8_t* packed) {
  uint32_t a, b, c;
  std::memcpy(&a, packed, 4);
  std::memcpy(&b, packed + 4, 4);
  std::memcpy(&c, packed + 8, 4);
  const uint32_t words[4] = {
      a & 0x3f3f3f3fu,
      (c & 0x0f0f0f0fu) | (((a >> 6) & 0x03030303u) << 4),
      b & 0x3f3f3f3fu,
      ((c >> 4) & 0x0f0f0f0fu) | (((b >> 6) & 0x03030303u) << 4),
  };
  KScales k;
  std::memcpy(k.sc, words, 8);
  std::memcpy(k.m, words + 2, 8);
  return k;
}

// The 16 six-bit scales of a Q3_K super-block (0..63, still offset by 32), from its 12
// packed bytes read as words A, B, C: sub-blocks 0..3 take the low nibbles of A, 4..7 of
// B, 8..11 the high nibbles of A, 12..15 of B; the top 2 bits are pairs of bits of C.
inline __m128i load_q3_k_scales(const uint8_t* packed) {
  uint32_t a, b, c;
  std::memcpy(&a, packed, 4);
  std::memcpy(&b, packed + 4, 4);
  std::memcpy(&c, packed + 8, 4);
  constexpr uint32_t kLow = 0x0f0f0f0fu, kTop = 0x03030303u;
  return _mm_setr_epi32(static_cast<int>((a & kLow) | ((c & kTop) << 4)),
                        static_cast<int>((b & kLow) | (((c >> 2) & kTop) << 4)),
                        static_cast<int>(((a >> 4) & kLow) | (((c >> 4) & kTop) << 4)),
                        static_cast<int>(((b >> 4) & kLow) | (((c >> 6) & kTop) << 4)));
}

}  // namespace
}  // namespace mx::x86
