// y = W·x for a batch of activation rows: the one entry point the forward pass uses
// for every weight matrix, whatever its storage type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/kernel_table.h"
#include "quant/types.h"

namespace mx {

// A weight matrix viewed in place: `rows` rows of `cols` elements, stored row after row.
struct WeightView {
  GgmlType type = GgmlType::kF32;
  int64_t cols = 0;  // K, the reduction length (GGUF ne[0])
  int64_t rows = 0;  // N, the output length (GGUF ne[1])
  const uint8_t* data = nullptr;
  // The same rows packed for the kernels (kernels/packed.h), when the model packed them.
  const uint8_t* packed = nullptr;
  size_t row_bytes() const { return row_size(type, cols); }
  // Rows [first, first + n) as a matrix of their own: a part of a fused matrix, or one
  // expert of a stacked 3-D tensor. Packed rows are sliced only at a group boundary.
  WeightView row_range(int64_t first, int64_t n) const;
};

// Activation rows converted to a weight's vec_dot type, reused across matmuls that
// share an input (q, k and v read the same normed rows).
class QuantizedRows {
 public:
  void convert(const KernelTable& kt, ThreadPool& pool, GgmlType vec_dot_type, const float* x,
               int64_t n_tok, int64_t cols);
  GgmlType type() const { return type_; }
  const uint8_t* data() const { return buf_.data(); }
  size_t stride() const { return stride_; }
  int64_t n_tok() const { return n_tok_; }
  int64_t cols() const { return cols_; }

 private:
  std::vector<uint8_t> buf_;
  GgmlType type_ = GgmlType::kF32;
  size_t stride_ = 0;
  int64_t n_tok_ = 0, cols_ = 0;
};

// y[t * y_stride + r] = dot(W row r, x row t). The rows of W are split between threads;
// each output is computed by one thread in one order, so results do not depend on the
// thread count.
void matmul(const KernelTable& kt, ThreadPool& pool, const WeightView& w, const QuantizedRows& x,
            float* y, size_t y_stride);

// One product of several matrices that read the same activations (q, k and v; gate and
// up), each with its own output: the threads share out all their rows in one dispatch, so
// a token pays one start and one end-of-work wait instead of one per matrix.
struct MatmulTarget {
  const WeightView* w = nullptr;
  float* y = nullptr;
  size_t y_stride = 0;
  // The activation rows this matrix multiplies: x_count rows from x_first of the shared
  // ones (each expert takes the tokens routed to it); x_count < 0: all of them.
  int64_t x_first = 0;
  int64_t x_count = -1;
};
void matmul(const KernelTable& kt, ThreadPool& pool, std::span<const MatmulTarget> targets,
            const QuantizedRows& x);

}  // namespace mx
