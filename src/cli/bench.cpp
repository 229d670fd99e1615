// `moxing bench`: prompt processing (ppN) and generation (tgN) speed, reported like
// llama-bench (markdown table or JSON with its field names) plus achieved GFLOP/s and GB/s.
#include <chrono>
#include <cmath>
#include <numeric>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/common.h"
#include "cli/kv_cache_options.h"
#include "model/quant_mix.h"
#include "core/format.h"
#include "core/log.h"
#include "core/progress.h"
#include "engine/generate.h"
#include "core/rng.h"
#include "core/thread_pool.h"

namespace mx::cli {
namespace {

struct BenchOptions {
  std::string path;
  std::vector<int> n_prompt = {512};
  std::vector<int> n_gen = {128};
  std::vector<int> threads = {default_threads()};
  std::vector<int> depths = {0};  // tokens already in the cache before the test
  int repetitions = 5;
  bool json = false;
  KvCacheCliOptions cache_types;
};

struct TestResult {
  int n_prompt, n_gen, n_threads, depth;
  std::vector<double> seconds;
  ThreadPool::Times sync;  // summed over the repetitions
  double mean_ts() const;
  double sd_ts() const;
};

std::vector<double> rates(const TestResult& r) {
  std::vector<double> ts;
  for (double s : r.seconds) ts.push_back((r.n_prompt + r.n_gen) / s);
  return ts;
}
double TestResult::mean_ts() const {
  const auto ts = rates(*this);
  return std::accumulate(ts.begin(), ts.end(), 0.0) / ts.size();
}
double TestResult::sd_ts() const {
  const auto ts = rates(*this);
  if (ts.size() < 2) return 0;
  const double m = mean_ts();
  double v = 0;
  for (double t : ts) v += (t - m) * (t - m);
  return std::sqrt(v / (ts.size() - 1));
}

std::vector<Token> random_tokens(int n, int64_t n_vocab, uint64_t seed) {
  Rng rng(seed);
  std::vector<Token> t(n);
  for (auto& x : t) x = static_cast<Token>(rng.next() % n_vocab);
  return t;
}

// Time of one run: the cache cut back to its `depth` tokens of context, then the measured
// work. The pool's times cover the measured work only.
Expected<double> time_once(const Model& m, ExecContext& ctx, KvCache& cache, int n_prompt, int n_gen, int depth) {
  cache.set_length(0, depth);
  std::vector<float> logits(m.config.n_vocab);
  ctx.pool().reset_times();
  const auto t0 = std::chrono::steady_clock::now();
  if (n_prompt > 0) {
    if (auto st = prefill(m, ctx, cache, 0, random_tokens(n_prompt, m.config.n_vocab, 1), logits); !st)
      return st.error();
  }
  const auto gen = random_tokens(n_gen, m.config.n_vocab, 2);
  for (int i = 0; i < n_gen; ++i) {
    Batch b;
    b.add(gen[i], static_cast<int32_t>(cache.length(0)), 0, true);
    if (auto st = forward(m, b, cache, ctx, logits.data()); !st) return st.error();
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A cache with `depth` tokens of context for tests of up to `n_extra` more tokens; the
// context is computed once and every repetition starts from it (its keys never change).
Expected<std::unique_ptr<KvCache>> cache_at_depth(const Model& m, ExecContext& ctx, const KvCacheTypes& types,
                                                  int depth, int n_extra) {
  auto cache = std::make_unique<KvCache>(m.config, depth + n_extra + 1, 1, 0, 0, types);
  if (depth == 0) return cache;
  const std::vector<Token> context = random_tokens(depth, m.config.n_vocab, 7);
  std::vector<float> logits(m.config.n_vocab);
  ProgressBar bar(fmt::format("context of {}", depth), depth);
  for (int done = 0; done < depth;) {
    const int n = std::min(depth - done, 2048);
    if (auto st = prefill(m, ctx, *cache, 0, std::span(context).subspan(done, n), logits); !st) return st.error();
    done += n;
    bar.update(done);
  }
  bar.finish();
  return cache;
}

// "qwen2 494.03M Q4_K_M": the file type the file records (its mix), else the type of the
// first attention matrix.
std::string model_type(const Model& m) {
  std::string type(type_name(m.weights.layers[0].wq.type));
  if (const auto ft = m.file.get_int("general.file_type"))
    for (const FileTypeInfo& f : file_types())
      if (static_cast<int64_t>(f.id) == *ft) type = f.name;
  return fmt::format("{} {} {}", m.config.arch.name, format_count(static_cast<double>(m.n_params())), type);
}

std::string test_name(const TestResult& r) {
  std::string s = r.n_prompt > 0 ? fmt::format("pp{}", r.n_prompt) : fmt::format("tg{}", r.n_gen);
  if (r.depth > 0) s += fmt::format(" @ d{}", r.depth);  // as llama-bench names it
  return s;
}

// How the threads spent a test: waiting inside the pool's jobs (for a job to reach them,
// for the slowest thread at its end) and the time outside jobs, when one thread works alone.
void print_sync(const std::vector<TestResult>& results) {
  bool header = false;
  for (const auto& r : results) {
    if (r.n_threads < 2 || r.sync.jobs == 0) continue;
    if (!header) {
      fmt::print("\n| test | threads | jobs a step | waiting in jobs | one thread alone |\n| ---: | ---: | ---: | ---: | ---: |\n");
      header = true;
    }
    const double total_ns = std::accumulate(r.seconds.begin(), r.seconds.end(), 0.0) * 1e9;
    const double steps = static_cast<double>(r.seconds.size()) * (r.n_gen > 0 ? r.n_gen : 1);
    const double thread_ns = static_cast<double>(r.sync.span_ns) * r.n_threads;
    fmt::print("| {} | {} | {:.0f} | {:.1f}% | {:.1f}% |\n", test_name(r), r.n_threads, r.sync.jobs / steps,
               100.0 * (thread_ns - static_cast<double>(r.sync.busy_ns)) / thread_ns,
               100.0 * (total_ns - static_cast<double>(r.sync.span_ns)) / total_ns);
  }
}

int run_bench(const BenchOptions& o) {
  const auto loaded = load_model_for_cli(o.path, /*with_tokenizer=*/false);
  if (!loaded) return kExitBadModel;
  const Model& m = *loaded->model;
  const KernelTable& kernels = loaded->kernels;
  const auto types = kv_cache_types(o.cache_types, m.config);
  if (!types) {
    MX_LOG_ERROR("{}", types.error().message);
    return kExitUsage;
  }
  std::vector<std::pair<int, int>> tests;
  int longest = 0;
  for (int p : o.n_prompt) if (p > 0) tests.emplace_back(p, 0), longest = std::max(longest, p);
  for (int g : o.n_gen) if (g > 0) tests.emplace_back(0, g), longest = std::max(longest, g);
  for (int depth : o.depths)
    if (depth + longest > m.config.n_ctx_train) {
      MX_LOG_ERROR("depth {} + {} test tokens is beyond the model's context of {} tokens", depth, longest,
                   m.config.n_ctx_train);
      return kExitUsage;
    }
  std::vector<TestResult> results;
  for (int threads : o.threads) {
    ExecContext ctx(threads, kernels);
    ctx.pool().set_timing(true);
    for (int depth : o.depths) {
      auto cache = cache_at_depth(m, ctx, *types, depth, longest);
      if (!cache) {
        MX_LOG_ERROR("{}", cache.error().message);
        return kExitFailure;
      }
      for (auto [np, ng] : tests) {
        TestResult r{np, ng, threads, depth, {}, {}};
        ProgressBar bar(fmt::format("{} t={}", test_name(r), threads), o.repetitions + 1);
        for (int rep = -1; rep < o.repetitions; ++rep) {  // rep -1 warms caches and pages
          auto s = time_once(m, ctx, **cache, np, ng, depth);
          if (!s) {
            MX_LOG_ERROR("{}", s.error().message);
            return kExitFailure;
          }
          if (rep >= 0) {
            r.seconds.push_back(*s);
            const ThreadPool::Times t = ctx.pool().times();
            r.sync.jobs += t.jobs;
            r.sync.span_ns += t.span_ns;
            r.sync.busy_ns += t.busy_ns;
          }
          bar.update(rep + 2);
        }
        bar.finish();
        results.push_back(r);
      }
    }
  }

  // A mixture of experts reads and multiplies only the chosen experts per token.
  const double bytes = m.active_weight_bytes();
  const double flops_per_token = 2.0 * m.active_params();
  if (o.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : results) {
      std::vector<double> samples_ns, samples_ts = rates(r);
      for (double s : r.seconds) samples_ns.push_back(s * 1e9);
      const double avg_ns = std::accumulate(samples_ns.begin(), samples_ns.end(), 0.0) / samples_ns.size();
      out.push_back({{"model_filename", o.path}, {"model_type", model_type(m)},
                     {"model_size", m.weight_bytes()}, {"model_n_params", m.n_params()},
                     {"n_batch", kMaxBatch}, {"n_ubatch", kMaxBatch}, {"n_threads", r.n_threads},
                     {"cpu_info", kernels.isa}, {"type_k", kv_cache_type_name(types->k)}, {"type_v", kv_cache_type_name(types->v)},
                     {"n_prompt", r.n_prompt}, {"n_gen", r.n_gen}, {"n_depth", r.depth},
                     {"avg_ns", avg_ns}, {"avg_ts", r.mean_ts()}, {"stddev_ts", r.sd_ts()},
                     {"samples_ns", samples_ns}, {"samples_ts", samples_ts}});
    }
    fmt::print("{}\n", out.dump(2));
    return kExitOk;
  }
  const bool show_types = !(*types == KvCacheTypes{});  // as llama-bench: type columns when not the default
  fmt::print("| model | size | params | backend | threads |{} test | t/s | achieved |\n",
             show_types ? " type_k | type_v |" : "");
  fmt::print("| --- | ---: | ---: | --- | ---: |{} ---: | ---: | ---: |\n", show_types ? " ---: | ---: |" : "");
  for (const auto& r : results) {
    const double ts = r.mean_ts();
    const std::string achieved = r.n_prompt > 0
        ? fmt::format("{:.1f} GFLOP/s", ts * flops_per_token / 1e9)
        : fmt::format("{:.1f} GB/s", ts * bytes / 1e9);
    const std::string type_cells =
        show_types ? fmt::format(" {} | {} |", kv_cache_type_name(types->k), kv_cache_type_name(types->v)) : "";
    fmt::print("| {} | {} | {} | CPU {} | {} |{} {} | {:.2f} ± {:.2f} | {} |\n", model_type(m),
               format_bytes(m.weight_bytes()), format_count(static_cast<double>(m.n_params())),
               kernels.isa, r.n_threads, type_cells, test_name(r), ts, r.sd_ts(), achieved);
  }
  print_sync(results);
  return kExitOk;
}

}  // namespace

Runner add_bench(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  app.add_option("-m,--model", o->path, "GGUF model file")->required();
  app.add_option("-p,--n-prompt", o->n_prompt, "Prompt lengths to test (comma-separated)")
      ->delimiter(',')->capture_default_str();
  app.add_option("-n,--n-gen", o->n_gen, "Generation lengths to test")->delimiter(',')->capture_default_str();
  app.add_option("-t,--threads", o->threads, "Thread counts to test")->delimiter(',')->capture_default_str();
  app.add_option("-d,--depth", o->depths, "Tokens already in the cache before each test (comma-separated)")
      ->delimiter(',')->capture_default_str()->check(CLI::NonNegativeNumber);
  add_kv_cache_options(app, o->cache_types);
  app.add_option("-r,--repetitions", o->repetitions, "Repetitions of each test")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_flag("--json", o->json, "JSON output (llama-bench field names)");
  return [o] { return run_bench(*o); };
}

}  // namespace mx::cli
