// `moxing serve`: the OpenAI-compatible HTTP server (server/server.h). With one -m it
// listens at once and loads the model behind (/health says "loading" meanwhile). With
// several (-m repeated, --models-dir) each loads on its first request and the least recently
// used idle one is unloaded when --max-loaded or --max-memory would be exceeded
// (server/model_registry.h). SIGINT / SIGTERM drain it: readiness fails and new requests
// get 503 at once, requests in flight finish (for up to --drain-timeout, then they are
// cancelled) and it exits 0; a second signal stops it at once. A signal while the one model
// loads exits at once. Every option can come from a TOML file (--config, cli/config_file.h).
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/ranges.h>

#include "cli/chat_template_file.h"
#include "cli/common.h"
#include "cli/config_file.h"
#include "cli/kv_cache_options.h"
#include "cli/speculation_options.h"
#include "cli/memory_check.h"
#include "cli/sampling_options.h"
#include "core/log.h"
#include "hub/model_ref.h"
#include "model/forward.h"
#include "server/model_specs.h"
#include "server/server.h"

namespace mx::cli {
namespace {

struct ServeOptions {
  std::vector<std::string> paths;  // -m, repeatable
  std::string models_dir;
  std::vector<std::string> aliases;
  std::string max_memory;
  server::ServerOptions server;
  std::string api_key;
  std::string api_key_file;
  std::string chat_template_file;  // replaces the model's chat template
  double drain_timeout = 30;       // seconds requests in flight may take to finish after a signal
  SamplingCliOptions sampling;
  KvCacheCliOptions cache_types;
  SpeculationCliOptions speculation;
};

Expected<std::vector<std::string>> api_keys(const ServeOptions& o) {
  std::vector<std::string> keys;
  if (!o.api_key.empty()) keys.push_back(o.api_key);
  if (!o.api_key_file.empty()) {
    std::ifstream in(o.api_key_file);
    if (!in) return make_error("cannot open {}", o.api_key_file);
    for (std::string line; std::getline(in, line);)
      if (!line.empty() && line[0] != '#') keys.push_back(line);
    if (keys.empty()) return make_error("{} holds no API key", o.api_key_file);
  }
  return keys;
}

// Loads one model of a several-model server: weights, tokenizer, chat format, sampling defaults.
server::WeightsLoader weights_loader(const ServeOptions& o) {
  return [sampling = o.sampling, template_file = o.chat_template_file,
          speculation = o.speculation](const server::ModelSpec& spec) -> Expected<server::LoadedWeights> {
    Expected<LoadedModel> loaded = load_model(spec.path, /*with_tokenizer=*/true);
    if (!loaded) return loaded.error();
    auto make_drafter = load_speculation(speculation, *loaded->tokenizer);  // n-gram lookup: no draft model here
    if (!make_drafter) return make_drafter.error();
    auto defaults = make_generate_options(sampling, *loaded->tokenizer, -1);
    if (!defaults) return defaults.error();
    Expected<ChatFormat> format = load_chat_format(*loaded, template_file);
    if (!format) return make_error("chat template: {}", format.error().message);
    if (format->is_fallback()) MX_LOG_WARN("{} has no chat template; chat requests use ChatML", spec.path);
    auto owner = std::make_shared<LoadedModel>(std::move(*loaded));
    return server::LoadedWeights{.owner = owner, .model = owner->model.get(), .tokenizer = owner->tokenizer.get(),
                                 .kernels = owner->kernels, .format = std::move(*format), .defaults = std::move(*defaults),
                                 .make_drafter = std::move(*make_drafter)};
  };
}

// Waits for SIGINT / SIGTERM (blocked before any thread starts) until finish(). The first
// drains the server (on a thread of its own, so that a second can still be heard), a second
// stops it at once. While `loading` is set the first exits the process: loading cannot be
// interrupted and there is nothing to drain yet. Once the server has stopped, replies still
// being written (to clients that do not read) get kGrace, then the process exits regardless.
class SignalWaiter {
 public:
  static constexpr std::chrono::seconds kGrace{3};

  SignalWaiter(server::Server& srv, const sigset_t& signals, std::chrono::milliseconds drain_timeout,
               const std::atomic<bool>& loading)
      : thread_([this, &srv, signals, drain_timeout, &loading] {
          const timespec poll{0, 100'000'000};
          std::optional<std::chrono::steady_clock::time_point> deadline;  // set once stopped
          while (!served_) {
            if (stopped_ && !deadline && (drained_ || signals_ > 1)) deadline = std::chrono::steady_clock::now() + kGrace;
            if (deadline && std::chrono::steady_clock::now() > *deadline) {
              MX_LOG_WARN("replies still being written to clients that do not read: exiting");
              std::_Exit(kExitOk);
            }
            const int sig = sigtimedwait(&signals, nullptr, &poll);
            if (sig <= 0) continue;
            if (loading) {
              MX_LOG_INFO("signal {} while loading: exiting", sig);
              std::_Exit(kExitOk);
            }
            if (++signals_ == 1) {
              MX_LOG_INFO("signal {}: draining (a second signal stops at once)", sig);
              stopped_ = true;
              drainer_ = std::thread([this, &srv, drain_timeout] {
                srv.drain(drain_timeout);
                drained_ = true;
              });
            } else if (signals_ == 2) {
              MX_LOG_INFO("signal {}: stopping now", sig);
              srv.stop();
            } else {
              std::_Exit(kExitOk);
            }
          }
        }) {}
  ~SignalWaiter() { finish(); }
  void finish() {
    served_ = true;
    if (thread_.joinable()) thread_.join();
    if (drainer_.joinable()) drainer_.join();
  }
  bool stopped() const { return stopped_; }

 private:
  std::atomic<bool> served_{false}, stopped_{false}, drained_{false};
  int signals_ = 0;      // received so far (the waiting thread's own)
  std::thread drainer_;  // before thread_, which starts it
  std::thread thread_;
};

std::chrono::milliseconds drain_timeout_of(const ServeOptions& o) {
  return std::chrono::milliseconds(static_cast<int64_t>(o.drain_timeout * 1000));
}

// A model file that is not there stops the start, not the first request for it (names of
// the hub are pulled when first asked for).
Status check_model_files(const std::vector<server::ModelSpec>& specs) {
  for (const server::ModelSpec& spec : specs) {
    auto ref = hub::parse_model_ref(spec.path);
    if (!ref) return ref.error();
    std::error_code ec;
    if (ref->kind == hub::ModelRef::Kind::kLocalPath && !std::filesystem::is_regular_file(spec.path, ec))
      return make_error("model {}: no such file", spec.path);
  }
  return {};
}

int run_several(ServeOptions& o, const sigset_t& signals) {
  auto specs = server::model_specs(o.paths, o.models_dir, o.aliases);
  if (!specs) {
    MX_LOG_ERROR("{}", specs.error().message);
    return kExitUsage;
  }
  if (Status files = check_model_files(*specs); !files) {
    MX_LOG_ERROR("{}", files.error().message);
    return kExitBadModel;
  }
  if (!o.max_memory.empty()) {
    auto bytes = server::parse_size(o.max_memory);
    if (!bytes) {
      MX_LOG_ERROR("--max-memory: {}", bytes.error().message);
      return kExitUsage;
    }
    o.server.limits.max_bytes = *bytes;
  }
  const size_t n = specs->size();
  const std::string first = specs->front().id;
  server::Server srv(o.server, std::move(*specs), weights_loader(o));
  if (!srv.bind()) return kExitFailure;
  std::thread http([&] { srv.serve(); });
  const std::atomic<bool> loading{false};  // models load on demand, behind requests a drain waits for
  SignalWaiter waiter(srv, signals, drain_timeout_of(o), loading);
  for (const server::ModelStatus& m : srv.registry().status())
    MX_LOG_INFO("model {}{}{}: {}", m.spec.id, m.spec.aliases.empty() ? "" : " alias ",
                fmt::format("{}", fmt::join(m.spec.aliases, ", ")), m.spec.path);
  MX_LOG_INFO("serving {} on http://{}:{} ({} models, each loaded on its first request; {} sequences at once)", first,
              o.server.host, srv.port(), n, o.server.parallel);
  http.join();
  waiter.finish();
  return kExitOk;
}

int run_serve(ServeOptions o) {
  auto keys = api_keys(o);
  if (!keys) {
    MX_LOG_ERROR("{}", keys.error().message);
    return kExitUsage;
  }
  o.server.api_keys = std::move(*keys);
  o.server.cache_types = parse_kv_cache_types(o.cache_types);
  if (auto st = check_speculation_options(o.speculation); !st) {
    MX_LOG_ERROR("{}", st.error().message);
    return kExitUsage;
  }
  const bool several = o.paths.size() != 1 || !o.models_dir.empty();
  if (several && !o.speculation.draft_model.empty()) {
    MX_LOG_ERROR("--model-draft serves one model (-m once); --spec-ngram works with several");
    return kExitUsage;
  }
  // Signals go to one thread that waits for them: blocked here, before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  if (several) return run_several(o, signals);
  const std::string path = o.paths.front();
  for (const std::string& a : o.aliases) {  // one model: its alias is the name it is served under, as before
    const size_t eq = a.find('=');
    if (o.server.model_name == "moxing") o.server.model_name = eq == std::string::npos ? a : a.substr(eq + 1);
  }

  // Listen first: while the model loads, /health answers "loading" and the API 503.
  if (o.server.model_name == "moxing") o.server.model_name = server::model_id(path);
  std::optional<LoadedModel> loaded;  // declared first: outlives the server that reads it
  server::Server srv(o.server);
  if (!srv.bind()) return kExitFailure;
  MX_LOG_INFO("listening on http://{}:{}; loading {}", o.server.host, srv.port(), path);
  std::thread http([&] { srv.serve(); });
  std::atomic<bool> loading{true};
  SignalWaiter waiter(srv, signals, drain_timeout_of(o), loading);
  auto finish = [&](int code) {
    srv.stop();
    http.join();
    waiter.finish();
    return waiter.stopped() ? kExitOk : code;
  };

  loaded = load_model_for_cli(path, /*with_tokenizer=*/true);
  if (!loaded) return finish(kExitBadModel);
  auto defaults = make_generate_options(o.sampling, *loaded->tokenizer, -1);
  if (!defaults) {
    MX_LOG_ERROR("{}", defaults.error().message);
    return finish(kExitUsage);
  }
  Expected<ChatFormat> format = load_chat_format(*loaded, o.chat_template_file);
  if (!format) {
    MX_LOG_ERROR("chat template: {}", format.error().message);
    return finish(o.chat_template_file.empty() ? kExitBadModel : kExitUsage);
  }
  if (format->is_fallback()) MX_LOG_WARN("{} has no chat template; chat requests use ChatML", path);
  const int64_t kv_bytes = server::kv_cache_bytes(loaded->model->config, srv.runner_settings());
  if (Status fits = check_memory(path, static_cast<int64_t>(loaded->model->file.file_size()), kv_bytes, available_memory());
      !fits) {
    MX_LOG_ERROR("{}", fits.error().message);
    return finish(kExitBadModel);
  }
  auto make_drafter = load_speculation(o.speculation, *loaded->tokenizer);
  if (!make_drafter) {
    MX_LOG_ERROR("{}", make_drafter.error().message);
    return finish(kExitBadModel);
  }
  if (Status attached = srv.attach(*loaded->model, *loaded->tokenizer, loaded->kernels, std::move(*format),
                                   std::move(*defaults), std::move(*make_drafter));
      !attached) {
    MX_LOG_ERROR("{}", attached.error().message);
    return finish(kExitBadModel);
  }
  loading = false;
  MX_LOG_INFO("serving {} on http://{}:{} ({} sequences at once)", o.server.model_name, o.server.host, srv.port(),
              o.server.parallel);
  http.join();
  waiter.finish();
  return kExitOk;
}

}  // namespace

Runner add_serve(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  app.add_option("-m,--model", o->paths,
                 "GGUF model file (repeat for several models: each loads on its first request; the first is the default)");
  app.add_option("--models-dir", o->models_dir,
                 "Serve every .gguf in DIR (of a split set, its first shard -00001-of-N) beside any -m; ids are file stems")
      ->check(CLI::ExistingDirectory);
  app.add_option("--max-loaded", o->server.limits.max_loaded,
                 "Models loaded at once; the least recently used idle one is unloaded to make room, and a request for "
                 "another model waits while every loaded one is serving (0: no limit)")
      ->capture_default_str();
  app.add_option("--max-memory", o->max_memory,
                 "Memory budget of the loaded models (file size + KV cache), e.g. 8G or 512M; unloads the least recently "
                 "used idle model to stay under it (a model larger than the budget still loads alone)");
  app.add_option("--host", o->server.host, "Address to listen on")->capture_default_str();
  app.add_option("--port", o->server.port, "Port (0: any free port)")->check(CLI::Range(0, 65535))->capture_default_str();
  app.add_option("--parallel", o->server.parallel, "Sequences generated at once")->capture_default_str();
  app.add_option("-c,--ctx-size", o->server.ctx_size, "Context per sequence (0: the model's, at most 4096)")
      ->capture_default_str();
  app.add_option("-t,--threads", o->server.threads, "Compute threads")->capture_default_str();
  app.add_option("--api-key", o->api_key, "Key clients must send (Authorization: Bearer KEY)");
  app.add_option("--api-key-file", o->api_key_file, "File of keys, one per line")->check(CLI::ExistingFile);
  app.add_option("--max-queue", o->server.max_queue, "Requests waiting beyond --parallel before 503")
      ->capture_default_str();
  app.add_option("--max-per-key", o->server.max_per_key, "Requests in flight per API key before 429 (0: no limit)")
      ->capture_default_str();
  app.add_option("--timeout", o->server.timeout_seconds,
                 "Seconds after which a completion still generating ends with finish_reason length (0: never)")
      ->capture_default_str();
  app.add_option("--kv-cache-tokens", o->server.kv_cache_tokens,
                 "KV cache of all sequences together, in positions (0: --parallel x the context). Smaller: requests "
                 "wait for room, and a reply the cache cannot hold ends with finish_reason length")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  add_kv_cache_options(app, o->cache_types);
  add_speculation_options(app, o->speculation);
  app.add_option("--prefix-cache", o->server.prefix_cache_tokens,
                 "Positions of computed prompt prefixes kept for reuse (0: off)")
      ->capture_default_str();
  app.add_option("-b,--batch-size", o->server.batch_size,
                 "Most tokens in one step: every generating sequence's next token, then chunks of waiting prompts (at least --parallel)")
      ->check(CLI::Range(int64_t{1}, kMaxBatch))
      ->capture_default_str();
  app.add_option("--chat-template-file", o->chat_template_file,
                 "Jinja chat template to use instead of the model's (its tool-call syntax is recognised too)")
      ->check(CLI::ExistingFile);
  app.add_option("--alias", o->aliases,
                 "Another name for a model (repeatable). NAME pairs with the -m of the same rank (1st plain --alias with "
                 "1st -m); MODEL=NAME names the model whose id (file stem) or -m text is MODEL. With a single -m, NAME is "
                 "the name it is served under (default: the file's name)");
  app.add_option("--drain-timeout", o->drain_timeout,
                 "On SIGTERM / SIGINT: seconds requests in flight may take to finish (readiness fails and new requests "
                 "get 503 at once); then the rest are cancelled and serve exits 0. A second signal stops at once")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--write-timeout", o->server.write_timeout_seconds,
                 "Seconds a reply may wait on a client that stopped reading before it is cut and its generation cancelled")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  add_sampling_options(app, o->sampling);
  add_config_option(app);
  o->server.threads = default_threads();
  return [o] { return run_serve(*o); };
}

}  // namespace mx::cli
