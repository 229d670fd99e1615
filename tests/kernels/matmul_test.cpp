// matmul(): several matrices computed in one pass over the pool give each of them exactly
// what it gets alone, whatever the row counts (partial groups of 16), packing and thread
// count, and a single-chunk job runs on the calling thread.
#include "kernels/matmul.h"

#include <gtest/gtest.h>

#include <random>
#include <thread>
#include <vector>

#include "core/aligned_buffer.h"
#include "core/cpu_features.h"
#include "kernels/packed.h"
#include "quant/quant.h"

namespace mx {
namespace {

using enum GgmlType;

struct Matrix {
  std::vector<uint8_t> rows;
  AlignedBuffer packed;
  WeightView view;
};

Matrix random_matrix(GgmlType type, int64_t rows, int64_t cols, bool pack, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(cols);
  Matrix m;
  m.rows.resize(row_size(type, cols) * rows);
  for (int64_t r = 0; r < rows; ++r) {
    for (float& v : x) v = dist(rng);
    quantize_row(type, x.data(), m.rows.data() + r * row_size(type, cols), cols);
  }
  m.view = {.type = type, .cols = cols, .rows = rows, .data = m.rows.data()};
  if (pack) {
    m.packed = AlignedBuffer(packed_size(type, rows, cols));
    pack_rows(type, m.rows.data(), row_size(type, cols), rows, cols, m.packed.data());
    m.view.packed = m.packed.data();
  }
  return m;
}

TEST(Matmul, SeveralTargetsGiveWhatEachGetsAlone) {
  const KernelTable kt = best_kernels(CpuFeatures::detect());
  const int64_t cols = 256;
  for (GgmlType type : {kQ4_0, kQ8_0, kQ4_K, kQ5_K}) {
    const bool pack = kt[type].gemm_packed != nullptr && packable(type);
    for (int64_t n_tok : {1, 3, 70}) {
      std::mt19937 rng(7);
      std::normal_distribution<float> dist(0.0f, 1.0f);
      std::vector<float> x(n_tok * cols);
      for (float& v : x) v = dist(rng);
      // q, k and v of a small model: rows that are and are not multiples of 16.
      std::vector<Matrix> ms;
      for (int64_t rows : {40, 16, 23}) ms.push_back(random_matrix(type, rows, cols, pack, static_cast<uint32_t>(rows)));
      for (int threads : {1, 2, 3}) {
        ThreadPool pool(threads);
        QuantizedRows xq;
        xq.convert(kt, pool, kt[type].vec_dot_type, x.data(), n_tok, cols);
        std::vector<std::vector<float>> alone, together;
        std::vector<MatmulTarget> targets;
        for (const Matrix& m : ms) {
          alone.emplace_back(n_tok * m.view.rows);
          together.emplace_back(n_tok * m.view.rows, -1.0f);
          matmul(kt, pool, m.view, xq, alone.back().data(), m.view.rows);
        }
        for (size_t i = 0; i < ms.size(); ++i)
          targets.push_back({&ms[i].view, together[i].data(), static_cast<size_t>(ms[i].view.rows)});
        matmul(kt, pool, targets, xq);
        for (size_t i = 0; i < ms.size(); ++i)
          EXPECT_EQ(together[i], alone[i]) << type_name(type) << " matrix " << i << " tokens " << n_tok
                                           << " threads " << threads;
      }
    }
  }
}

TEST(Matmul, ResultsDoNotDependOnTheThreadCount) {
  const KernelTable kt = best_kernels(CpuFeatures::detect());
  const int64_t cols = 512, n_tok = 5;
  const Matrix m = random_matrix(kQ4_0, 300, cols, kt[kQ4_0].gemm_packed != nullptr, 11);
  std::vector<float> x(n_tok * cols);
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (float& v : x) v = dist(rng);
  std::vector<float> first;
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    QuantizedRows xq;
    xq.convert(kt, pool, kt[kQ4_0].vec_dot_type, x.data(), n_tok, cols);
    std::vector<float> y(n_tok * m.view.rows);
    matmul(kt, pool, m.view, xq, y.data(), m.view.rows);
    if (first.empty()) first = y;
    EXPECT_EQ(y, first) << threads << " threads";
  }
}

TEST(ThreadPool, ASingleChunkRunsOnTheCallingThread) {
  ThreadPool pool(2);
  const auto caller = std::this_thread::get_id();
  std::thread::id ran_on;
  pool.parallel_for(10, 16, [&](int64_t b, int64_t e) {
    EXPECT_EQ(b, 0);
    EXPECT_EQ(e, 10);
    ran_on = std::this_thread::get_id();
  });
  EXPECT_EQ(ran_on, caller);
}

}  // namespace
}  // namespace mx
