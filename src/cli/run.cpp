// `moxing run`: generate text from a prompt, streamed to stdout as it is produced.
#include <cstdio>

#include <fmt/format.h>

#include "cli/common.h"
#include "core/format.h"
#include "core/log.h"
#include "engine/generate.h"
#include "tokenizer/stream_decoder.h"
#include "tokenizer/tokenizer.h"

namespace mx::cli {
namespace {

struct RunOptions {
  std::string path;
  std::string prompt;
  int64_t n_predict = 128;
  int64_t n_ctx = 0;  // 0: the model's training context, capped at 4096
  int threads = default_threads();
  SamplingParams sampling;
  bool no_display_prompt = false;
};

int run_generate(RunOptions o) {
  const auto loaded = load_model_for_cli(o.path, /*with_tokenizer=*/true);
  if (!loaded) return kExitBadModel;
  const Model& m = *loaded->model;
  const Tokenizer& tok = *loaded->tokenizer;
  const KernelTable& kernels = loaded->kernels;
  const int64_t n_ctx = o.n_ctx > 0 ? o.n_ctx : std::min<int64_t>(m.config.n_ctx_train, 4096);
  MX_LOG_INFO("model: {} ({}, {} params, {}), context {}, {} threads, kernels {}", m.config.name,
              m.config.arch.name, format_count(static_cast<double>(m.n_params())),
              format_bytes(m.weight_bytes()), n_ctx, o.threads, kernels.isa);

  const std::vector<Token> prompt = tok.encode(o.prompt, /*add_special=*/true, /*parse_special=*/true);
  ExecContext ctx(o.threads, kernels);
  KvCache cache(m.config, n_ctx);

  if (!o.no_display_prompt) {
    std::fputs(o.prompt.c_str(), stdout);
    std::fflush(stdout);
  }
  StreamDecoder decoder(tok);
  GenerateOptions g{.n_predict = o.n_predict, .sampling = o.sampling};
  GenerateCallbacks cb{
      .is_end = [&](Token t) { return tok.vocab().is_eog(t); },
      .on_token =
          [&](Token t) {
            const std::string text = decoder.push(t);
            if (!text.empty()) {
              std::fwrite(text.data(), 1, text.size(), stdout);
              std::fflush(stdout);
            }
            return true;
          },
  };
  auto stats = generate(m, ctx, cache, prompt, g, cb);
  const std::string rest = decoder.flush();
  std::fwrite(rest.data(), 1, rest.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
  if (!stats) {
    MX_LOG_ERROR("{}", stats.error().message);
    return kExitBadInput;
  }
  const auto& s = *stats;
  MX_LOG_INFO("prompt: {} tokens in {} ({:.1f} tokens/s)", s.n_prompt, format_duration(s.prompt_seconds),
              s.n_prompt / std::max(s.prompt_seconds, 1e-9));
  MX_LOG_INFO("generation: {} tokens in {} ({:.1f} tokens/s); stopped by {}", s.n_generated,
              format_duration(s.gen_seconds), s.n_generated / std::max(s.gen_seconds, 1e-9),
              finish_reason_name(s.finish));
  return kExitOk;
}

}  // namespace

Runner add_run(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  app.add_option("-m,--model", o->path, "GGUF model file")->required();
  app.add_option("-p,--prompt", o->prompt, "Prompt text")->required();
  app.add_option("-n,--n-predict", o->n_predict, "Tokens to generate (-1: until the context is full)")
      ->capture_default_str();
  app.add_option("-c,--ctx-size", o->n_ctx, "Context size in tokens (0: the model's, at most 4096)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("-t,--threads", o->threads, "Compute threads")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--temp", o->sampling.temperature, "Temperature (0: greedy)")->capture_default_str();
  app.add_option("--top-k", o->sampling.top_k, "Top-k (0: off)")->capture_default_str();
  app.add_option("--top-p", o->sampling.top_p, "Top-p (1: off)")->capture_default_str();
  app.add_option("-s,--seed", o->sampling.seed, "Random seed")->capture_default_str();
  app.add_flag("--no-display-prompt", o->no_display_prompt, "Do not echo the prompt");
  return [o] { return run_generate(*o); };
}

}  // namespace mx::cli
