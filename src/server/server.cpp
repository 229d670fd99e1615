#include "server/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <future>
#include <new>
#include <thread>

#include "core/base64.h"
#include "core/log.h"
#include "core/utf8.h"
#include "server/anthropic_adapter.h"
#include "server/api_error.h"
#include "server/http_reply.h"
#include "server/model_routes.h"
#include "server/ollama_adapter.h"
#include "server/openai_adapter.h"
#include "server/openai_request.h"
#include "server/responses_adapter.h"
#include "server/token_request.h"
#include "server/web_files.h"

namespace mx::server {

namespace {

using nlohmann::json;

// Compares without stopping at the first difference, so response time does not reveal
// how much of a guessed key was right.
bool same_secret(std::string_view a, std::string_view b) {
  if (b.empty()) return a.empty();
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % b.size()]);
  return diff == 0;
}

bool is_health_path(std::string_view path) { return path == "/health" || path == "/health/live" || path == "/health/ready"; }

// An error found before a request reaches its adapter (API key, start-up, shutdown, routing),
// in the shape of the API its route belongs to, as that API's clients expect to parse it.
void send_route_error(const httplib::Request& req, httplib::Response& res, const ApiError& e) {
  const std::string_view path = req.path;
  if (path.starts_with("/api/")) return send_ollama_error(res, e.status, e.message);
  if (path == "/v1/messages" || path.starts_with("/v1/messages/")) return send_anthropic_error(res, e.status, e.message);
  send_error(res, e);
}

}  // namespace

Server::Server(ServerOptions options, std::vector<ModelSpec> models, ModelRegistry::Loader loader, bool ready)
    : options_(std::move(options)),
      admission_(options_.parallel + options_.max_queue, options_.api_keys.size(), options_.max_per_key),
      http_(std::make_unique<httplib::Server>()) {
  for (size_t i = 0; i < models.size(); ++i) model_metrics_.push_back(std::make_unique<Metrics>());
  // The budget counts a model before its first load by its header; after it, by what it took.
  if (loader && options_.limits.max_bytes > 0)
    for (ModelSpec& m : models) m.estimated_bytes = estimate_memory(m.path, m.estimated_bytes, runner_settings());
  registry_ = std::make_unique<ModelRegistry>(std::move(models), std::move(loader), options_.limits);
  ready_ = ready;
  routes();
}

Server::Server(ServerOptions options)
    : Server(options, {ModelSpec{.id = options.model_name, .aliases = {}, .path = {}, .estimated_bytes = 0}}, nullptr, false) {}

Server::Server(ServerOptions options, const Model& model, const Tokenizer& tokenizer, KernelTable kernels,
               ChatFormat format)
    : Server(std::move(options)) {
  if (Status attached = attach(model, tokenizer, std::move(kernels), std::move(format)); !attached)
    MX_LOG_ERROR("{}", attached.error().message);
}

Server::Server(ServerOptions options, std::vector<ModelSpec> models, WeightsLoader loader)
    : Server(std::move(options), std::move(models),
             [this, loader = std::move(loader)](const ModelSpec& spec) -> Expected<std::shared_ptr<ServedModel>> {
               auto w = loader(spec);
               if (!w) return w.error();
               return build(*registry_->find(spec.id), std::move(*w));
             },
             true) {}

Server::~Server() {
  stop();
  registry_.reset();  // joins every runner before the metrics and admission they point to go away
}

RunnerSettings Server::runner_settings() const {
  return {.ctx_size = options_.ctx_size, .parallel = options_.parallel, .threads = options_.threads,
          .batch_size = options_.batch_size, .prefix_cache_tokens = options_.prefix_cache_tokens,
          .timeout_seconds = options_.timeout_seconds, .kv_tokens = options_.kv_cache_tokens,
          .cache_types = options_.cache_types, .forward_hook = options_.forward_hook};
}

Expected<std::shared_ptr<ServedModel>> Server::build(size_t index, LoadedWeights w) {
  const RunnerSettings settings = runner_settings();
  ModelRegistry* registry = registry_.get();
  // Each generation pins the model until its reply ends, streamed ones too.
  auto pin = [registry, index]() -> std::shared_ptr<void> {
    auto lease = registry->try_acquire(index);
    return lease ? lease->pin() : nullptr;
  };
  const Model* model = w.model;  // read after `w` has moved, if the allocation fails
  if (Status fits = check_kv_cache_types(model->config, settings.cache_types); !fits) return fits.error();
  try {
    return make_served_model(std::move(w), settings, options_.defaults, *model_metrics_[index], admission_, pin);
  } catch (const std::bad_alloc&) {
    return make_error("out of memory allocating the model's KV cache ({} bytes)",
                      kv_cache_bytes(model->config, settings));
  }
}

Status Server::attach(const Model& model, const Tokenizer& tokenizer, KernelTable kernels, ChatFormat format,
                      std::optional<GenerateOptions> defaults, DrafterFactory make_drafter) {
  if (ready_) return {};
  LoadedWeights w{.owner = nullptr, .model = &model, .tokenizer = &tokenizer, .kernels = std::move(kernels),
                  .format = std::move(format), .defaults = std::move(defaults),
                  .make_drafter = std::move(make_drafter)};
  auto served = build(0, std::move(w));
  if (!served) return served.error();
  registry_->attach(0, std::move(*served));
  ready_ = true;
  return {};
}

BatchRunnerStats Server::stats() const {
  BatchRunnerStats out;
  registry_->for_each_loaded([&out](size_t index, const ServedModel& m) {
    if (index == 0) out = m.runner->stats();
  });
  return out;
}

std::optional<ModelLease> Server::lease_for(const httplib::Request& req, httplib::Response& res, std::string_view name) {
  // A single-model server answers whatever model a request names, as it always has.
  const std::optional<size_t> index = registry_->size() == 1 ? std::optional<size_t>(0) : registry_->find(name);
  if (!index) {
    send_route_error(req, res, model_not_found(*registry_, name));
    return std::nullopt;
  }
  Expected<ModelLease> lease = registry_->acquire(*index);
  if (!lease) {
    const bool failed = registry_->status()[*index].state == ModelState::kFailed;
    if (!failed) res.set_header("Retry-After", "1");
    send_route_error(req, res, failed ? api_error(500, lease.error().message, "server_error", "model_load_failed")
                                      : api_error(503, lease.error().message, "server_error", "model_loading"));
    return std::nullopt;
  }
  return std::move(*lease);
}

void Server::routes() {
  httplib::Server& h = *http_;
  // A reply holds a worker from arrival to its last byte, queued ones too.
  const int workers = options_.parallel + options_.max_queue + 8;
  h.new_task_queue = [workers] { return new httplib::ThreadPool(static_cast<size_t>(workers)); };
  h.set_payload_max_length(options_.max_body_bytes);
  // Headers and body go out in separate writes: without this, Nagle's algorithm holds the
  // body of a kept-alive reply until the client's delayed ACK (~40 ms per reply or chunk).
  h.set_tcp_nodelay(true);
  // Browser pages of other origins may call the API (with the key, if one is set).
  h.set_default_headers({{"Access-Control-Allow-Origin", "*"}, {"Access-Control-Allow-Methods", "GET, POST, OPTIONS"}});
  // A preflight may ask for any header: the SDKs send their own (x-api-key, anthropic-version,
  // x-stainless-*); the key is still checked on the request itself.
  h.Options(R"(.*)", [](const httplib::Request& req, httplib::Response& res) {
    const std::string asked = req.get_header_value("Access-Control-Request-Headers");
    res.set_header("Access-Control-Allow-Headers", asked.empty() ? "Authorization, Content-Type" : asked);
    res.status = 204;
  });
  h.set_read_timeout(60, 0);
  // A client that stops reading holds only its own worker, and only this long.
  const auto write_timeout = std::chrono::duration<double>(options_.write_timeout_seconds);
  h.set_write_timeout(std::chrono::duration_cast<std::chrono::microseconds>(write_timeout));
  h.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    // The page itself holds no secret: it asks for the key and sends it with each call.
    if (is_health_path(req.path) || req.method == "OPTIONS" || (req.method == "GET" && find_web_file(req.path)))
      return httplib::Server::HandlerResponse::Unhandled;
    // Scrapes go on while draining: the drain itself is worth watching.
    const bool scrape = req.path == "/metrics" && !stopping_;
    if (stopping_ || (!gate_.enter(&req) && !scrape)) {
      res.set_header("Retry-After", "1");  // another replica, or this one once restarted
      send_route_error(req, res, api_error(503, "the server is shutting down", "server_error", "shutting_down"));
      return httplib::Server::HandlerResponse::Handled;
    }
    auto refuse = [&](const ApiError& e) {
      gate_.leave(&req);
      send_route_error(req, res, e);
      return httplib::Server::HandlerResponse::Handled;
    };
    if (!options_.api_keys.empty()) {
      if (key_index(req) < 0)
        return refuse(api_error(401, "invalid or missing API key (Authorization: Bearer KEY, or x-api-key: KEY)",
                                "invalid_request_error", "invalid_api_key"));
    }
    if (!ready_ && req.path != "/metrics") {
      res.set_header("Retry-After", "1");
      return refuse(api_error(503, "the model is still loading; try again shortly", "server_error", "model_loading"));
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  h.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    const std::string message = res.status == 404   ? "no route " + req.method + " " + req.path
                                : res.status == 413 ? "the request body is too large"
                                                    : "request failed";
    send_route_error(req, res, api_error(res.status, message));
  });
  // /health: ready to serve (200), or loading / draining / stopping (503), as it always was.
  // For orchestrators: /health/live stays 200 while the process answers at all (loading and
  // draining too); /health/ready is /health's answer, failing from the start of a drain.
  auto health = [this](bool liveness) {
    return [this, liveness](const httplib::Request&, httplib::Response& res) {
      const bool draining = gate_.closed() && !stopping_;
      const char* status = stopping_ ? "stopping" : draining ? "draining" : ready_ ? "ok" : "loading";
      const bool up = liveness || (ready_ && !gate_.closed() && !stopping_);
      send_json(res, up ? 200 : 503, {{"status", status}, {"models", model_health(*registry_)}});
    };
  };
  h.Get("/health", health(false));
  h.Get("/health/ready", health(false));
  h.Get("/health/live", health(true));
  h.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    // The handler has returned; a streamed reply is counted on by its generation (Admission).
    gate_.leave(&req);
    if (res.status >= 400 && req.path.rfind("/v1/", 0) == 0) metrics_.request_failed(res.status);
  });
  h.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    // Labels only when there is more than one model: a single model's series stay as they were.
    std::vector<ModelSeries> series;
    for (size_t i = 0; i < registry_->size(); ++i)
      series.push_back({registry_->size() > 1 ? registry_->spec(i).id : "", model_metrics_[i].get(), {}});
    registry_->for_each_loaded([&series](size_t i, const ServedModel& m) {
      series[i].runner = m.runner->stats();
      series[i].loaded = true;
    });
    res.set_content(metrics_.prometheus(series), "text/plain; version=0.0.4");
  });
  const int64_t created = static_cast<int64_t>(std::time(nullptr));
  h.Get("/v1/models", [this, created](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, model_list(*registry_, created));
  });
  h.Get(R"(/v1/models/(.+))", [this, created](const httplib::Request& req, httplib::Response& res) {
    const std::optional<size_t> i = registry_->find(req.matches[1].str());
    if (!i) return send_error(res, model_not_found(*registry_, req.matches[1].str()));
    send_json(res, 200, model_object(registry_->status()[*i], created, registry_->size() > 1));
  });
  h.Post("/v1/chat/completions", [this](const httplib::Request& q, httplib::Response& r) { completion(q, r, true); });
  h.Post("/v1/completions", [this](const httplib::Request& q, httplib::Response& r) { completion(q, r, false); });
  h.Post("/v1/embeddings", [this](const httplib::Request& q, httplib::Response& r) {
    metrics_.request_started("embeddings");
    if (auto m = lease_for(q, r, requested_model(q.body))) embeddings(*m, q.body, r);
  });
  h.Post("/tokenize", [this](const httplib::Request& q, httplib::Response& r) { tokenize(q, r); });
  h.Post("/detokenize", [this](const httplib::Request& q, httplib::Response& r) { detokenize(q, r); });
  ollama_routes();
  // Anthropic's Messages API (server/anthropic_adapter.h).
  h.Post("/v1/messages", [this](const httplib::Request& q, httplib::Response& r) {
    metrics_.request_started("chat");
    auto m = lease_for(q, r, requested_model(q.body));
    if (!m) return;
    const AnthropicSettings settings{.model_name = m->id(), .defaults = &(*m)->defaults};
    anthropic_messages(*(*m)->generation, settings, q.body, key_index(q), r);
  });
  h.Post("/v1/messages/count_tokens", [this](const httplib::Request& q, httplib::Response& r) {
    auto m = lease_for(q, r, requested_model(q.body));
    if (!m) return;
    const AnthropicSettings settings{.model_name = m->id(), .defaults = &(*m)->defaults};
    anthropic_count_tokens(*(*m)->generation, settings, q.body, key_index(q), r);
  });
  // OpenAI's Responses API (server/responses_adapter.h).
  auto response_store = std::make_shared<ResponseStore>();  // for previous_response_id, in memory
  h.Post("/v1/responses", [this, response_store](const httplib::Request& q, httplib::Response& r) {
    metrics_.request_started("chat");
    auto m = lease_for(q, r, requested_model(q.body));
    if (!m) return;
    const ResponsesSettings settings{.model_name = m->id(), .defaults = &(*m)->defaults, .store = response_store.get()};
    responses_create(*(*m)->generation, settings, q.body, key_index(q), r);
  });
  // The chat page: only the embedded files' names match (see web_files.h).
  h.Get(R"(/[A-Za-z0-9._-]*)", [](const httplib::Request& req, httplib::Response& res) {
    const EmbeddedFile* f = find_web_file(req.path);
    if (!f) {
      res.status = 404;
      return;
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_content(std::string(f->body), std::string(content_type_of(f->name)));
  });
}

int Server::key_index(const httplib::Request& req) const {
  const std::string auth = req.get_header_value("Authorization");
  const std::string x_api_key = req.get_header_value("x-api-key");  // Anthropic's clients send the key here
  const std::string_view given = auth.rfind("Bearer ", 0) == 0 ? std::string_view(auth).substr(7) : std::string_view(x_api_key);
  int found = -1;
  for (size_t i = 0; i < options_.api_keys.size(); ++i)  // every key compared: no early exit
    if (same_secret(given, options_.api_keys[i])) found = static_cast<int>(i);
  return found;
}

bool Server::bind() {
  // Debian's httplib is a compiled library that listens with a backlog of 5: many clients
  // arriving at once overflow it and wait for SYN retransmits or fail. The listening
  // socket is caught as it is made, and listen() again (which Linux allows) widens the queue.
  int listener = -1;
  // Accepted sockets inherit the send timeout: even one send() that finds room for part of a
  // chunk cannot block past --write-timeout (httplib only polls before it).
  const double wt = options_.write_timeout_seconds;
  const timeval send_timeout{static_cast<time_t>(wt), static_cast<suseconds_t>((wt - static_cast<double>(static_cast<time_t>(wt))) * 1e6)};
  http_->set_socket_options([&listener, send_timeout](socket_t sock) {
    httplib::default_socket_options(sock);
    if (send_timeout.tv_sec > 0 || send_timeout.tv_usec > 0)
      ::setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
    listener = sock;
  });
  port_ = options_.port == 0 ? http_->bind_to_any_port(options_.host)
                             : (http_->bind_to_port(options_.host, options_.port) ? options_.port : -1);
  http_->set_socket_options(httplib::default_socket_options);
  if (port_ < 0) {
    MX_LOG_ERROR("cannot listen on {}:{}", options_.host, options_.port);
    return false;
  }
  if (listener >= 0 && ::listen(listener, SOMAXCONN) != 0) MX_LOG_WARN("cannot widen the listen queue");
  return true;
}

void Server::serve() {
  serve_entered_ = true;
  if (!stopping_) http_->listen_after_bind();  // stop() may already have run: then not at all
  serve_returned_ = true;
}

void Server::drain(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  gate_.close();
  if (stopping_) return;
  MX_LOG_INFO("draining: {} requests in flight, waiting up to {:.3g} s", in_flight(), timeout.count() / 1000.0);
  if (gate_.wait_idle(deadline, [this] { return admission_.in_flight(); })) {
    MX_LOG_INFO("drained: every request has ended");
  } else if (!stopping_) {
    MX_LOG_WARN("drain timeout: cancelling {} requests still in flight", in_flight());
  }
  stop();
}

void Server::stop() {
  gate_.interrupt();  // a drain waiting for requests ends now
  if (stopping_.exchange(true)) return;
  registry_->close();  // requests waiting for a model get 503
  registry_->for_each_loaded([](size_t, const ServedModel& m) { m.runner->cancel_all(); });
  // Replies in flight end with their last chunk once their sequences are cancelled; give
  // them a moment to be written before the listener closes.
  for (int i = 0; i < 200 && admission_.in_flight() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  // httplib ignores stop() until its accept loop runs. serve() checks stopping_ after saying
  // it has begun, and this checks that it has begun after setting stopping_: one of the two
  // sees the other. If serve() has begun, stop its loop once it runs.
  if (!serve_entered_) return;
  while (!serve_returned_ && !http_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  http_->stop();
}

void Server::tokenize(const httplib::Request& req, httplib::Response& res) {
  auto parsed = parse_tokenize_request(json::parse(req.body, nullptr, false));
  if (auto* e = std::get_if<ApiError>(&parsed)) return send_error(res, *e);
  auto m = lease_for(req, res, requested_model(req.body));
  if (!m) return;
  const TokenizeRequest& r = std::get<TokenizeRequest>(parsed);
  send_json(res, 200, {{"tokens", (*m)->tokenizer->encode(r.content, r.add_special, true)}});
}

void Server::detokenize(const httplib::Request& req, httplib::Response& res) {
  auto parsed = parse_detokenize_request(json::parse(req.body, nullptr, false));
  if (auto* e = std::get_if<ApiError>(&parsed)) return send_error(res, *e);
  auto m = lease_for(req, res, requested_model(req.body));
  if (!m) return;
  const Tokenizer& tokenizer = *(*m)->tokenizer;
  std::string text;
  for (const int64_t id : std::get<std::vector<int64_t>>(parsed)) {
    if (id >= tokenizer.vocab().size()) return send_error(res, invalid_request(kNotIds, "tokens"));
    text += tokenizer.token_to_piece(static_cast<Token>(id));
  }
  send_json(res, 200, {{"content", utf8::sanitize(text)}});
}

void Server::embeddings(const ModelLease& m, const std::string& body_text, httplib::Response& res) {
  const json body = json::parse(body_text, nullptr, false);
  if (body.is_discarded()) return send_error(res, invalid_request("the request body is not valid JSON"));
  auto parsed = parse_embedding_request(body);
  if (auto* e = std::get_if<ApiError>(&parsed)) return send_error(res, *e);
  const EmbeddingRequest& r = std::get<EmbeddingRequest>(parsed);
  const Tokenizer& tokenizer = *m->tokenizer;
  BatchRunner& runner = *m->runner;
  const int64_t width = m->model->config.n_embd;
  if (r.dimensions != 0 && r.dimensions != width)
    return send_error(res, invalid_request(fmt::format("this model's embeddings have {} dimensions", width), "dimensions"));

  std::vector<std::vector<Token>> texts;
  int64_t n_tokens = 0;
  for (size_t i = 0; i < r.inputs.size(); ++i) {
    std::vector<Token> t = r.inputs[i].tokens.empty() ? tokenizer.encode(r.inputs[i].text, true, false) : r.inputs[i].tokens;
    const std::string param = fmt::format("input[{}]", i);
    if (t.empty()) return send_error(res, invalid_request("an input is empty", param));
    for (const Token id : t)
      if (id < 0 || id >= tokenizer.vocab().size())
        return send_error(res, invalid_request(fmt::format("token {} is not in the vocabulary", id), param));
    if (static_cast<int64_t>(t.size()) > runner.n_ctx())
      return send_error(res, invalid_request(fmt::format("input {} has {} tokens but the context holds {}", i, t.size(),
                                                         runner.n_ctx()), param, "context_length_exceeded"));
    n_tokens += static_cast<int64_t>(t.size());
    texts.push_back(std::move(t));
  }

  std::vector<std::future<Expected<std::vector<float>>>> results;
  for (std::vector<Token>& t : texts) {
    auto promise = std::make_shared<std::promise<Expected<std::vector<float>>>>();
    results.push_back(promise->get_future());
    runner.embed(std::move(t), [promise](Expected<std::vector<float>> v) { promise->set_value(std::move(v)); });
  }
  json data = json::array();
  for (size_t i = 0; i < results.size(); ++i) {
    Expected<std::vector<float>> v = results[i].get();
    if (!v) return send_error(res, api_error(500, v.error().message, "server_error"));
    json embedding = r.base64 ? json(base64_encode(std::string_view(reinterpret_cast<const char*>(v->data()), v->size() * sizeof(float))))
                              : json(*v);
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", std::move(embedding)}});
  }
  send_json(res, 200, {{"object", "list"},
                       {"data", std::move(data)},
                       {"model", r.model.empty() ? m.id() : r.model},
                       {"usage", {{"prompt_tokens", n_tokens}, {"total_tokens", n_tokens}}}});
}

void Server::completion(const httplib::Request& req, httplib::Response& res, bool chat) {
  metrics_.request_started(chat ? "chat" : "completions");
  auto m = lease_for(req, res, requested_model(req.body));
  if (!m) return;
  const OpenAiSettings settings{.model_name = m->id(), .defaults = &(*m)->defaults,
                                .ping_seconds = options_.ping_seconds, .next_id = &next_id_};
  openai_completion(*(*m)->generation, settings, req.body, chat, key_index(req), res);
}

}  // namespace mx::server
