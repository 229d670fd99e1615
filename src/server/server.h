// `moxing serve`: an OpenAI-compatible HTTP server. Completions go through one generation
// service (server/generation_service.h: prompt, sampling settings, admission, the choices as
// sequences of one batch runner with continuous batching) and a dialect adapter
// (server/openai_adapter.h) that writes its JSON or server-sent events. Routes: /health,
// /health/live, /health/ready, /v1/models,
// /v1/chat/completions, /v1/completions, /v1/embeddings, /tokenize, /detokenize,
// /metrics, and the chat page (/, embedded files). The server can listen before its
// model is loaded: until attach(), /health says "loading" and the API answers 503.
// With several models (the ModelRegistry constructor) a request's "model" picks one
// (server/model_registry.h: loaded on first use, least recently used unloaded for room).
// Shutting down: stop() at once, or drain() (readiness fails and new requests get 503 at once,
// requests in flight finish for up to a timeout, then the rest are cancelled).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/batch_runner.h"
#include "engine/chat_format.h"
#include "engine/generate.h"
#include "server/generation_service.h"
#include "server/metrics.h"
#include "server/model_registry.h"
#include "server/request_gate.h"
#include "server/served_model.h"
#include "tokenizer/tokenizer.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace mx::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                  // 0: any free port (see port())
  int32_t parallel = 4;             // sequences generated at once
  int64_t ctx_size = 0;             // per sequence; 0: the model's, at most 4096
  int threads = 2;
  std::vector<std::string> api_keys;  // empty: no key needed
  size_t max_body_bytes = 8u << 20;
  int max_queue = 64;               // requests waiting beyond `parallel` before 503
  int max_per_key = 0;              // requests in flight per API key before 429 (0: no limit)
  double timeout_seconds = 600;     // a completion still generating after this ends ("length"); 0: never
  int64_t prefix_cache_tokens = 16384;  // positions of prompt prefixes kept for reuse (0: off)
  // The sequences' KV cache in all, in positions; 0: parallel × ctx. Smaller, requests wait
  // for room and a reply the cache cannot hold ends with "length".
  int64_t kv_cache_tokens = 0;
  KvCacheTypes cache_types;  // of keys and values; a model whose heads they do not fit fails to load
  ForwardHook forward_hook = nullptr;  // wraps every forward pass (tests make steps fail); null in production
  int64_t batch_size = 128;  // most rows in one step: decode rows first, prompt chunks fill the rest
  int ping_seconds = 15;            // SSE comment lines keep idle streams open through proxies
  // A reply's write that cannot go on this long (a client that stopped reading) ends the
  // reply and cancels its generation; other replies and the generation loop never wait for it.
  double write_timeout_seconds = 30;
  std::string model_name = "moxing";  // the one model's name (single-model constructors)
  GenerateOptions defaults;         // sampling when a request does not say (and its loader gives none)
  RegistryLimits limits;            // models loaded at once, memory (several models)
};

// Loads one model of a several-model server (a registry entry) for the server to run.
using WeightsLoader = std::function<Expected<LoadedWeights>(const ModelSpec&)>;

class Server {
 public:
  explicit Server(ServerOptions options);
  Server(ServerOptions options, const Model& model, const Tokenizer& tokenizer, KernelTable kernels,
         ChatFormat format);
  // Several models: `models[0]` is the default; each loads on its first request. Ready at once.
  Server(ServerOptions options, std::vector<ModelSpec> models, WeightsLoader loader);
  ~Server();

  // Starts serving the model (once; the objects must outlive the server). `defaults`:
  // sampling settings made with the model's tokenizer, replacing options.defaults;
  // `make_drafter`: speculative decoding (engine/drafter.h).
  // An error if its runner cannot be made (no memory for the KV cache).
  Status attach(const Model& model, const Tokenizer& tokenizer, KernelTable kernels, ChatFormat format,
                std::optional<GenerateOptions> defaults = std::nullopt, DrafterFactory make_drafter = nullptr);

  // Binds the address; false (and a logged reason) if it cannot.
  bool bind();
  int port() const { return port_; }
  // Serves until stop(). Call after bind().
  void serve();
  // New requests get 503; requests in flight are cancelled (their replies end at once,
  // finish_reason "stop"); serve() returns.
  void stop();
  // Stops gracefully: at once /health and /health/ready fail (/health/live stays 200) and new
  // requests get 503 with Retry-After; requests in flight (streamed replies too) finish, for up
  // to `timeout`, after which the rest are cancelled as by stop(); serve() returns. A stop()
  // meanwhile (a second signal) cuts the wait short. Returns once stopped.
  void drain(std::chrono::milliseconds timeout);
  bool draining() const { return gate_.closed(); }
  // Requests being handled, streamed replies until their last byte included.
  int in_flight() const { return static_cast<int>(gate_.inside()) + admission_.in_flight(); }
  // Sequences running and waiting, KV cache use of the default model (for /metrics and tests).
  BatchRunnerStats stats() const;
  const ModelRegistry& registry() const { return *registry_; }
  // What each model's runner gets (context, sequences, ...): its KV cache follows from them.
  RunnerSettings runner_settings() const;

 private:
  Server(ServerOptions options, std::vector<ModelSpec> models, ModelRegistry::Loader loader, bool ready);
  void routes();
  void ollama_routes();
  // The model a request names (the default if it names none, or if this server has one),
  // pinned; or nullopt after sending the error (404 unknown, 503 loading or stopping, 500 failed).
  std::optional<ModelLease> lease_for(const httplib::Request& req, httplib::Response& res, std::string_view name);
  // The model's runner; an error if memory for its KV cache cannot be had.
  Expected<std::shared_ptr<ServedModel>> build(size_t index, LoadedWeights w);
  void completion(const httplib::Request& req, httplib::Response& res, bool chat);
  void tokenize(const httplib::Request& req, httplib::Response& res);
  void detokenize(const httplib::Request& req, httplib::Response& res);
  void embeddings(const ModelLease& m, const std::string& body, httplib::Response& res);
  // The index in options_.api_keys of the key the request carries, or -1.
  int key_index(const httplib::Request& req) const;

  ServerOptions options_;
  Admission admission_;  // completions in flight, overall and per API key
  Metrics metrics_;      // requests by route
  std::vector<std::unique_ptr<Metrics>> model_metrics_;  // per registry entry, kept across unloads
  // Declared after what its models' services point to (metrics, admission): destroyed first.
  std::unique_ptr<ModelRegistry> registry_;
  std::atomic<bool> ready_{false};  // the default model is attached, or models load on demand
  std::unique_ptr<httplib::Server> http_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  RequestGate gate_;  // requests in their handlers; closed by drain()
  // serve() has begun / has returned: stop() must reach a listener that starts after it.
  std::atomic<bool> serve_entered_{false}, serve_returned_{false};
  std::atomic<uint64_t> next_id_{1};
};

}  // namespace mx::server
