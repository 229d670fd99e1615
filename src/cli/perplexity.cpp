// `moxing perplexity`: how well a model predicts a text file, computed as the
// reference's perplexity tool does so the figures compare.
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "cli/common.h"
#include "cli/kv_cache_options.h"
#include "core/log.h"
#include "core/progress.h"
#include "engine/perplexity.h"
#include "tokenizer/tokenizer.h"

namespace mx::cli {
namespace {

struct PerplexityOptions {
  std::string path;
  std::string text_file;
  int64_t n_ctx = 512;
  int threads = default_threads();
  KvCacheCliOptions cache_types;
};

int run_perplexity(const PerplexityOptions& o) {
  std::ifstream in(o.text_file, std::ios::binary);
  if (!in) {
    MX_LOG_ERROR("cannot read '{}'", o.text_file);
    return kExitBadInput;
  }
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto loaded = load_model_for_cli(o.path, /*with_tokenizer=*/true);
  if (!loaded) return kExitBadModel;
  const auto cache_types = kv_cache_types(o.cache_types, loaded->model->config);
  if (!cache_types) {
    MX_LOG_ERROR("{}", cache_types.error().message);
    return kExitUsage;
  }
  const Tokenizer& tok = *loaded->tokenizer;
  const std::vector<Token> tokens = tok.encode(text, /*add_special=*/true, /*parse_special=*/false);
  ExecContext ctx(o.threads, loaded->kernels);
  std::unique_ptr<ProgressBar> bar;
  auto r = perplexity(*loaded->model, ctx, tokens, o.n_ctx, tok.vocab().bos(), *cache_types,
                      [&](int64_t c, int64_t n, double) {
                        if (!bar) bar = std::make_unique<ProgressBar>("perplexity", n);
                        bar->update(c + 1);
                      });
  if (bar) bar->finish();
  if (!r) {
    MX_LOG_ERROR("{}", r.error().message);
    return kExitBadInput;
  }
  fmt::print("perplexity: {:.4f} ± {:.4f} ({} chunks of {} tokens, {} predictions scored)\n", r->ppl,
             r->ppl_stderr, r->n_chunks, o.n_ctx, r->n_scored);
  return kExitOk;
}

}  // namespace

Runner add_perplexity(CLI::App& app) {
  auto o = std::make_shared<PerplexityOptions>();
  app.add_option("-m,--model", o->path, "GGUF model file")->required();
  app.add_option("-f,--file", o->text_file, "Text file to score")->required();
  app.add_option("-c,--ctx-size", o->n_ctx, "Tokens per chunk")->capture_default_str()->check(CLI::Range(8, 32768));
  app.add_option("-t,--threads", o->threads, "Compute threads")->capture_default_str()->check(CLI::PositiveNumber);
  add_kv_cache_options(app, o->cache_types);
  return [o] { return run_perplexity(*o); };
}

}  // namespace mx::cli
