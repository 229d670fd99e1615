#include "server/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <future>
#include <random>
#include <thread>

#include "core/base64.h"
#include "core/log.h"
#include "core/utf8.h"
#include "engine/dry_breakers.h"
#include "engine/grammar_setup.h"
#include "sampling/gbnf.h"
#include "server/api_error.h"
#include "server/openai_request.h"
#include "server/output_channel.h"
#include "server/tool_calls.h"
#include "server/web_files.h"
#include "tokenizer/stream_decoder.h"

namespace mx::server {

namespace {

using nlohmann::json;

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, const ApiError& e) { send_json(res, e.status, e.to_json()); }

// Compares without stopping at the first difference, so response time does not reveal
// how much of a guessed key was right.
bool same_secret(std::string_view a, std::string_view b) {
  if (b.empty()) return a.empty();
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % b.size()]);
  return diff == 0;
}

std::string finish_reason(const GenerateStats& s) {
  switch (s.finish) {
    case FinishReason::kEndOfText:
    case FinishReason::kStopped: return "stop";
    case FinishReason::kLength:
    case FinishReason::kContextFull: return "length";
    case FinishReason::kRepetition: return "repetition";
  }
  return "stop";
}

json token_bytes(const std::string& piece) {
  json bytes = json::array();
  for (const char c : piece) bytes.push_back(static_cast<unsigned char>(c));
  return bytes;
}

// OpenAI's chat logprobs entries for some steps.
json chat_logprobs(const std::vector<StepLogprobs>& steps, const Tokenizer& tok) {
  json content = json::array();
  for (const StepLogprobs& s : steps) {
    const std::string piece = tok.token_to_piece(s.chosen.token);
    json top = json::array();
    for (const TokenLogprob& t : s.top) {
      const std::string p = tok.token_to_piece(t.token);
      top.push_back({{"token", p}, {"logprob", t.logprob}, {"bytes", token_bytes(p)}});
    }
    content.push_back({{"token", piece}, {"logprob", s.chosen.logprob}, {"bytes", token_bytes(piece)}, {"top_logprobs", top}});
  }
  return content;
}

// Characters, as OpenAI's text_offset counts them: bytes that do not continue a UTF-8
// sequence (so a character split across tokens counts once, where it starts).
size_t characters(std::string_view s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// The text of each prompt token as the echo shows it: pieces through a stream decoder, so
// they join to the echoed text (from a text prompt the first word loses the space the
// encoder put before it, as in the echo; BOS and other control tokens are empty).
std::vector<std::string> prompt_pieces(const Tokenizer& tok, std::span<const Token> prompt, bool from_text) {
  std::vector<std::string> pieces;
  size_t i = 0;
  if (!prompt.empty() && prompt[0] == tok.vocab().bos()) {
    pieces.emplace_back();
    i = 1;
  }
  StreamDecoder decoder(tok, {.render_special = false, .strip_space_prefix = from_text || i == 0});
  for (; i < prompt.size(); ++i) pieces.push_back(decoder.push(prompt[i]));
  if (!pieces.empty()) pieces.back() += decoder.flush();
  return pieces;
}

// The legacy completions logprobs object. `offset`: where the next token starts in the
// choice's text; `rendered`: steps of the choice already sent, the first of which are
// named by `names` (a scored prompt's pieces); both advance past these steps.
json text_logprobs(const std::vector<StepLogprobs>& steps, const Tokenizer& tok, std::span<const std::string> names,
                   size_t& offset, size_t& rendered) {
  json tokens = json::array(), lps = json::array(), tops = json::array(), offsets = json::array();
  for (const StepLogprobs& s : steps) {
    const std::string piece = rendered < names.size() ? names[rendered] : tok.token_to_piece(s.chosen.token);
    ++rendered;
    tokens.push_back(piece);
    offsets.push_back(offset);
    offset += characters(piece);
    if (std::isnan(s.chosen.logprob)) {  // a prompt's first token: nothing to condition on
      lps.push_back(nullptr);
      tops.push_back(nullptr);
      continue;
    }
    lps.push_back(s.chosen.logprob);
    json top = json::object();
    for (const TokenLogprob& t : s.top) top[tok.token_to_piece(t.token)] = t.logprob;
    tops.push_back(top);
  }
  return {{"tokens", tokens}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

// What a completion's answer looks like, shared by whole and streamed replies.
struct ReplyShape {
  bool chat;
  std::string id, model;
  int64_t created;

  json choice(int index, const std::string& text, const json& logprobs, const json& finish, bool stream) const {
    json c = {{"index", index}};
    if (chat) c[stream ? "delta" : "message"] = stream ? json{{"content", text}} : json{{"role", "assistant"}, {"content", text}};
    else c["text"] = text;
    c["logprobs"] = logprobs;
    c["finish_reason"] = finish;
    return c;
  }
  json envelope(json choices, bool stream) const {
    return {{"id", id},
            {"object", chat ? (stream ? "chat.completion.chunk" : "chat.completion") : "text_completion"},
            {"created", created},
            {"model", model},
            {"choices", std::move(choices)}};
  }
};

std::string sse(const json& j) { return "data: " + j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n"; }

// Prompt tokens once, generated tokens of every choice.
json usage_of(const std::vector<GenerateStats>& done) {
  int64_t generated = 0;
  for (const GenerateStats& s : done) generated += s.n_generated;
  const int64_t prompt = done.empty() ? 0 : done.front().n_prompt;
  int64_t cached = 0;  // of the prompt, restored from the prefix cache (the most any choice had)
  for (const GenerateStats& s : done) cached = std::max(cached, s.n_cached);
  return {{"prompt_tokens", prompt}, {"completion_tokens", generated}, {"total_tokens", prompt + generated},
          {"prompt_tokens_details", {{"cached_tokens", cached}}}};
}

}  // namespace

Server::Server(ServerOptions options) : options_(std::move(options)), http_(std::make_unique<httplib::Server>()) {
  routes();
}

Server::Server(ServerOptions options, const Model& model, const Tokenizer& tokenizer, KernelTable kernels,
               ChatFormat format)
    : Server(std::move(options)) {
  attach(model, tokenizer, std::move(kernels), std::move(format));
}

Server::~Server() {
  stop();
  runner_.reset();  // joins the runner before the model it reads goes away
}

void Server::attach(const Model& model, const Tokenizer& tokenizer, KernelTable kernels, ChatFormat format,
                    std::optional<GenerateOptions> defaults) {
  if (ready_) return;
  if (defaults) options_.defaults = std::move(*defaults);
  model_ = &model;
  tokenizer_ = &tokenizer;
  format_ = std::make_unique<ChatFormat>(std::move(format));
  dry_breakers_ = dry_breaker_tokens(tokenizer, std::vector<std::string>{"\n", ":", "\"", "*"});
  token_texts_ = token_texts(tokenizer);
  for (Token t = 0; t < tokenizer.vocab().size(); ++t)
    if (tokenizer.vocab().is_eog(t)) end_tokens_.push_back(t);
  const int64_t n_ctx = options_.ctx_size > 0 ? options_.ctx_size
                                              : std::min<int64_t>(model.config.n_ctx_train > 0 ? model.config.n_ctx_train : 4096, 4096);
  const int32_t parallel = std::max<int32_t>(1, options_.parallel);
  // Every generating sequence adds a row to every step: the budget holds them all.
  const int64_t batch = std::clamp<int64_t>(options_.batch_size, parallel, kMaxBatch);
  runner_ = std::make_unique<BatchRunner>(model, std::move(kernels), options_.threads, parallel, n_ctx, batch,
                                          options_.prefix_cache_tokens);
  ready_ = true;
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
  h.set_default_headers({{"Access-Control-Allow-Origin", "*"},
                         {"Access-Control-Allow-Headers", "Authorization, Content-Type"},
                         {"Access-Control-Allow-Methods", "GET, POST, OPTIONS"}});
  h.Options(R"(.*)", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  h.set_read_timeout(60, 0);
  h.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    // The page itself holds no secret: it asks for the key and sends it with each call.
    if (req.path == "/health" || req.method == "OPTIONS" || (req.method == "GET" && find_web_file(req.path)))
      return httplib::Server::HandlerResponse::Unhandled;
    if (stopping_) {
      send_error(res, api_error(503, "the server is shutting down", "server_error"));
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!options_.api_keys.empty()) {
      if (key_index(req) < 0) {
        send_error(res, api_error(401, "invalid or missing API key (Authorization: Bearer KEY)", "invalid_request_error",
                                  "invalid_api_key"));
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    if (!ready_ && req.path != "/metrics") {
      res.set_header("Retry-After", "1");
      send_error(res, api_error(503, "the model is still loading; try again shortly", "server_error", "model_loading"));
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  h.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    const std::string message = res.status == 404   ? "no route " + req.method + " " + req.path
                                : res.status == 413 ? "the request body is too large"
                                                    : "request failed";
    send_error(res, api_error(res.status, message));
  });
  h.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    const char* status = stopping_ ? "stopping" : ready_ ? "ok" : "loading";
    send_json(res, stopping_ || !ready_ ? 503 : 200, {{"status", status}});
  });
  h.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (res.status >= 400 && req.path.rfind("/v1/", 0) == 0) metrics_.request_failed(res.status);
  });
  h.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.prometheus(stats()), "text/plain; version=0.0.4");
  });
  const json model_object = {{"id", options_.model_name}, {"object", "model"},
                             {"created", static_cast<int64_t>(std::time(nullptr))}, {"owned_by", "moxing"}};
  h.Get("/v1/models", [model_object](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"object", "list"}, {"data", json::array({model_object})}});
  });
  h.Get(R"(/v1/models/(.+))", [this, model_object](const httplib::Request& req, httplib::Response& res) {
    if (req.matches[1] == options_.model_name) return send_json(res, 200, model_object);
    send_error(res, api_error(404, fmt::format("the model '{}' does not exist; this server has '{}'",
                                               req.matches[1].str(), options_.model_name),
                              "invalid_request_error", "model_not_found"));
  });
  h.Post("/v1/chat/completions", [this](const httplib::Request& q, httplib::Response& r) { completion(q, r, true); });
  h.Post("/v1/completions", [this](const httplib::Request& q, httplib::Response& r) { completion(q, r, false); });
  h.Post("/v1/embeddings", [this](const httplib::Request& q, httplib::Response& r) { embeddings(q, r); });
  h.Post("/tokenize", [this](const httplib::Request& q, httplib::Response& r) { tokenize(q, r); });
  h.Post("/detokenize", [this](const httplib::Request& q, httplib::Response& r) { detokenize(q, r); });
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
  const std::string_view given = auth.rfind("Bearer ", 0) == 0 ? std::string_view(auth).substr(7) : std::string_view();
  int found = -1;
  for (size_t i = 0; i < options_.api_keys.size(); ++i)  // every key compared: no early exit
    if (same_secret(given, options_.api_keys[i])) found = static_cast<int>(i);
  return found;
}

std::shared_ptr<void> Server::admit_request(int key) {
  if (key >= 0 && options_.max_per_key > 0) {
    std::lock_guard lock(keys_mutex_);
    if (key_in_flight_.size() < options_.api_keys.size()) key_in_flight_.resize(options_.api_keys.size(), 0);
    if (key_in_flight_[key] >= options_.max_per_key) return nullptr;
    ++key_in_flight_[key];
  } else {
    key = -1;
  }
  ++in_flight_;
  return std::shared_ptr<void>(static_cast<void*>(this), [this, key](void*) {
    if (key >= 0) {
      std::lock_guard lock(keys_mutex_);
      --key_in_flight_[key];
    }
    --in_flight_;
  });
}

bool Server::bind() {
  // Debian's httplib is a compiled library that listens with a backlog of 5: many clients
  // arriving at once overflow it and wait for SYN retransmits or fail. The listening
  // socket is caught as it is made, and listen() again (which Linux allows) widens the queue.
  int listener = -1;
  http_->set_socket_options([&listener](socket_t sock) {
    httplib::default_socket_options(sock);
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

void Server::serve() { http_->listen_after_bind(); }

void Server::stop() {
  if (stopping_.exchange(true)) return;
  if (ready_) runner_->cancel_all();
  // Replies in flight end with their last chunk once their sequences are cancelled; give
  // them a moment to be written before the listener closes.
  for (int i = 0; i < 200 && in_flight_.load() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  http_->stop();
}

void Server::tokenize(const httplib::Request& req, httplib::Response& res) {
  const json body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("content") || !body["content"].is_string())
    return send_error(res, invalid_request("expected {\"content\": TEXT}", "content"));
  const bool add_special = body.value("add_special", false);
  send_json(res, 200, {{"tokens", tokenizer_->encode(body["content"].get<std::string>(), add_special, true)}});
}

void Server::detokenize(const httplib::Request& req, httplib::Response& res) {
  const json body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("tokens") || !body["tokens"].is_array())
    return send_error(res, invalid_request("expected {\"tokens\": [ids]}", "tokens"));
  std::string text;
  for (const json& t : body["tokens"]) {
    if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= tokenizer_->vocab().size())
      return send_error(res, invalid_request("tokens must be ids in the vocabulary", "tokens"));
    text += tokenizer_->token_to_piece(t.get<Token>());
  }
  send_json(res, 200, {{"content", utf8::sanitize(text)}});
}

void Server::embeddings(const httplib::Request& req, httplib::Response& res) {
  metrics_.request_started("embeddings");
  const json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded()) return send_error(res, invalid_request("the request body is not valid JSON"));
  auto parsed = parse_embedding_request(body);
  if (auto* e = std::get_if<ApiError>(&parsed)) return send_error(res, *e);
  const EmbeddingRequest& r = std::get<EmbeddingRequest>(parsed);
  const int64_t width = model_->config.n_embd;
  if (r.dimensions != 0 && r.dimensions != width)
    return send_error(res, invalid_request(fmt::format("this model's embeddings have {} dimensions", width), "dimensions"));

  std::vector<std::vector<Token>> texts;
  int64_t n_tokens = 0;
  for (size_t i = 0; i < r.inputs.size(); ++i) {
    std::vector<Token> t = r.inputs[i].tokens.empty() ? tokenizer_->encode(r.inputs[i].text, true, false) : r.inputs[i].tokens;
    const std::string param = fmt::format("input[{}]", i);
    if (t.empty()) return send_error(res, invalid_request("an input is empty", param));
    for (const Token id : t)
      if (id < 0 || id >= tokenizer_->vocab().size())
        return send_error(res, invalid_request(fmt::format("token {} is not in the vocabulary", id), param));
    if (static_cast<int64_t>(t.size()) > runner_->n_ctx())
      return send_error(res, invalid_request(fmt::format("input {} has {} tokens but the context holds {}", i, t.size(),
                                                         runner_->n_ctx()), param, "context_length_exceeded"));
    n_tokens += static_cast<int64_t>(t.size());
    texts.push_back(std::move(t));
  }

  std::vector<std::future<Expected<std::vector<float>>>> results;
  for (std::vector<Token>& t : texts) {
    auto promise = std::make_shared<std::promise<Expected<std::vector<float>>>>();
    results.push_back(promise->get_future());
    runner_->embed(std::move(t), [promise](Expected<std::vector<float>> v) { promise->set_value(std::move(v)); });
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
                       {"model", r.model.empty() ? options_.model_name : r.model},
                       {"usage", {{"prompt_tokens", n_tokens}, {"total_tokens", n_tokens}}}});
}

void Server::completion(const httplib::Request& req, httplib::Response& res, bool chat) {
  metrics_.request_started(chat ? "chat" : "completions");
  const json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded()) return send_error(res, invalid_request("the request body is not valid JSON"));
  auto parsed = parse_completion_request(body, chat, options_.defaults);
  if (auto* e = std::get_if<ApiError>(&parsed)) return send_error(res, *e);
  CompletionRequest r = std::move(std::get<CompletionRequest>(parsed));
  const Tokenizer& tokenizer = *tokenizer_;

  std::vector<Token> prompt;
  ReplyParsing parsing;  // chat: how the reply splits into text, reasoning and tool calls
  if (chat) {
    nlohmann::ordered_json extra = r.template_kwargs.is_object() ? r.template_kwargs : nlohmann::ordered_json::object();
    if (!r.tools.is_null()) extra["tools"] = r.tools;
    auto rendered = format_->render_conversation(r.messages, true, extra);
    if (!rendered) return send_error(res, invalid_request("chat template: " + rendered.error().message, "messages"));
    prompt = format_->tokenize(tokenizer, *rendered);
    parsing = reply_parsing(r, *format_, rendered->text);
  } else if (!r.prompt_tokens.empty()) {
    for (Token t : r.prompt_tokens)
      if (t < 0 || t >= tokenizer.vocab().size())
        return send_error(res, invalid_request(fmt::format("token {} is not in the vocabulary", t), "prompt"));
    prompt = r.prompt_tokens;
  } else {
    prompt = tokenizer.encode(r.prompt_text, true, true);
  }
  if (static_cast<int64_t>(prompt.size()) >= runner_->n_ctx())
    return send_error(res, invalid_request(fmt::format("the prompt has {} tokens but the context holds {}; shorten it",
                                                   prompt.size(), runner_->n_ctx()), chat ? "messages" : "prompt", "context_length_exceeded"));
  for (const TokenBias& b : r.options.sampling.logit_bias)
    if (b.token >= tokenizer.vocab().size())
      return send_error(res, invalid_request(fmt::format("logit_bias token {} is not in the vocabulary", b.token), "logit_bias"));
  if (r.ignore_eos)  // end-of-generation tokens are never drawn
    for (const Token t : end_tokens_) r.options.sampling.logit_bias.push_back({t, -1e9f});
  if (!parsing.grammar.empty()) r.grammar = parsing.grammar;  // never both: the request parser refuses it
  if (!r.grammar.empty()) {
    auto g = parse_gbnf(r.grammar);
    if (!g) return send_error(res, invalid_request("grammar: " + g.error().message, parsing.grammar.empty() ? "grammar" : "tools"));
    r.options.sampling.grammar = grammar_constraint(std::make_shared<const Grammar>(std::move(*g)), token_texts_, tokenizer);
  }
  r.options.sampling.texts = token_texts_;  // replies are well-formed UTF-8 by construction
  if (r.options.sampling.dry.active() || r.options.loop_guard.mode == LoopGuardMode::kPenalize)
    r.options.sampling.dry_breakers = dry_breakers_;

  if (in_flight_.load() >= options_.parallel + options_.max_queue)
    return send_error(res, api_error(503, "too many requests are waiting; try again later", "server_error"));
  const std::shared_ptr<void> admitted = admit_request(key_index(req));
  if (!admitted)
    return send_error(res, api_error(429, fmt::format("this API key already has {} requests in flight; wait for one to end",
                                                      options_.max_per_key), "requests", "rate_limit_exceeded"));
  // Each choice is a sequence of its own; choice i draws with seed + i.
  std::vector<std::shared_ptr<OutputChannel>> channels;
  std::vector<uint64_t> ids;
  for (int i = 0; i < r.n; ++i) {
    auto channel = std::make_shared<OutputChannel>(tokenizer, r.stop, chat, parsing.render_special);
    ScheduledRequest job{.prompt = prompt, .options = r.options, .callbacks = {}, .on_done = nullptr};
    job.options.sampling.seed += static_cast<uint64_t>(i);
    channel->attach(job);
    auto id = runner_->submit(std::move(job));
    if (!id) {
      for (const uint64_t started : ids) runner_->cancel(started);
      return send_error(res, invalid_request(id.error().message));
    }
    channels.push_back(std::move(channel));
    ids.push_back(*id);
  }
  // Past the deadline the choices still generating are cancelled and end as "length".
  const auto deadline = options_.timeout_seconds > 0
                            ? std::chrono::steady_clock::now() +
                                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                      std::chrono::duration<double>(options_.timeout_seconds))
                            : std::chrono::steady_clock::time_point::max();
  auto timed_out = std::make_shared<std::atomic<bool>>(false);
  auto check_deadline = [this, ids, deadline, timed_out] {
    if (*timed_out || std::chrono::steady_clock::now() < deadline) return;
    *timed_out = true;
    for (const uint64_t id : ids) runner_->cancel(id);
  };
  auto finish_of = [timed_out](const GenerateStats& s) {
    return *timed_out && s.finish == FinishReason::kStopped ? std::string("length") : finish_reason(s);
  };

  const ReplyShape shape{chat, fmt::format("{}-{}", chat ? "chatcmpl" : "cmpl", next_id_++),
                         r.model.empty() ? options_.model_name : r.model, static_cast<int64_t>(std::time(nullptr))};
  const bool want_logprobs = r.options.logprobs || r.options.top_logprobs > 0;
  const std::string echo = r.echo ? (r.prompt_text.empty() ? tokenizer.decode(prompt) : r.prompt_text) : "";
  auto names = std::make_shared<const std::vector<std::string>>(
      r.options.prompt_logprobs ? prompt_pieces(tokenizer, prompt, !r.prompt_text.empty()) : std::vector<std::string>{});
  auto logprobs_json = [this, chat, want_logprobs, names](const std::vector<StepLogprobs>& steps, size_t& offset,
                                                          size_t& rendered) {
    return !want_logprobs ? json(nullptr)
           : chat         ? json{{"content", chat_logprobs(steps, *tokenizer_)}}
                          : text_logprobs(steps, *tokenizer_, *names, offset, rendered);
  };

  const auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());  // tool call ids
  if (!r.stream) {
    json choices = json::array();
    std::vector<GenerateStats> done;
    for (int i = 0; i < r.n; ++i) {
      std::string text = echo;
      std::vector<StepLogprobs> logprobs;
      std::optional<chat::OutputParser> parser;
      ChatMessageBuilder message(*rng);
      if (parsing.active) parser.emplace(parsing.options);
      for (;;) {
        OutputChannel::Update u = channels[i]->wait(std::chrono::seconds(1));
        check_deadline();
        if (parser) {
          message.add(parser->push(u.text));
          if (u.done) message.add(parser->finish());
        }
        text += u.text;
        logprobs.insert(logprobs.end(), u.logprobs.begin(), u.logprobs.end());
        if (u.done) {
          done.push_back(*u.done);
          metrics_.request_finished(*u.done);
          break;
        }
      }
      size_t offset = r.options.prompt_logprobs ? 0 : characters(echo), rendered = 0;  // a scored prompt comes first
      if (!parser) {
        choices.push_back(shape.choice(i, text, logprobs_json(logprobs, offset, rendered), finish_of(done.back()), false));
        continue;
      }
      json c = shape.choice(i, "", logprobs_json(logprobs, offset, rendered),
                            message.has_calls() ? "tool_calls" : finish_of(done.back()), false);
      c["message"] = message.message();
      choices.push_back(std::move(c));
    }
    json reply = shape.envelope(std::move(choices), false);
    reply["usage"] = usage_of(done);
    return send_json(res, 200, reply);
  }

  // Streaming: the provider runs on this worker thread until the reply ends or the client
  // goes away; either way the choices still generating are cancelled.
  struct StreamState {
    bool started = false, finished = false;
    std::vector<std::optional<GenerateStats>> done;
    std::vector<size_t> offsets;   // of each choice's next token in its text
    std::vector<size_t> rendered;  // logprobs steps each choice has sent
    std::vector<chat::OutputParser> parsers;  // per choice, when the reply is parsed
    std::vector<ChatDeltaBuilder> deltas;
    std::chrono::steady_clock::time_point last_write = std::chrono::steady_clock::now();
  };
  auto st = std::make_shared<StreamState>();
  st->done.resize(channels.size());
  st->offsets.assign(channels.size(), r.options.prompt_logprobs ? 0 : characters(echo));
  st->rendered.assign(channels.size(), 0);
  if (parsing.active)
    for (size_t i = 0; i < channels.size(); ++i) {
      st->parsers.emplace_back(parsing.options);
      st->deltas.emplace_back(*rng);
    }
  const bool include_usage = r.include_usage;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, channels, st, shape, chat, include_usage, echo, logprobs_json, check_deadline, finish_of, rng](size_t, httplib::DataSink& sink) {
        auto write = [&](const std::string& s) {
          st->last_write = std::chrono::steady_clock::now();
          return sink.write(s.data(), s.size());
        };
        // A parsed reply: its text, reasoning and calls as deltas (the logprobs ride on the first).
        auto write_parsed = [&](int i, const OutputChannel::Update& u) {
          std::vector<chat::OutputEvent> events = st->parsers[i].push(u.text);
          if (u.done) {
            std::vector<chat::OutputEvent> tail = st->parsers[i].finish();
            events.insert(events.end(), std::make_move_iterator(tail.begin()), std::make_move_iterator(tail.end()));
          }
          std::vector<json> deltas = st->deltas[i].deltas(events);
          if (deltas.empty() && !u.logprobs.empty()) deltas.push_back({{"content", ""}});
          json logprobs = u.logprobs.empty() ? json(nullptr) : logprobs_json(u.logprobs, st->offsets[i], st->rendered[i]);
          for (json& d : deltas) {
            json c = shape.choice(i, "", std::exchange(logprobs, json(nullptr)), nullptr, true);
            c["delta"] = std::move(d);
            if (!write(sse(shape.envelope(json::array({std::move(c)}), true)))) return false;
          }
          return true;
        };
        const int n = static_cast<int>(channels.size());
        if (!st->started) {
          st->started = true;
          // Chat opens with the role; a completion opens with its echo, if any.
          for (int i = 0; i < n && (chat || !echo.empty()); ++i) {
            const json first = chat ? json{{"index", i}, {"delta", {{"role", "assistant"}, {"content", ""}}},
                                           {"logprobs", nullptr}, {"finish_reason", nullptr}}
                                    : shape.choice(i, echo, nullptr, nullptr, true);
            if (!write(sse(shape.envelope(json::array({first}), true)))) return false;
          }
        }
        // One choice waits the whole ping interval; several are polled in turn.
        const auto wait = n == 1 ? std::chrono::milliseconds(options_.ping_seconds * 1000) : std::chrono::milliseconds(20);
        for (int i = 0; i < n; ++i) {
          if (st->done[i]) continue;
          OutputChannel::Update u = channels[i]->wait(wait);
          check_deadline();
          if (!st->parsers.empty()) {
            if (!write_parsed(i, u)) return false;
          } else if (!u.text.empty() || !u.logprobs.empty()) {
            if (!write(sse(shape.envelope(json::array({shape.choice(i, u.text, logprobs_json(u.logprobs, st->offsets[i], st->rendered[i]), nullptr, true)}), true))))
              return false;
          }
          if (!u.done) continue;
          st->done[i] = u.done;
          metrics_.request_finished(*u.done);
          const bool called = !st->deltas.empty() && st->deltas[i].has_calls();
          if (!write(sse(shape.envelope(json::array({shape.choice(i, "", nullptr, called ? "tool_calls" : finish_of(*u.done), true)}), true))))
            return false;
        }
        if (std::any_of(st->done.begin(), st->done.end(), [](const auto& d) { return !d; })) {
          if (std::chrono::steady_clock::now() - st->last_write >= std::chrono::seconds(options_.ping_seconds))
            return write(": ping\n\n");  // a comment line: clients ignore it; proxies see traffic
          return true;
        }
        if (include_usage) {
          json tail = shape.envelope(json::array(), true);
          std::vector<GenerateStats> done;
          for (const auto& d : st->done) done.push_back(*d);
          tail["usage"] = usage_of(done);
          if (!write(sse(tail))) return false;
        }
        st->finished = true;
        write("data: [DONE]\n\n");
        sink.done();
        return true;
      },
      [this, st, ids, admitted](bool) {  // `admitted` holds the request's place until the reply ends
        for (size_t i = 0; i < ids.size(); ++i)
          if (!st->done[i]) {  // the client left mid-stream
            runner_->cancel(ids[i]);
            metrics_.request_cancelled();
          }
      });
}

}  // namespace mx::server
