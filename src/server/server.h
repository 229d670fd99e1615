// `moxing serve`: an OpenAI-compatible HTTP server. Completions go through one generation
// service (server/generation_service.h: prompt, sampling settings, admission, the choices as
// sequences of one batch runner with continuous batching) and a dialect adapter
// (server/openai_adapter.h) that writes its JSON or server-sent events. Routes: /health, /v1/models,
// /v1/chat/completions, /v1/completions, /v1/embeddings, /tokenize, /detokenize,
// /metrics, and the chat page (/, embedded files). The server can listen before its
// model is loaded: until attach(), /health says "loading" and the API answers 503.
#pragma once

#include <atomic>
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
  int64_t batch_size = 128;  // most rows in one step: decode rows first, prompt chunks fill the rest
  int ping_seconds = 15;            // SSE comment lines keep idle streams open through proxies
  std::string model_name = "moxing";
  GenerateOptions defaults;         // sampling when a request does not say
};

class Server {
 public:
  explicit Server(ServerOptions options);
  Server(ServerOptions options, const Model& model, const Tokenizer& tokenizer, KernelTable kernels,
         ChatFormat format);
  ~Server();

  // Starts serving the model (once; the objects must outlive the server). `defaults`:
  // sampling settings made with the model's tokenizer, replacing options.defaults.
  void attach(const Model& model, const Tokenizer& tokenizer, KernelTable kernels, ChatFormat format,
              std::optional<GenerateOptions> defaults = std::nullopt);

  // Binds the address; false (and a logged reason) if it cannot.
  bool bind();
  int port() const { return port_; }
  // Serves until stop(). Call after bind().
  void serve();
  // New requests get 503; requests in flight are cancelled (their replies end at once,
  // finish_reason "stop"); serve() returns.
  void stop();
  // Sequences running and waiting, KV cache use (for /metrics and tests).
  BatchRunnerStats stats() const { return ready_ ? runner_->stats() : BatchRunnerStats{}; }

 private:
  void routes();
  void completion(const httplib::Request& req, httplib::Response& res, bool chat);
  void tokenize(const httplib::Request& req, httplib::Response& res);
  void detokenize(const httplib::Request& req, httplib::Response& res);
  void embeddings(const httplib::Request& req, httplib::Response& res);
  // The index in options_.api_keys of the key the request carries, or -1.
  int key_index(const httplib::Request& req) const;

  ServerOptions options_;
  Admission admission_;  // completions in flight, overall and per API key
  // Set once by attach(), before ready_ turns true; read only after ready_.
  const Model* model_ = nullptr;
  const Tokenizer* tokenizer_ = nullptr;
  std::string chat_template_;  // the source of the template in use (Ollama's /api/show)
  std::unique_ptr<BatchRunner> runner_;
  std::unique_ptr<GenerationService> generation_;  // what every completion route runs on
  std::atomic<bool> ready_{false};
  std::unique_ptr<httplib::Server> http_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> next_id_{1};
  Metrics metrics_;
};

}  // namespace mx::server
