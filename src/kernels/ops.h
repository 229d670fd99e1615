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

// How one layer's rotation angles are made (the reference's rope parameters). Pair i of a
// token at position p turns by theta_i = p · base^(-2i/n_rot) / freq_factors[i], scaled by
// freq_scale; YaRN blends scaled and unscaled angles along a ramp over the pairs.
struct RopeParams {
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;              // 1 / the scaling factor (linear, YaRN)
  const float* freq_factors = nullptr;  // [n_rot / 2] per-pair divisors (Llama 3, Phi-3 long-rope)
  float ext_factor = 0.0f;              // YaRN: how much of the ramp's unscaled angles to keep
  float attn_factor = 1.0f;             // cos and sin are multiplied by it
  float corr_low = 0.0f, corr_high = 0.0f;  // YaRN ramp: pairs up to low unscaled, from high scaled
};

// YaRN's ramp ends: the pairs whose wavelength fits into n_ctx_orig beta_fast times (low)
// and beta_slow times (high), clamped to [0, n_rot - 1].
void yarn_corr_dims(int64_t n_rot, int64_t n_ctx_orig, float freq_base, float beta_fast, float beta_slow,
                    float* low, float* high);

// cos_sin[2i], cos_sin[2i+1] = the scaled cos and sin of pair i's angle at `pos`.
void rope_angles(int32_t pos, int64_t n_rot, const RopeParams& p, float* cos_sin);

// Rotates the first n_rot dims of each of n_heads vectors of length head_dim, in place.
void rope_apply(float* x, int64_t n_heads, int64_t head_dim, int64_t n_rot, const float* cos_sin,
                RopeStyle style);

// Angles and rotation in one call (a buffer of n_rot floats on the stack; n_rot <= 1024).
void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t n_rot, int32_t pos, const RopeParams& p,
          RopeStyle style);

// In place: x = softmax(x) over n values.
void softmax(float* x, int64_t n);

// out[i] = silu(gate[i]) * up[i]
void silu_mul(const float* gate, const float* up, float* out, int64_t n);

// out[i] = gelu_tanh(gate[i]) * up[i], with GELU rounded through F16 as the reference's
// lookup table does (its input and output are F16 values), so results follow it closely.
void gelu_mul(const float* gate, const float* up, float* out, int64_t n);

// gpt-oss's clamped SwiGLU: x = min(gate, 7), y = clamp(up, -7, 7),
// out = x · sigmoid(1.702·x) · (y + 1), in the reference's float order.
void swiglu_oai_mul(const float* gate, const float* up, float* out, int64_t n);

// x = cap * tanh(x / cap), in place (Gemma's logit soft-capping).
void softcap(float* x, int64_t n, float cap);

void scale(float* x, int64_t n, float s);  // x *= s

void add_inplace(float* y, const float* x, int64_t n);  // y += x


}  // namespace mx::ops
