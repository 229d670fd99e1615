// Kernel micro-benchmarks per weight type and instruction set, measured against the
// speed of light: decode-like products (one token) report GB/s of weights read, to set
// against the memory read bandwidth measured by BM_ReadBandwidth; prefill-like products
// (64 tokens) report GFLOP/s, to set against the int8 rate measured by BM_VnniPeak.
// Single thread, through kernels/matmul.cpp as the model calls it; packable types also
// with packed weights.
#include <benchmark/benchmark.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "core/cpu_features.h"
#include "core/aligned_buffer.h"
#include "core/thread_pool.h"
#include "kernels/attention.h"
#include "kernels/kernel_table.h"
#include "kernels/matmul.h"
#include "kernels/packed.h"
#include "quant/quant.h"

namespace mx {
namespace {

using enum GgmlType;

bool cpu_has(const std::string& isa) {
  const CpuFeatures cpu = CpuFeatures::detect();
  if (isa == "avx2") return cpu.avx2;
  if (isa == "avx512") return cpu.avx512;
  if (isa == "avx512-vnni") return cpu.avx512_vnni;
  if (isa == "avx512-amx") return cpu.amx_int8;
  return true;
}

KernelTable table_for(const std::string& isa) {
  const CpuFeatures cpu = CpuFeatures::detect();
  return best_kernels(isa == "native" ? cpu : cpu.limited_to(isa));
}

std::vector<uint8_t> random_rows(GgmlType type, int64_t n, int64_t rows, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const size_t rs = row_size(type, n);
  std::vector<uint8_t> out(rs * rows);
  std::vector<float> x(n);
  for (int64_t r = 0; r < rows; ++r) {
    // Quantizing every row is slow for 100s of MB: fill a few, copy them around.
    if (r < 64 && !can_quantize(type)) {
      // K-quants have no quantizer here: random bytes with small fp16 scales (0x1c00) in d,
      // and in dmin (the next 2 bytes) where the type has one.
      for (size_t i = 0; i < rs; ++i) out[r * rs + i] = static_cast<uint8_t>(rng());
      const size_t bs = traits(type).type_size;
      const size_t d_at = type == kQ6_K ? 208 : type == kQ2_K ? 80 : type == kQ3_K ? 108 : 0;
      const bool has_dmin = type == kQ2_K || type == kQ4_K || type == kQ5_K;
      for (size_t b = 0; b < rs / bs; ++b) {
        uint8_t* d = out.data() + r * rs + b * bs + d_at;
        d[0] = 0x00, d[1] = 0x1c;
        if (has_dmin) d[2] = 0x00, d[3] = 0x1c;
      }
    } else if (r < 64) {
      for (auto& v : x) v = dist(rng);
      quantize_row(type, x.data(), out.data() + r * rs, n);
    } else {
      std::memcpy(out.data() + r * rs, out.data() + (r % 64) * rs, rs);
    }
  }
  return out;
}

// y = W x through the same driver the model uses (kernels/matmul.h), with the weights
// packed (kernels/packed.h) when `packed` and the ISA packs this type. `copies` distinct
// matrices are cycled through so that, when they outgrow the L3, weights come from memory
// as in decoding a real model. Reports GB/s of weights read and GFLOP/s.
struct Shape {
  int64_t rows, toks;
  bool from_memory;
  int64_t cols = 4096;
  int threads = 1;
};
void BM_Product(benchmark::State& state, std::string isa, GgmlType type, Shape shape, bool packed) {
  if (!cpu_has(isa)) return state.SkipWithError("CPU lacks this ISA");
  const KernelTable kt = table_for(isa);
  const TypeKernels& k = kt[type];
  if (packed && !(packable(type) && k.gemm_packed)) return state.SkipWithError("no packed kernel");
  const int64_t n = shape.cols, rows = shape.rows, toks = shape.toks;
  const bool from_memory = shape.from_memory;
  const size_t ws = row_size(type, n);
  const int64_t copies = from_memory ? std::max<int64_t>(2, (256ll << 20) / static_cast<int64_t>(ws * rows)) : 1;
  const auto w = random_rows(type, n, rows * copies, 1);
  std::vector<AlignedBuffer> packs;
  if (packed)
    for (int64_t c = 0; c < copies; ++c) {
      packs.emplace_back(packed_size(type, rows, n));
      pack_rows(type, w.data() + c * ws * rows, ws, rows, n, packs.back().data());
    }
  std::vector<float> xf(n * toks);
  std::mt19937 rng(2);
  std::normal_distribution<float> dist;
  for (auto& v : xf) v = dist(rng);
  ThreadPool pool(shape.threads);
  QuantizedRows x;
  x.convert(kt, pool, k.vec_dot_type, xf.data(), toks, n);
  std::vector<float> y(rows * toks);
  int64_t i = 0;
  for (auto _ : state) {
    const int64_t c = i++ % copies;
    const WeightView view{.type = type, .cols = n, .rows = rows, .data = w.data() + c * ws * rows,
                          .packed = packed ? packs[c].data() : nullptr};
    matmul(kt, pool, view, x, y.data(), static_cast<size_t>(rows));
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(ws * rows));
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * n * rows * toks * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(kt.isa);
}

// One row of 4096 in L1: the inner loop's own throughput.
void BM_VecDot(benchmark::State& state, std::string isa, GgmlType type) {
  if (!cpu_has(isa)) return state.SkipWithError("CPU lacks this ISA");
  const KernelTable kt = table_for(isa);
  const TypeKernels& k = kt[type];
  const int64_t n = 4096;
  const auto w = random_rows(type, n, 1, 5);
  const auto x = random_rows(k.vec_dot_type, n, 1, 6);
  float out;
  for (auto _ : state) {
    k.vec_dot(n, w.data(), x.data(), &out);
    benchmark::DoNotOptimize(out);
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * n * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(kt.isa);
}

// Activation conversion f32 -> vec_dot_type, 64 rows of 4096.
void BM_FromFloat(benchmark::State& state, std::string isa, GgmlType type) {
  if (!cpu_has(isa)) return state.SkipWithError("CPU lacks this ISA");
  const KernelTable kt = table_for(isa);
  const int64_t n = 4096 * 64;
  std::vector<float> x(n);
  std::mt19937 rng(7);
  std::normal_distribution<float> dist;
  for (auto& v : x) v = dist(rng);
  std::vector<uint8_t> out(row_size(type, n));
  for (auto _ : state) {
    kt[type].from_float(x.data(), out.data(), n);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * n * 4);
  state.SetLabel(kt.isa);
}

#if defined(__x86_64__)
// The speed of light for decode: each thread reads its own 256 MB once, from 4 places at a
// time (a decode kernel reads 4 groups of rows side by side), with the widest loads the
// CPU has, summed so nothing is skipped. Narrow loads understate it: on Zen 5 one core
// reads 30-34 GB/s with 64-byte loads, about 22 with 16-byte ones and 18 with a scalar
// loop (what this benchmark measured before). Vec is a GCC vector type: each wrapper
// below compiles the loop with its own ISA's loads.
template <class Vec>
[[gnu::always_inline]] inline void read_streams(const uint8_t* base, size_t bytes) {
  constexpr size_t kStreams = 4;
  const size_t per_stream = bytes / sizeof(Vec) / kStreams;
  const auto* v = reinterpret_cast<const Vec*>(base);
  Vec s[kStreams][2] = {};
  for (size_t i = 0; i < per_stream; i += 2)
#pragma GCC unroll 4
    for (size_t k = 0; k < kStreams; ++k)
#pragma GCC unroll 2
      for (size_t u = 0; u < 2; ++u) s[k][u] += v[k * per_stream + i + u];
  benchmark::DoNotOptimize(s);
}
using Vec64 = int64_t __attribute__((vector_size(64)));
using Vec32 = int64_t __attribute__((vector_size(32)));
__attribute__((target("avx512f"))) void read_avx512(const uint8_t* p, size_t n) { read_streams<Vec64>(p, n); }
__attribute__((target("avx2"))) void read_avx2(const uint8_t* p, size_t n) { read_streams<Vec32>(p, n); }

void BM_ReadBandwidth(benchmark::State& state) {
  const CpuFeatures cpu = CpuFeatures::detect();
  if (!cpu.avx2) return state.SkipWithError("CPU lacks AVX2");
  const auto read = cpu.avx512 ? read_avx512 : read_avx2;
  const int threads = static_cast<int>(state.range(0));
  // Each thread reads its own buffer, together four times the last-level cache and at least
  // 256 MB each, so the figure is memory's: on a Xeon with a 300 MB L3, 256 MB per thread
  // read 31 GB/s at one thread against 18 from memory.
  const long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
  const size_t kBytes = std::max<size_t>(256u << 20, 4 * static_cast<size_t>(std::max(0L, l3)) / threads);
  AlignedBuffer buf(kBytes * threads);
  std::memset(buf.data(), 1, buf.size());
  ThreadPool pool(threads);
  for (auto _ : state) pool.run([&](int ith, int) { read(buf.data() + ith * kBytes, kBytes); });
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(kBytes) * threads);
  state.SetLabel(cpu.avx512 ? "64-byte loads" : "32-byte loads");
}
#endif

// Attention of one query row over a cache of n_keys positions (pages of 32, in order)
// stored as `type`: a group of 7 query heads sharing a key/value head of 64 dims, as in
// Qwen2.5-0.5B. GFLOP/s counts the two products (scores and the weighted sum of values).
void BM_Attention(benchmark::State& state, std::string isa, GgmlType type, int64_t n_keys) {
  if (!cpu_has(isa)) return state.SkipWithError("CPU lacks this ISA");
  const KernelTable kt = table_for(isa);
  constexpr int64_t kHeads = 7, kDim = 64, kPage = 32;
  const int64_t n_pages = (n_keys + kPage - 1) / kPage;
  const auto row_bytes = static_cast<int64_t>(row_size(type, kDim));
  std::mt19937 rng(3);
  std::normal_distribution<float> dist;
  std::vector<float> q(kHeads * kDim), row(kDim), out(kHeads * kDim);
  for (float& x : q) x = dist(rng);
  std::vector<uint8_t> k(n_pages * kPage * row_bytes), v(k.size());
  for (auto* buf : {&k, &v})
    for (int64_t p = 0; p < n_pages * kPage; ++p) {
      for (float& x : row) x = dist(rng);
      quantize_row(type, row.data(), buf->data() + p * row_bytes, kDim);
    }
  std::vector<int32_t> pages(n_pages);
  for (int64_t p = 0; p < n_pages; ++p) pages[p] = static_cast<int32_t>(p);
  std::vector<float> scratch(attention_scratch_floats(kHeads, n_keys, kDim, kDim));
  const auto rows = [&](const std::vector<uint8_t>& b) {
    return CachedRows{.data = b.data(), .type = type, .stride = row_bytes, .page_stride = kPage * row_bytes,
                      .to_float = kt[type].to_float};
  };
  const AttentionArgs args{.n_q = kHeads, .head_dim_k = kDim, .head_dim_v = kDim, .q = q.data(), .k = rows(k),
                           .v = rows(v), .pages = pages.data(), .page_tokens = kPage, .first = 0, .n_keys = n_keys,
                           .scale = 0.125f, .out = out.data(), .scratch = scratch.data()};
  for (auto _ : state) {
    kt.attend(args);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(4.0 * kHeads * kDim * static_cast<double>(n_keys) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

#if defined(__x86_64__)
// The speed of light for prefill: one core's int8 rate, 16 independent vpdpbusd chains
// (64 multiply-adds each, counted as 2 operations) with nothing else in the loop.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void BM_VnniPeak(benchmark::State& state) {
  constexpr int kChains = 16, kSteps = 4096;
  if (!CpuFeatures::detect().avx512_vnni) {
    state.SkipWithError("no AVX-512 VNNI on this CPU");
    return;
  }
  const __m512i a = _mm512_set1_epi8(1), b = _mm512_set1_epi8(2);
  for (auto _ : state) {
    __m512i acc[kChains];
    for (auto& v : acc) v = _mm512_setzero_si512();
    for (int i = 0; i < kSteps; ++i)
#pragma GCC unroll 16
      for (auto& v : acc) v = _mm512_dpbusd_epi32(v, a, b);
    for (auto& v : acc) benchmark::DoNotOptimize(v);
  }
  state.counters["GOP/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * kChains * kSteps * 128,
                                               benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}
#endif

const int kRegistered = [] {
#if defined(__x86_64__)
  benchmark::RegisterBenchmark("ReadBandwidth", BM_ReadBandwidth)
      ->ArgName("threads")
      ->Arg(1)
      ->Arg(2)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("VnniPeak", BM_VnniPeak);
#endif
  const GgmlType types[] = {kF32, kF16, kBF16, kQ8_0, kQ5_0, kQ4_0, kQ2_K, kQ3_K, kQ4_K, kQ5_K, kQ6_K};
  for (const char* isa : {"scalar", "avx2", "avx512", "avx512-vnni", "avx512-amx", "native"}) {
    for (GgmlType t : types) {
      const std::string name(type_name(t));
      benchmark::RegisterBenchmark(("VecDot/" + name + "/" + isa).c_str(), BM_VecDot, isa, t);
      for (bool packed : {false, true}) {
        if (packed && !packable(t)) continue;
        const std::string suffix = std::string("/") + isa + (packed ? "/packed" : "");
        // Decode: one token against 4096 x 4096 matrices from memory; the same on 256 rows
        // that stay in L2 (the kernel's own ceiling); prefill: 64 tokens (compute bound).
        benchmark::RegisterBenchmark(("Decode/" + name + suffix).c_str(), BM_Product, isa, t,
                                     Shape{4096, 1, true}, packed)
            ->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark(("DecodeL2/" + name + suffix).c_str(), BM_Product, isa, t,
                                     Shape{256, 1, false}, packed);
        // The scalar path gets a smaller matrix so a run stays short.
        const int64_t rows = std::string(isa) == "scalar" ? 128 : 1024;
        benchmark::RegisterBenchmark(("Prefill64/" + name + suffix).c_str(), BM_Product, isa, t,
                                     Shape{rows, 64, false}, packed)
            ->Unit(benchmark::kMillisecond);
      }
    }
    // A 1024 x 4096 matrix (in L3) against 1..64 tokens: where the tiling pays off.
    for (GgmlType t : types)
      for (int64_t toks : {1, 2, 3, 4, 8, 16, 64})
        benchmark::RegisterBenchmark(("Tokens/" + std::string(type_name(t)) + "/" + isa + "/" + std::to_string(toks)).c_str(),
                                     BM_Product, isa, t, Shape{1024, toks, false}, packable(t));
    for (GgmlType t : {kF32, kF16, kBF16, kQ8_0, kQ4_0})
      for (int64_t keys : {512, 4096})
        benchmark::RegisterBenchmark(
            ("Attention/" + std::string(type_name(t)) + "/" + isa + "/" + std::to_string(keys)).c_str(), BM_Attention,
            isa, t, keys);
    for (GgmlType t : {kF16, kBF16, kQ8_0})
      benchmark::RegisterBenchmark(("FromFloat/" + std::string(type_name(t)) + "/" + isa).c_str(),
                                   BM_FromFloat, isa, t);
  }
  // The shape of ggml's `test-backend-ops perf -o MUL_MAT` (m = 4096, k = 14336, n = 1 and
  // 512) on two threads, to set moxing's kernels side by side with llama.cpp's.
  for (GgmlType t : types)
    for (int64_t toks : {1, 512})
      benchmark::RegisterBenchmark(("GgmlShape/" + std::string(type_name(t)) + "/n" + std::to_string(toks)).c_str(),
                                   BM_Product, "native", t, Shape{4096, toks, toks == 1, 14336, 2}, packable(t))
          ->Unit(benchmark::kMillisecond);
  return 0;
}();

}  // namespace
}  // namespace mx
