// Software prefetch of weight streams for the one-token products: the hardware prefetcher
// alone left them latency-bound (README, Zen 5 section). Internal linkage: each ISA file
// gets its own copy.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace mx::x86 {
namespace {  // NOLINT(google-build-namespaces): per-TU copies

// Asks for every cache line of the kBytes at p + ahead. Near the end of a matrix that lies
// past its buffer, where a prefetch is harmless but pointer arithmetic would be undefined,
// so the address is formed as an integer.
template <size_t kBytes>
[[gnu::always_inline]] inline void prefetch_ahead(const uint8_t* p, size_t ahead) {
  const uintptr_t at = reinterpret_cast<uintptr_t>(p) + ahead;
#pragma GCC unroll 80
  for (size_t off = 0; off < kBytes; off += 64) _mm_prefetch(reinterpret_cast<const char*>(at + off), _MM_HINT_T0);
}

}  // namespace
}  // namespace mx::x86
