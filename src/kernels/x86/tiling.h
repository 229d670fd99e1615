// Register-tile plumbing shared by the avx2_* / avx512_* files. Everything here has
// internal linkage on purpose: each ISA file gets its own copy compiled with its own
// flags, so the linker can never merge an AVX-512 instantiation into the AVX2 path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

namespace mx::x86 {
namespace {  // NOLINT(google-build-namespaces): per-TU copies, see above

// One register tile: y[t * y_stride + r] for its R rows x T tokens, over the whole row.
using TileFn = void (*)(int64_t n, const uint8_t* w, size_t w_stride, const uint8_t* x,
                        size_t x_stride, float* y, size_t y_stride);

template <int MaxR, int MaxT>
struct TileTable {
  TileFn fn[MaxR][MaxT];  // fn[r - 1][t - 1]: the tile of r rows x t tokens
};

// Instantiates Tile<r, t>::run for every r <= MaxR, t <= MaxT, so edges of the matrix
// use exact smaller tiles instead of masking.
template <template <int, int> class Tile, int MaxR, int MaxT>
constexpr TileTable<MaxR, MaxT> make_tile_table() {
  TileTable<MaxR, MaxT> table{};
  [&]<int... Is>(std::integer_sequence<int, Is...>) {
    ((table.fn[Is / MaxT][Is % MaxT] = &Tile<Is / MaxT + 1, Is % MaxT + 1>::run), ...);
  }(std::make_integer_sequence<int, MaxR * MaxT>{});
  return table;
}

// Covers n_rows x n_tok with tiles. Rows outer: a tile's weight rows stay in L1 while
// every token tile passes over them.
template <int MaxR, int MaxT>
void run_tiles(const TileTable<MaxR, MaxT>& table, int64_t n, const void* w, size_t w_stride,
               int64_t n_rows, const void* x, size_t x_stride, int64_t n_tok, float* y,
               size_t y_stride) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xb = static_cast<const uint8_t*>(x);
  for (int64_t r0 = 0; r0 < n_rows; r0 += MaxR) {
    const int64_t nr = n_rows - r0 < MaxR ? n_rows - r0 : MaxR;
    for (int64_t t0 = 0; t0 < n_tok; t0 += MaxT) {
      const int64_t nt = n_tok - t0 < MaxT ? n_tok - t0 : MaxT;
      table.fn[nr - 1][nt - 1](n, wb + r0 * w_stride, w_stride, xb + t0 * x_stride, x_stride,
                               y + t0 * y_stride + r0, y_stride);
    }
  }
}

}  // namespace
}  // namespace mx::x86
