#include "kernels/matmul.h"

#include <algorithm>

#include "core/expected.h"
#include "core/round_up.h"
#include "kernels/packed.h"

namespace mx {

void QuantizedRows::convert(const KernelTable& kt, ThreadPool& pool, GgmlType vec_dot_type,
                            const float* x, int64_t n_tok, int64_t cols) {
  type_ = vec_dot_type;
  n_tok_ = n_tok;
  cols_ = cols;
  stride_ = row_size(vec_dot_type, cols);
  // Keeps the buffer across calls: the hot loop allocates only while the batch grows.
  if (buf_.size() < stride_ * n_tok) buf_.resize(stride_ * n_tok);
  if (vec_dot_type == GgmlType::kF32) {
    std::copy(x, x + n_tok * cols, reinterpret_cast<float*>(buf_.data()));
    return;
  }
  const auto from_float = kt[vec_dot_type].from_float;
  MX_CHECK(from_float != nullptr);
  pool.parallel_for(n_tok, 1, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) from_float(x + t * cols, buf_.data() + t * stride_, cols);
  });
}

WeightView WeightView::row_range(int64_t first, int64_t n) const {
  MX_CHECK(first >= 0 && n >= 0 && first + n <= rows);
  WeightView v{type, cols, n, data + first * row_bytes()};
  if (packed) {
    MX_CHECK(first % kPackRows == 0);
    v.packed = packed + (first / kPackRows) * packed_group_bytes(type, cols);
  }
  return v;
}

namespace {

// The activation rows one target reads.
struct TokenRows {
  const uint8_t* data;
  size_t stride;
  int64_t n_tok;
};

// Rows [r0, r1) of one matrix (r0 a multiple of kPackRows).
void matmul_rows(const TypeKernels& k, const WeightView& w, const TokenRows& x, float* y,
                 size_t y_stride, int64_t r0, int64_t r1) {
  const size_t w_stride = w.row_bytes();
  const size_t group_bytes = w.packed ? packed_group_bytes(w.type, w.cols) : 0;
  // A block of weight rows stays in L2 while every token block passes it, so weights
  // are read from memory once per matmul; activations are re-read from cache.
  const int64_t kRowBlock = w.packed ? 256 : 64, kTokBlock = 64;
  for (int64_t rb = r0; rb < r1; rb += kRowBlock) {
    const int64_t nr = std::min(kRowBlock, r1 - rb);
    for (int64_t t0 = 0; t0 < x.n_tok; t0 += kTokBlock) {
      const int64_t nt = std::min(kTokBlock, x.n_tok - t0);
      if (w.packed)  // rb is a multiple of 16: the start of a packed group
        k.gemm_packed(w.cols, w.packed + (rb / kPackRows) * group_bytes, nr, x.data + t0 * x.stride,
                      x.stride, nt, y + t0 * y_stride + rb, y_stride);
      else
        k.gemm(w.cols, w.data + rb * w_stride, w_stride, nr, x.data + t0 * x.stride, x.stride, nt,
               y + t0 * y_stride + rb, y_stride);
    }
  }
}

// Threads share out rows in multiples of 4 packed groups: a one-token tile reads 4 groups
// as 4 streams side by side, and fewer would leave the memory system idle.
constexpr int64_t kRowGrain = 4 * kPackRows;

}  // namespace

void matmul(const KernelTable& kt, ThreadPool& pool, std::span<const MatmulTarget> targets,
            const QuantizedRows& x) {
  // The matrices' rows laid end to end, each padded to a multiple of the grain so that
  // every chunk starts a packed group and keeps SIMD tiles full.
  int64_t total = 0;
  for (const MatmulTarget& t : targets) {
    const TypeKernels& k = kt[t.w->type];
    MX_CHECK(k.gemm != nullptr && k.vec_dot_type == x.type() && x.cols() == t.w->cols);
    MX_CHECK(!t.w->packed || k.gemm_packed != nullptr);
    MX_CHECK(t.x_first >= 0 && t.x_first + std::max<int64_t>(t.x_count, 0) <= x.n_tok());
    total += round_up(t.w->rows, kRowGrain);
  }
  pool.parallel_for(total, kRowGrain, [&](int64_t b, int64_t e) {
    int64_t offset = 0;
    for (const MatmulTarget& t : targets) {
      const int64_t r0 = std::max<int64_t>(b - offset, 0), r1 = std::min(e - offset, t.w->rows);
      const TokenRows rows{x.data() + t.x_first * x.stride(), x.stride(),
                           t.x_count < 0 ? x.n_tok() - t.x_first : t.x_count};
      if (r0 < r1) matmul_rows(kt[t.w->type], *t.w, rows, t.y, t.y_stride, r0, r1);
      offset += round_up(t.w->rows, kRowGrain);
    }
  });
}

void matmul(const KernelTable& kt, ThreadPool& pool, const WeightView& w, const QuantizedRows& x,
            float* y, size_t y_stride) {
  const MatmulTarget target{&w, y, y_stride};
  matmul(kt, pool, std::span<const MatmulTarget>(&target, 1), x);
}

}  // namespace mx
