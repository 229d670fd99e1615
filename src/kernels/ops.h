// Element-wise and row operations of the forward pass on f32 activations.
// These are a small share of the work next to the matrix products; they are written
// so the compiler vectorises them, and follow the reference engine's arithmetic
// (double accumulation in norms and softmax, float rope angles built by repeated products).
#pragma once

#include <cstdint>

namespace mx::ops {

// y = x / sqrt(mean(x^2) + eps) * w   (w may be null: no scaling)
void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps);

enum class RopeStyle { kNorm, kNeox };  // pairs (2i, 2i+1) or (i, i + n_rot/2)

// Rotates the first n_rot dims of each of n_heads vectors of length head_dim, in place.
void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t n_rot, int32_t pos,
          float freq_base, RopeStyle style);

// In place: x = softmax(x) over n values.
void softmax(float* x, int64_t n);

// out[i] = silu(gate[i]) * up[i]
void silu_mul(const float* gate, const float* up, float* out, int64_t n);

// out[i] = gelu_tanh(gate[i]) * up[i], with GELU rounded through F16 as the reference's
// lookup table does (its input and output are F16 values), so results follow it closely.
void gelu_mul(const float* gate, const float* up, float* out, int64_t n);

// x = cap * tanh(x / cap), in place (Gemma's logit soft-capping).
void softcap(float* x, int64_t n, float cap);

void scale(float* x, int64_t n, float s);  // x *= s

void add_inplace(float* y, const float* x, int64_t n);  // y += x


}  // namespace mx::ops
