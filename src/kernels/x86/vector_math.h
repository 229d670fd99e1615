// Float math written once over a vector type V and instantiated by the avx2_* and
// avx512_* files with their own flags (internal linkage, as attention_blocks.h):
// e^x, and the gated activation SiLU(gate) · up.
//
// V provides (beyond what attention_blocks.h uses): min, round (to nearest), fnmadd, div,
// and scale_pow2(p, n) = p · 2^n for an integral float n that keeps the result normal.
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>

namespace mx::x86 {
namespace {  // NOLINT(google-build-namespaces): per-TU copies, see above

// e^x: 2^n · p(r) with |r| <= ln2/2 and a degree-6 polynomial; relative error about 2e-7.
// Inputs are clamped to [-87, 88], where float e^x is finite and normal.
template <class V>
typename V::Reg vexp(typename V::Reg x) {
  x = V::min(V::max(x, V::set1(-87.0f)), V::set1(88.0f));
  const auto n = V::round(V::mul(x, V::set1(1.44269504088896341f)));
  auto r = V::fnmadd(n, V::set1(0.693145751953125f), x);  // ln 2 in two parts: r stays exact
  r = V::fnmadd(n, V::set1(1.428606765330187045e-06f), r);
  auto p = V::set1(1.0f / 720);
  for (const float c : {1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f, 1.0f, 1.0f}) p = V::fmadd(p, r, V::set1(c));
  return V::scale_pow2(p, n);
}

// out = gate / (1 + e^-gate) · up. The last n % width elements go through the same vector
// code in a padded register, so an element's value never depends on where it falls in
// the call: a token's activations are the same whatever else shares its batch.
template <class V>
void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
  const auto one = V::set1(1.0f);
  auto silu_mul_reg = [&](const float* g_at, const float* u_at, float* o_at) {
    const auto g = V::load(g_at);
    const auto sig = V::div(one, V::add(one, vexp<V>(V::sub(V::zero(), g))));
    V::store(o_at, V::mul(V::mul(g, sig), V::load(u_at)));
  };
  int64_t i = 0;
  for (; i + V::kWidth <= n; i += V::kWidth) silu_mul_reg(gate + i, up + i, out + i);
  if (i == n) return;
  float g[V::kWidth] = {}, u[V::kWidth] = {}, o[V::kWidth];
  for (int64_t j = i; j < n; ++j) g[j - i] = gate[j], u[j - i] = up[j];
  silu_mul_reg(g, u, o);
  for (int64_t j = i; j < n; ++j) out[j] = o[j - i];
}

}  // namespace
}  // namespace mx::x86
