// The scale searches of ggml's reference quantizers (no importance matrix), shared by the
// K-quant and IQ4_NL quantizers. Each follows ggml step for step in float, so the bytes
// written match llama-quantize's for the same input.
#pragma once

#include <cmath>
#include <cstdint>

namespace mx {

// Round to nearest, ties to even, as ggml's nearest_int. Magnitudes beyond its range
// (2^22) only come from degenerate scales; they are clamped so the cast stays defined.
inline int nearest(float v) {
  constexpr float kLimit = 4194303.0f;
  return static_cast<int>(std::nearbyint(std::fmax(-kLimit, std::fmin(kLimit, v))));
}

// The element of x[0..n) with the largest magnitude, sign kept (the first of equals).
float largest_magnitude(int n, const float* x);

// Asymmetric fit of x[0..n) (n <= 32) to scale * L + min, L in [0, nmax], min <= 0: start
// from the full range, then try nstep + 1 slightly different ranges and keep the one with
// the least weighted error (squared, or absolute with `absolute_error`). Returns the
// scale; *neg_min receives -min (>= 0).
float fit_scale_and_min(int n, int nmax, const float* x, const float* weights, uint8_t* L,
                        float* neg_min, float rmin, float rdelta, int nstep, bool absolute_error);

// Symmetric fit of x[0..n) to scale * (L - nmax), L in [0, 2 nmax), weighting each
// element by x^2: the element of largest magnitude maps to -nmax, then 18 nearby scales
// are tried and the best least-squares one kept.
float fit_symmetric_scale(int n, int nmax, const float* x, int8_t* L);

// The same model fitted by coordinate descent (Q3_K): from the largest element's scale,
// move single elements to the level that most improves the least-squares fit, up to five
// sweeps.
float fit_symmetric_scale_by_descent(int n, int nmax, const float* x, int8_t* L);

// Index of the value of the sorted grid val[0..n) nearest to x (ties to the lower one).
int nearest_grid_index(int n, const int8_t* val, float x);

}  // namespace mx
