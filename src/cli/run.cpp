// `moxing run`: generate text from a prompt, streamed to stdout as it is produced; with
// --chat, a conversation in the model's chat template (see chat.cpp).
#include <cstdio>

#include "cli/reply_stream.h"
#include "cli/run_options.h"
#include "core/format.h"
#include "core/log.h"

namespace mx::cli {
namespace {

int run_generate(const RunOptions& o) {
  const auto loaded = load_model_for_cli(o.path, /*with_tokenizer=*/true);
  if (!loaded) return kExitBadModel;
  const Model& m = *loaded->model;
  const int64_t n_ctx = o.n_ctx > 0 ? o.n_ctx : std::min<int64_t>(m.config.n_ctx_train, 4096);
  MX_LOG_INFO("model: {} ({}, {} params, {}), context {}, {} threads, kernels {}", m.config.name,
              m.config.arch.name, format_count(static_cast<double>(m.n_params())),
              format_bytes(m.weight_bytes()), n_ctx, o.threads, loaded->kernels.isa);
  const auto cache_types = kv_cache_types(o.cache_types, m.config);
  if (!cache_types) {
    MX_LOG_ERROR("{}", cache_types.error().message);
    return kExitUsage;
  }
  if (auto st = check_speculation_options(o.speculation); !st) {
    MX_LOG_ERROR("{}", st.error().message);
    return kExitUsage;
  }
  ExecContext ctx(o.threads, loaded->kernels);
  const auto make_drafter = load_speculation(o.speculation, *loaded->tokenizer);
  if (!make_drafter) {
    MX_LOG_ERROR("{}", make_drafter.error().message);
    return kExitBadModel;
  }
  const std::unique_ptr<Drafter> drafter = *make_drafter ? (*make_drafter)(ctx, n_ctx) : nullptr;
  if (o.chat)
    return run_chat(o, *loaded, {.ctx = ctx, .n_ctx = n_ctx, .cache_types = *cache_types,
                                 .drafter = drafter.get()});

  const Vocab& vocab = loaded->tokenizer->vocab();
  std::vector<Token> prompt = loaded->tokenizer->encode(o.prompt, /*add_special=*/true, /*parse_special=*/true);
  if (prompt.size() >= 2 && prompt[0] == vocab.bos() && prompt[1] == vocab.bos()) {
    MX_LOG_WARN("the prompt starts with {} and the model adds one too; using one", vocab.text(vocab.bos()));
    prompt.erase(prompt.begin());
  }
  KvCache cache(m.config, n_ctx, 1, 0, 0, *cache_types);
  if (!o.no_display_prompt) {
    std::fputs(o.prompt.c_str(), stdout);
    std::fflush(stdout);
  }
  auto generate_options = make_generate_options(o.sampling, *loaded->tokenizer, o.n_predict);
  if (!generate_options) {
    MX_LOG_ERROR("{}", generate_options.error().message);
    return kExitUsage;
  }
  const ReplyOptions reply_options{.generate = *generate_options,
                                   .stop_strings = o.stop_strings,
                                   .drafter = drafter.get(),
                                   .ignore_eos = o.ignore_eos};
  auto reply = stream_reply(*loaded, ctx, cache, prompt, reply_options);
  std::fputc('\n', stdout);
  std::fflush(stdout);
  if (!reply) {
    MX_LOG_ERROR("{}", reply.error().message);
    return kExitBadInput;
  }
  log_generation_stats(reply->stats);
  return kExitOk;
}

}  // namespace

Runner add_run(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  app.add_option("-m,--model", o->path, "GGUF model file")->required();
  auto* prompt = app.add_option("-p,--prompt", o->prompt, "Prompt text (with --chat: one user message)");
  auto* chat = app.add_flag("--chat", o->chat,
                            "Chat in the model's chat template: one turn per line of input; "
                            "/reset starts over, /exit quits");
  app.add_option("-n,--n-predict", o->n_predict,
                 "Tokens to generate (per reply with --chat; -1: until the context is full)")
      ->capture_default_str();
  app.add_option("-c,--ctx-size", o->n_ctx, "Context size in tokens (0: the model's, at most 4096)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("-t,--threads", o->threads, "Compute threads")->capture_default_str()->check(CLI::PositiveNumber);
  add_kv_cache_options(app, o->cache_types);
  add_sampling_options(app, o->sampling);
  add_speculation_options(app, o->speculation);
  app.add_option("-r,--stop", o->stop_strings, "Stop when the output contains this text (repeatable)");
  app.add_flag("--no-display-prompt", o->no_display_prompt, "Do not echo the prompt");
  app.add_flag("--ignore-eos", o->ignore_eos, "Generate past end-of-text tokens, to -n (for benchmarks)");
  app.add_option("--system", o->system_prompt, "System message of the chat")->needs(chat);
  app.add_option("--chat-template-file,--chat-template", o->chat_template_file,
                 "Jinja chat template to use instead of the model's (as serve's --chat-template-file)")
      ->needs(chat);
  app.add_flag("--verbose-prompt", o->verbose_prompt, "Log the prompt text each chat turn renders")
      ->needs(chat);
  app.callback([o, prompt] {
    if (!o->chat && prompt->count() == 0) throw CLI::RequiredError("--prompt (or --chat)");
  });
  return [o] { return run_generate(*o); };
}

}  // namespace mx::cli
