// `moxing serve`: the OpenAI-compatible HTTP server (server/server.h) for one model file.
// It listens at once and loads the model behind (/health says "loading" meanwhile).
// SIGINT / SIGTERM stop it gracefully: new requests get 503, requests in flight end.
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cli/chat_template_file.h"
#include "cli/common.h"
#include "cli/sampling_options.h"
#include "core/log.h"
#include "model/forward.h"
#include "server/server.h"

namespace mx::cli {
namespace {

struct ServeOptions {
  std::string path;
  server::ServerOptions server;
  std::string api_key;
  std::string api_key_file;
  std::string chat_template_file;  // replaces the model's chat template
  SamplingCliOptions sampling;
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

int run_serve(ServeOptions o) {
  auto keys = api_keys(o);
  if (!keys) {
    MX_LOG_ERROR("{}", keys.error().message);
    return kExitUsage;
  }
  o.server.api_keys = std::move(*keys);
  // Signals go to one thread that waits for them: blocked here, before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Listen first: while the model loads, /health answers "loading" and the API 503.
  if (o.server.model_name == "moxing") o.server.model_name = std::filesystem::path(o.path).stem().string();
  std::optional<LoadedModel> loaded;  // declared first: outlives the server that reads it
  server::Server srv(o.server);
  if (!srv.bind()) return kExitFailure;
  MX_LOG_INFO("listening on http://{}:{}; loading {}", o.server.host, srv.port(), o.path);
  std::thread http([&] { srv.serve(); });
  std::atomic<bool> stopped{false}, served{false};
  std::thread signal_waiter([&] {
    const timespec poll{0, 200'000'000};
    while (!served) {
      const int sig = sigtimedwait(&signals, nullptr, &poll);
      if (sig > 0) {
        MX_LOG_INFO("signal {}: stopping", sig);
        stopped = true;
        srv.stop();
        return;
      }
    }
  });
  auto finish = [&](int code) {
    srv.stop();
    http.join();
    served = true;
    signal_waiter.join();
    return stopped ? kExitOk : code;
  };

  loaded = load_model_for_cli(o.path, /*with_tokenizer=*/true);
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
  if (format->is_fallback()) MX_LOG_WARN("{} has no chat template; chat requests use ChatML", o.path);
  srv.attach(*loaded->model, *loaded->tokenizer, loaded->kernels, std::move(*format), std::move(*defaults));
  MX_LOG_INFO("serving {} on http://{}:{} ({} sequences at once)", o.server.model_name, o.server.host, srv.port(),
              o.server.parallel);
  http.join();
  served = true;
  signal_waiter.join();
  return kExitOk;
}

}  // namespace

Runner add_serve(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  app.add_option("-m,--model", o->path, "GGUF model file")->required();
  app.add_option("--host", o->server.host, "Address to listen on")->capture_default_str();
  app.add_option("--port", o->server.port, "Port (0: any free port)")->capture_default_str();
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
  app.add_option("--alias", o->server.model_name, "Model name in /v1/models (default: the file's name)");
  add_sampling_options(app, o->sampling);
  o->server.threads = default_threads();
  return [o] { return run_serve(*o); };
}

}  // namespace mx::cli
