// Every instruction-set path against the scalar reference: conversions bit for bit, dot
// products and gemm within a tolerance derived from the data, and bit for bit where the
// arithmetic is exact (integer block sums with unit scales).
#include <gtest/gtest.h>

#include <bit>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "kernels/kernel_table.h"
#include "kernels/isa_tables.h"
#include "quant/fp16.h"
#include "quant/quant.h"

namespace mx {
namespace {

using enum GgmlType;
constexpr GgmlType kTypes[] = {kF32, kF16, kBF16, kQ8_0, kQ4_0, kIQ4_NL, kMXFP4};

std::vector<float> gaussian(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Rows of `n` elements quantized to `type`, `stride` bytes apart, placed `misalign` bytes
// past an allocation boundary so no path can rely on alignment.
struct Rows {
  std::vector<uint8_t> buf;
  size_t misalign = 0, stride = 0;
  const uint8_t* row(int64_t i) const { return buf.data() + misalign + i * stride; }
  uint8_t* row(int64_t i) { return buf.data() + misalign + i * stride; }
  const uint8_t* data() const { return row(0); }
};

// Element alignment the reference needs (it reads floats / uint16 scales through pointers).
size_t elem_align(GgmlType t) { return t == kF32 || t == kQ8_K ? 4 : 2; }

Rows make_rows(GgmlType type, int64_t n, int64_t count, uint32_t seed, size_t pad_elems = 3) {
  Rows r;
  r.misalign = elem_align(type) == 2 ? 6 : 4;  // not 8- or 16-aligned
  r.stride = row_size(type, n) + pad_elems * elem_align(type);
  r.buf.assign(r.misalign + r.stride * count + 64, 0xcd);
  auto x = gaussian(static_cast<size_t>(n * count), seed);
  for (int64_t i = 0; i < count; ++i) quantize_row(type, x.data() + i * n, r.row(i), n);
  return r;
}

// sum |w_i x_i| over the dequantized values: the scale of any rounding in a dot.
double abs_dot(GgmlType wt, const uint8_t* w, GgmlType xt, const uint8_t* x, int64_t n) {
  std::vector<float> a(n), b(n);
  dequantize_row(wt, w, a.data(), n);
  dequantize_row(xt, x, b.data(), n);
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += std::fabs(double(a[i]) * b[i]);
  return s;
}

// Float summation in another order: a few ulps of the sum of magnitudes.
double tolerance(double abs_sum) { return 8.0 * FLT_EPSILON * abs_sum + 1e-30; }

int64_t block_of(GgmlType t) { return traits(t).block_size; }

class Kernels : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!cpu_has(GetParam())) GTEST_SKIP() << "CPU lacks " << GetParam();
    kt_ = table_for(GetParam());
    ref_ = reference_kernels();
  }
  KernelTable kt_, ref_;
};

TEST_P(Kernels, TableIsComplete) {
  for (GgmlType t : kTypes) {
    const TypeKernels& k = kt_[t];
    EXPECT_TRUE(k.vec_dot && k.gemm && k.to_float && k.from_float) << type_name(t);
    EXPECT_EQ(k.vec_dot_type, ref_[t].vec_dot_type) << type_name(t);
  }
  EXPECT_EQ(ref_[kQ4_0].vec_dot_type, kQ8_0);
  EXPECT_EQ(ref_[kF16].vec_dot_type, kF16);
  EXPECT_EQ(ref_[kBF16].vec_dot_type, kBF16);
  if (GetParam() == "scalar") EXPECT_STREQ(kt_.isa, "scalar");
  if (GetParam() == "avx2") EXPECT_STREQ(kt_.isa, "avx2");
  if (GetParam() == "avx512") EXPECT_STREQ(kt_.isa, "avx512");
}

TEST_P(Kernels, VecDotMatchesReference) {
  for (GgmlType t : kTypes) {
    const GgmlType xt = ref_[t].vec_dot_type;
    std::vector<int64_t> sizes = {32, 64, 96, 256, 4096, 32 * 7, 32 * 13, 32 * 129};
    if (block_of(t) == 1)
      for (int64_t n : {1, 7, 15, 16, 17, 31, 33, 63, 65, 100, 1000, 4099}) sizes.push_back(n);
    for (int64_t n : sizes) {
      const Rows w = make_rows(t, n, 1, 100 + n), x = make_rows(xt, n, 1, 200 + n);
      float got = NAN, want = NAN;
      kt_[t].vec_dot(n, w.data(), x.data(), &got);
      ref_[t].vec_dot(n, w.data(), x.data(), &want);
      const double tol = tolerance(abs_dot(t, w.data(), xt, x.data(), n));
      ASSERT_NEAR(got, want, tol) << type_name(t) << " n=" << n;
    }
  }
}

TEST_P(Kernels, GemmMatchesReferenceOnAllSmallShapes) {
  for (GgmlType t : kTypes) {
    const GgmlType xt = ref_[t].vec_dot_type;
    for (int64_t n : {int64_t{96}, block_of(t) == 1 ? int64_t{37} : int64_t{256}}) {
      const Rows w = make_rows(t, n, 9, 300 + n), x = make_rows(xt, n, 9, 400 + n);
      for (int64_t nr = 1; nr <= 9; ++nr)
        for (int64_t nt = 1; nt <= 9; ++nt) {
          const size_t ys = static_cast<size_t>(nr + 3);  // padded output rows
          std::vector<float> got(nt * ys, 12345.0f), want(nt * ys, 12345.0f);
          kt_[t].gemm(n, w.data(), w.stride, nr, x.data(), x.stride, nt, got.data(), ys);
          ref_[t].gemm(n, w.data(), w.stride, nr, x.data(), x.stride, nt, want.data(), ys);
          for (int64_t tk = 0; tk < nt; ++tk)
            for (int64_t r = 0; r < static_cast<int64_t>(ys); ++r) {
              const float g = got[tk * ys + r], e = want[tk * ys + r];
              if (r >= nr) {
                ASSERT_EQ(g, 12345.0f) << "gemm wrote into padding";
                continue;
              }
              const double tol = tolerance(abs_dot(t, w.row(r), xt, x.row(tk), n));
              ASSERT_NEAR(g, e, tol) << type_name(t) << " n=" << n << " rows=" << nr
                                     << " toks=" << nt << " r=" << r << " t=" << tk;
            }
        }
    }
  }
}

TEST_P(Kernels, GemmMatchesReferenceOnLargerShapes) {
  struct Shape { int64_t n, rows, toks; };
  // Past one 16-row group and one 8-token tile, and rows long enough to need several
  // passes over the row: 4160 elements = 130 blocks, 8800 = 275 blocks (for one token,
  // which runs blocks in lanes: more than 16 runs of 16 blocks, and a partial run).
  const Shape shapes[] = {{4160, 17, 9}, {256, 40, 20}, {512, 33, 17}, {4096, 16, 8}, {1024, 64, 1},
                          {8800, 5, 1},  {4160, 7, 2},  {4160, 19, 3}, {8800, 3, 4}};
  for (GgmlType t : kTypes) {
    const GgmlType xt = ref_[t].vec_dot_type;
    for (const Shape& s : shapes) {
      const Rows w = make_rows(t, s.n, s.rows, 500 + s.rows), x = make_rows(xt, s.n, s.toks, 600 + s.toks);
      const size_t ys = static_cast<size_t>(s.rows + 1);
      std::vector<float> got(s.toks * ys, 0.0f), want(s.toks * ys, 0.0f);
      kt_[t].gemm(s.n, w.data(), w.stride, s.rows, x.data(), x.stride, s.toks, got.data(), ys);
      ref_[t].gemm(s.n, w.data(), w.stride, s.rows, x.data(), x.stride, s.toks, want.data(), ys);
      for (int64_t tk = 0; tk < s.toks; ++tk)
        for (int64_t r = 0; r < s.rows; ++r) {
          const double tol = tolerance(abs_dot(t, w.row(r), xt, x.row(tk), s.n));
          ASSERT_NEAR(got[tk * ys + r], want[tk * ys + r], tol)
              << type_name(t) << " n=" << s.n << " r=" << r << " t=" << tk;
        }
    }
  }
}

// With every scale 1, a quantized dot is a sum of exact integers: any path must agree
// with the reference bit for bit. Weights include -128, which no quantizer emits but a
// file may hold.
TEST_P(Kernels, QuantizedDotsAreExactWithUnitScales) {
  std::mt19937 rng(7);
  for (GgmlType t : {kQ8_0, kQ4_0, kIQ4_NL, kMXFP4}) {
    const int64_t n = 1024, rows = 19, toks = 11;
    const size_t wsz = traits(t).type_size, ws = row_size(t, n) + 2, xs = row_size(kQ8_0, n) + 4;
    std::vector<uint8_t> w(ws * rows), x(xs * toks);
    for (auto& v : w) v = static_cast<uint8_t>(rng());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t b = 0; b < n / 32; ++b) {
        uint8_t* blk = w.data() + r * ws + b * wsz;
        if (t == kMXFP4) blk[0] = 128;  // 2^(128 - 128) = 1
        else blk[0] = 0x00, blk[1] = 0x3c;  // d = 1.0
        if (t == kQ8_0 && b % 3 == 0) blk[2 + b % 32] = 0x80;  // -128
      }
    for (int64_t tk = 0; tk < toks; ++tk)
      for (int64_t b = 0; b < n / 32; ++b) {
        uint8_t* blk = x.data() + tk * xs + b * 34;
        blk[0] = 0x00, blk[1] = 0x3c;
        for (int j = 0; j < 32; ++j) blk[2 + j] = static_cast<uint8_t>(static_cast<int>(rng() % 255) - 127);
      }
    std::vector<float> got(rows * toks), want(rows * toks);
    kt_[t].gemm(n, w.data(), ws, rows, x.data(), xs, toks, got.data(), rows);
    ref_[t].gemm(n, w.data(), ws, rows, x.data(), xs, toks, want.data(), rows);
    for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], want[i]) << type_name(t) << " " << i;
    float a, b;
    kt_[t].vec_dot(n, w.data(), x.data(), &a);
    ref_[t].vec_dot(n, w.data(), x.data(), &b);
    ASSERT_EQ(a, b) << type_name(t);
  }
}

TEST_P(Kernels, FromFloatIsBitExact) {
  for (GgmlType t : {kF32, kF16, kBF16, kQ8_0}) {
    std::vector<int64_t> sizes = {32, 64, 96, 256, 4096, 32 * 13};
    if (block_of(t) == 1)
      for (int64_t n = 1; n <= 40; ++n) sizes.push_back(n);
    for (int64_t n : sizes) {
      auto x = gaussian(n, 700 + n);
      for (int64_t i = 0; i < n; i += 5) x[i] *= 1e3f;  // ties and large values
      const size_t bytes = row_size(t, n);
      std::vector<uint8_t> got(bytes + 8, 0xab), want(bytes + 8, 0xab);
      kt_[t].from_float(x.data(), got.data(), n);
      ref_[t].from_float(x.data(), want.data(), n);
      ASSERT_EQ(got, want) << type_name(t) << " n=" << n;  // padding untouched too
    }
  }
  // Q4_0's activations are Q8_0.
  auto x = gaussian(256, 9);
  std::vector<uint8_t> a(row_size(kQ8_0, 256)), b(a.size());
  kt_[kQ4_0].from_float(x.data(), a.data(), 256);
  quantize_row_q8_0(x.data(), reinterpret_cast<BlockQ8_0*>(b.data()), 256);
  EXPECT_EQ(a, b);
}

// The F16 and BF16 conversions on special values and a sweep over float bit patterns:
// NaN payloads, infinities, subnormals, overflow, ties.
TEST_P(Kernels, HalfConversionsMatchScalarOnEveryBitPattern) {
  std::vector<float> x;
  for (uint64_t u = 0; u < (1ull << 32); u += 65521) x.push_back(std::bit_cast<float>(static_cast<uint32_t>(u)));
  for (uint32_t u : {0x7f800001u, 0x7fc00000u, 0xff802000u, 0x7fa00000u, 0x7f800000u, 0x477ff000u,
                     0x477fefffu, 0x33000000u, 0x33000001u, 0x387fc000u, 0x00000001u, 0x80000000u})
    x.push_back(std::bit_cast<float>(u));
  const int64_t n = static_cast<int64_t>(x.size());
  for (GgmlType t : {kF16, kBF16}) {
    std::vector<uint16_t> got(n), want(n);
    kt_[t].from_float(x.data(), got.data(), n);
    for (int64_t i = 0; i < n; ++i) want[i] = t == kF16 ? fp32_to_fp16(x[i]) : fp32_to_bf16(x[i]);
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(got[i], want[i]) << type_name(t) << " " << std::hex << std::bit_cast<uint32_t>(x[i]);
  }
}

TEST_P(Kernels, ToFloatIsBitExactOnEveryHalf) {
  std::vector<uint16_t> h(0x10000 + 5);
  for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint16_t>(i);
  const int64_t n = static_cast<int64_t>(h.size());
  for (GgmlType t : {kF16, kBF16}) {
    std::vector<float> got(n), want(n);
    kt_[t].to_float(h.data(), got.data(), n);
    ref_[t].to_float(h.data(), want.data(), n);
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(std::bit_cast<uint32_t>(got[i]), std::bit_cast<uint32_t>(want[i])) << type_name(t) << " " << i;
  }
  for (GgmlType t : {kQ8_0, kQ4_0}) {
    const Rows w = make_rows(t, 256, 1, 11);
    std::vector<float> got(256), want(256);
    kt_[t].to_float(w.data(), got.data(), 256);
    dequantize_row(t, w.data(), want.data(), 256);
    ASSERT_EQ(got, want);
  }
}

// Where a K-quant block keeps its fp16 d, and its dmin (the next 2 bytes) if it has one.
size_t kquant_d_at(GgmlType t) { return t == kQ6_K ? 208 : t == kQ2_K ? 80 : t == kQ3_K ? 108 : 0; }
bool kquant_has_dmin(GgmlType t) { return t == kQ2_K || t == kQ4_K || t == kQ5_K; }

// K-quant weights as random bytes (every quant and scale pattern, which a quantizer would
// not give) with sane fp16 scales.
Rows random_kquant_rows(GgmlType type, int64_t n, int64_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  Rows r;
  r.misalign = 6;
  r.stride = row_size(type, n) + 2;
  r.buf.resize(r.misalign + r.stride * count + 64);
  for (auto& v : r.buf) v = static_cast<uint8_t>(rng());
  const size_t bs = traits(type).type_size;
  std::uniform_real_distribution<float> scale(0.001f, 0.01f);
  for (int64_t i = 0; i < count; ++i)
    for (int64_t b = 0; b < n / 256; ++b) {
      uint8_t* blk = r.row(i) + b * bs;
      const uint16_t d = fp32_to_fp16(scale(rng)), dmin = fp32_to_fp16(scale(rng));
      std::memcpy(blk + kquant_d_at(type), &d, 2);
      if (kquant_has_dmin(type)) std::memcpy(blk + kquant_d_at(type) + 2, &dmin, 2);
    }
  return r;
}

TEST_P(Kernels, KQuantDotsMatchReference) {
  for (GgmlType t : {kQ2_K, kQ3_K, kQ4_K, kQ5_K, kQ6_K}) {
    ASSERT_EQ(kt_[t].vec_dot_type, kQ8_K);
    for (int64_t n : {256, 512, 256 * 17}) {
      const int64_t rows = 5, toks = 7;  // a tile of 4 tokens and one of 3 where gemm tiles them
      const Rows w = random_kquant_rows(t, n, rows, 800 + n);
      const Rows x = make_rows(kQ8_K, n, toks, 900 + n);
      std::vector<float> got(rows * toks), want(rows * toks);
      kt_[t].gemm(n, w.data(), w.stride, rows, x.data(), x.stride, toks, got.data(), rows);
      ref_[t].gemm(n, w.data(), w.stride, rows, x.data(), x.stride, toks, want.data(), rows);
      for (int64_t tk = 0; tk < toks; ++tk)
        for (int64_t r = 0; r < rows; ++r) {
          const double tol = tolerance(abs_dot(t, w.row(r), kQ8_K, x.row(tk), n));
          ASSERT_NEAR(got[tk * rows + r], want[tk * rows + r], tol) << type_name(t) << " n=" << n;
          float v;
          kt_[t].vec_dot(n, w.row(r), x.row(tk), &v);
          ASSERT_NEAR(v, want[tk * rows + r], tol) << type_name(t) << " n=" << n;
          ASSERT_EQ(v, got[tk * rows + r]) << type_name(t) << " n=" << n << ": a token's result depends on its tile";
          // The reference itself agrees with the dot of the dequantized rows.
          std::vector<float> a(n), b(n);
          dequantize_row(t, w.row(r), a.data(), n);
          dequantize_row(kQ8_K, x.row(tk), b.data(), n);
          double dot = 0;
          for (int64_t i = 0; i < n; ++i) dot += double(a[i]) * b[i];
          ASSERT_NEAR(want[tk * rows + r], dot, tol) << type_name(t) << " n=" << n;
        }
    }
  }
  // Activations for K-quants go through the Q8_K slot.
  auto x = gaussian(512, 10);
  std::vector<uint8_t> a(row_size(kQ8_K, 512)), b(a.size());
  kt_[kQ8_K].from_float(x.data(), a.data(), 512);
  quantize_row_q8_K(x.data(), reinterpret_cast<BlockQ8_K*>(b.data()), 512);
  EXPECT_EQ(a, b);
}

// Unit scales make K-quant dots exact integers too (d = dmin = 1, Q8_K d = 1).
TEST_P(Kernels, KQuantDotsAreExactWithUnitScales) {
  for (GgmlType t : {kQ2_K, kQ3_K, kQ4_K, kQ5_K, kQ6_K}) {
    const int64_t n = 1024;
    Rows w = random_kquant_rows(t, n, 2, 11);
    const size_t bs = traits(t).type_size;
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t b = 0; b < n / 256; ++b) {
        uint8_t* blk = w.row(i) + b * bs;
        const uint16_t one = 0x3c00;
        std::memcpy(blk + kquant_d_at(t), &one, 2);
        if (kquant_has_dmin(t)) std::memcpy(blk + kquant_d_at(t) + 2, &one, 2);
      }
    Rows x = make_rows(kQ8_K, n, 1, 12);
    for (int64_t b = 0; b < n / 256; ++b) {
      const float one = 1.0f;
      std::memcpy(x.row(0) + b * 292, &one, 4);
    }
    for (int64_t r = 0; r < 2; ++r) {
      float got, want;
      kt_[t].vec_dot(n, w.row(r), x.data(), &got);
      ref_[t].vec_dot(n, w.row(r), x.data(), &want);
      ASSERT_EQ(got, want) << type_name(t);
    }
  }
}

// MXFP4 rows of random codes with chosen exponents. Tiny: the extremes e = 0 and 1 (scales
// 2^-128, 2^-127, float subnormals) make up every block of the even rows, so a wrong
// subnormal scale shows; the odd rows mix them with ordinary ones. Huge: e = 253, 254
// (2^125, 2^126) beside ordinary exponents, against activations of the smallest fp16
// scale (2^-24) so that no sum overflows.
struct Mxfp4Case {
  Rows w, x;
};
Mxfp4Case mxfp4_case(int64_t n, int64_t rows, int64_t toks, uint32_t seed, bool huge) {
  std::mt19937 rng(seed);
  Mxfp4Case c{make_rows(kMXFP4, n, rows, seed), make_rows(kQ8_0, n, toks, seed + 1)};
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t b = 0; b < n / 32; ++b) {
      uint8_t* blk = c.w.row(r) + b * 17;
      const auto extreme = static_cast<uint8_t>(huge ? 253 + (b + r) % 2 : (b + r) % 2);
      const auto ordinary = static_cast<uint8_t>(huge ? 100 + rng() % 60 : 2 + rng() % 160);
      blk[0] = !huge && r % 2 == 0 ? extreme : (b + r) % 3 != 0 ? extreme : ordinary;
      for (int j = 1; j < 17; ++j) blk[j] = static_cast<uint8_t>(rng());
    }
  if (huge)
    for (int64_t t = 0; t < toks; ++t)
      for (int64_t b = 0; b < n / 32; ++b) {
        const uint16_t smallest = 0x0001;
        std::memcpy(c.x.row(t) + b * 34, &smallest, 2);
      }
  return c;
}

// sum |w_i x_i| from the codes and exponents, in double (dequantizing to float would
// overflow at e = 254).
double mxfp4_abs_dot(const uint8_t* w, const uint8_t* x, int64_t n) {
  double s = 0;
  for (int64_t b = 0; b < n / 32; ++b) {
    const uint8_t* wb = w + b * 17;
    const uint8_t* xb = x + b * 34;
    uint16_t dx;
    std::memcpy(&dx, xb, 2);
    int64_t isum = 0;
    for (int j = 0; j < 32; ++j) {
      const int code = j < 16 ? wb[1 + j] & 0x0f : wb[1 + j - 16] >> 4;
      isum += std::abs(kMXFP4Values[code] * static_cast<int8_t>(xb[2 + j]));
    }
    s += static_cast<double>(isum) * std::ldexp(1.0, wb[0] - 128) * fp16_to_fp32(dx);
  }
  return s;
}

TEST_P(Kernels, Mxfp4ExtremeExponentsMatchReference) {
  ASSERT_EQ(kt_[kMXFP4].vec_dot_type, kQ8_0);
  // Odd block counts: a partial run of 16 blocks, and a tail of rows past 16.
  const int64_t rows = 19;
  for (bool huge : {false, true})
    for (int64_t n : {int64_t{32}, int64_t{32 * 7}, int64_t{32 * 21}, int64_t{32 * 130}}) {
      const Mxfp4Case c = mxfp4_case(n, rows, 10, static_cast<uint32_t>(1000 + n), huge);
      for (int64_t toks : {int64_t{1}, int64_t{2}, int64_t{3}, int64_t{10}}) {
        std::vector<float> got(toks * rows), want(toks * rows);
        kt_[kMXFP4].gemm(n, c.w.data(), c.w.stride, rows, c.x.data(), c.x.stride, toks, got.data(), rows);
        ref_[kMXFP4].gemm(n, c.w.data(), c.w.stride, rows, c.x.data(), c.x.stride, toks, want.data(), rows);
        for (int64_t t = 0; t < toks; ++t)
          for (int64_t r = 0; r < rows; ++r) {
            const float e = want[t * rows + r];
            const double abs_sum = mxfp4_abs_dot(c.w.row(r), c.x.row(t), n);
            ASSERT_TRUE(std::isfinite(e) && abs_sum > 0) << "n=" << n << " r=" << r << " t=" << t;
            // A few ulps of the sum, plus the rounding of subnormal block products (at
            // most half of 2^-149 each, twice per block), not the usual 1e-30 floor,
            // which would hide every e = 0 row.
            const double tol = 8.0 * FLT_EPSILON * abs_sum + static_cast<double>(n / 32) * 0x1p-149;
            ASSERT_NEAR(got[t * rows + r], e, tol)
                << (huge ? "huge" : "tiny") << " n=" << n << " toks=" << toks << " r=" << r << " t=" << t;
            float v = NAN;
            kt_[kMXFP4].vec_dot(n, c.w.row(r), c.x.row(t), &v);
            ASSERT_NEAR(v, e, tol) << (huge ? "huge" : "tiny") << " n=" << n << " r=" << r << " t=" << t;
          }
      }
    }
}

// The reference itself is the dot of the dequantized rows, and all-zero rows (e = 0,
// codes 0, as the quantizer writes them) give exactly zero on every path, never NaN.
TEST_P(Kernels, Mxfp4ZeroRowsGiveZeroAndTheReferenceIsTheDequantizedDot) {
  const int64_t n = 32 * 19, rows = 17, toks = 4;
  const Rows w = make_rows(kMXFP4, n, rows, 41), x = make_rows(kQ8_0, n, toks, 42);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t t = 0; t < toks; ++t) {
      std::vector<float> a(n), b(n);
      dequantize_row(kMXFP4, w.row(r), a.data(), n);
      dequantize_row(kQ8_0, x.row(t), b.data(), n);
      double dot = 0;
      for (int64_t i = 0; i < n; ++i) dot += double(a[i]) * b[i];
      float want;
      ref_[kMXFP4].vec_dot(n, w.row(r), x.row(t), &want);
      ASSERT_NEAR(want, dot, tolerance(abs_dot(kMXFP4, w.row(r), kQ8_0, x.row(t), n)));
    }
  const std::vector<float> zeros(n * rows, 0.0f);
  std::vector<uint8_t> zw(row_size(kMXFP4, n) * rows);
  for (int64_t r = 0; r < rows; ++r) quantize_row(kMXFP4, zeros.data() + r * n, zw.data() + r * row_size(kMXFP4, n), n);
  for (int64_t toks_here : {int64_t{1}, int64_t{toks}}) {
    std::vector<float> y(toks_here * rows, NAN);
    kt_[kMXFP4].gemm(n, zw.data(), row_size(kMXFP4, n), rows, x.data(), x.stride, toks_here, y.data(), rows);
    for (float v : y) ASSERT_EQ(v, 0.0f);
  }
  float v = NAN;
  kt_[kMXFP4].vec_dot(n, zw.data(), x.data(), &v);
  ASSERT_EQ(v, 0.0f);
}

INSTANTIATE_TEST_SUITE_P(Isa, Kernels, ::testing::Values("scalar", "avx2", "avx512", "native"),
                         [](const auto& info) { return info.param; });

TEST(BestKernels, NamesTheInstructionSet) {
  const CpuFeatures cpu = CpuFeatures::detect();
  const std::string isa = best_kernels(cpu).isa;
  if (cpu.avx512_vnni) EXPECT_EQ(isa.rfind("avx512-vnni", 0), 0u) << isa;
  else if (cpu.avx512) EXPECT_EQ(isa.rfind("avx512", 0), 0u) << isa;
  else if (cpu.avx2) EXPECT_EQ(isa, "avx2");
  EXPECT_STREQ(best_kernels(CpuFeatures{}).isa, "scalar");
}

}  // namespace
}  // namespace mx
