#include "server/server.h"

#include <httplib.h>

#include <chrono>
#include <ctime>

#include "core/log.h"
#include "core/utf8.h"
#include "engine/dry_breakers.h"
#include "engine/grammar_setup.h"
#include "sampling/gbnf.h"
#include "server/api_error.h"
#include "server/openai_request.h"
#include "server/output_channel.h"

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

json usage(const GenerateStats& s) {
  return {{"prompt_tokens", s.n_prompt}, {"completion_tokens", s.n_generated},
          {"total_tokens", s.n_prompt + s.n_generated}};
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

// The legacy completions logprobs object.
json text_logprobs(const std::vector<StepLogprobs>& steps, const Tokenizer& tok) {
  json tokens = json::array(), lps = json::array(), tops = json::array();
  for (const StepLogprobs& s : steps) {
    tokens.push_back(tok.token_to_piece(s.chosen.token));
    lps.push_back(s.chosen.logprob);
    json top = json::object();
    for (const TokenLogprob& t : s.top) top[tok.token_to_piece(t.token)] = t.logprob;
    tops.push_back(top);
  }
  return {{"tokens", tokens}, {"token_logprobs", lps}, {"top_logprobs", tops}};
}

// What a completion's answer looks like, shared by whole and streamed replies.
struct ReplyShape {
  bool chat;
  std::string id, model;
  int64_t created;

  json choice(const std::string& text, const json& logprobs, const json& finish, bool stream) const {
    json c = {{"index", 0}};
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

}  // namespace

Server::Server(ServerOptions options, const Model& model, const Tokenizer& tokenizer, KernelTable kernels,
               ChatFormat format)
    : options_(std::move(options)),
      model_(model),
      tokenizer_(tokenizer),
      format_(std::move(format)),
      dry_breakers_(dry_breaker_tokens(tokenizer, std::vector<std::string>{"\n", ":", "\"", "*"})),
      runner_(model, std::move(kernels), options_.threads, std::max<int32_t>(1, options_.parallel),
              options_.ctx_size > 0 ? options_.ctx_size
                                    : std::min<int64_t>(model.config.n_ctx_train > 0 ? model.config.n_ctx_train : 4096, 4096)),
      http_(std::make_unique<httplib::Server>()) {
  routes();
}

Server::~Server() { stop(); }

void Server::routes() {
  httplib::Server& h = *http_;
  const int workers = std::max(16, 2 * options_.parallel + 8);  // a streaming reply holds a worker
  h.new_task_queue = [workers] { return new httplib::ThreadPool(static_cast<size_t>(workers)); };
  h.set_payload_max_length(options_.max_body_bytes);
  h.set_read_timeout(60, 0);
  h.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
    if (stopping_) {
      send_error(res, api_error(503, "the server is shutting down", "server_error"));
      return httplib::Server::HandlerResponse::Handled;
    }
    if (options_.api_keys.empty()) return httplib::Server::HandlerResponse::Unhandled;
    const std::string auth = req.get_header_value("Authorization");
    const std::string_view given = auth.rfind("Bearer ", 0) == 0 ? std::string_view(auth).substr(7) : std::string_view();
    bool ok = false;
    for (const std::string& key : options_.api_keys) ok |= same_secret(given, key);
    if (ok) return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, api_error(401, "invalid or missing API key (Authorization: Bearer KEY)", "invalid_request_error", "invalid_api_key"));
    return httplib::Server::HandlerResponse::Handled;
  });
  h.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    const std::string message = res.status == 404   ? "no route " + req.method + " " + req.path
                                : res.status == 413 ? "the request body is too large"
                                                    : "request failed";
    send_error(res, api_error(res.status, message));
  });
  h.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    send_json(res, stopping_ ? 503 : 200, {{"status", stopping_ ? "stopping" : "ok"}});
  });
  h.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (res.status >= 400 && req.path.rfind("/v1/", 0) == 0) metrics_.request_failed(res.status);
  });
  h.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.prometheus(runner_.stats()), "text/plain; version=0.0.4");
  });
  h.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"object", "list"},
                         {"data", json::array({{{"id", options_.model_name}, {"object", "model"},
                                                {"created", static_cast<int64_t>(std::time(nullptr))},
                                                {"owned_by", "moxing"}}})}});
  });
  h.Post("/v1/chat/completions", [this](const httplib::Request& q, httplib::Response& r) { completion(q, r, true); });
  h.Post("/v1/completions", [this](const httplib::Request& q, httplib::Response& r) { completion(q, r, false); });
  h.Post("/tokenize", [this](const httplib::Request& q, httplib::Response& r) { tokenize(q, r); });
  h.Post("/detokenize", [this](const httplib::Request& q, httplib::Response& r) { detokenize(q, r); });
}

bool Server::bind() {
  port_ = options_.port == 0 ? http_->bind_to_any_port(options_.host)
                             : (http_->bind_to_port(options_.host, options_.port) ? options_.port : -1);
  if (port_ < 0) {
    MX_LOG_ERROR("cannot listen on {}:{}", options_.host, options_.port);
    return false;
  }
  return true;
}

void Server::serve() { http_->listen_after_bind(); }

void Server::stop() {
  stopping_ = true;
  http_->stop();
}

void Server::tokenize(const httplib::Request& req, httplib::Response& res) {
  const json body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("content") || !body["content"].is_string())
    return send_error(res, invalid_request("expected {\"content\": TEXT}", "content"));
  const bool add_special = body.value("add_special", false);
  send_json(res, 200, {{"tokens", tokenizer_.encode(body["content"].get<std::string>(), add_special, true)}});
}

void Server::detokenize(const httplib::Request& req, httplib::Response& res) {
  const json body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("tokens") || !body["tokens"].is_array())
    return send_error(res, invalid_request("expected {\"tokens\": [ids]}", "tokens"));
  std::string text;
  for (const json& t : body["tokens"]) {
    if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= tokenizer_.vocab().size())
      return send_error(res, invalid_request("tokens must be ids in the vocabulary", "tokens"));
    text += tokenizer_.token_to_piece(t.get<Token>());
  }
  send_json(res, 200, {{"content", utf8::sanitize(text)}});
}

void Server::completion(const httplib::Request& req, httplib::Response& res, bool chat) {
  metrics_.request_started(chat ? "chat" : "completions");
  const json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded()) return send_error(res, invalid_request("the request body is not valid JSON"));
  auto parsed = parse_completion_request(body, chat, options_.defaults);
  if (auto* e = std::get_if<ApiError>(&parsed)) return send_error(res, *e);
  CompletionRequest r = std::move(std::get<CompletionRequest>(parsed));

  std::vector<Token> prompt;
  if (chat) {
    auto rendered = format_.render_conversation(r.messages, true);
    if (!rendered) return send_error(res, invalid_request("chat template: " + rendered.error().message, "messages"));
    prompt = format_.tokenize(tokenizer_, *rendered);
  } else if (!r.prompt_tokens.empty()) {
    for (Token t : r.prompt_tokens)
      if (t < 0 || t >= tokenizer_.vocab().size())
        return send_error(res, invalid_request(fmt::format("token {} is not in the vocabulary", t), "prompt"));
    prompt = r.prompt_tokens;
  } else {
    prompt = tokenizer_.encode(r.prompt_text, true, true);
  }
  if (static_cast<int64_t>(prompt.size()) >= runner_.n_ctx())
    return send_error(res, invalid_request(fmt::format("the prompt has {} tokens but the context holds {}; shorten it",
                                                   prompt.size(), runner_.n_ctx()), chat ? "messages" : "prompt", "context_length_exceeded"));
  for (const TokenBias& b : r.options.sampling.logit_bias)
    if (b.token >= tokenizer_.vocab().size())
      return send_error(res, invalid_request(fmt::format("logit_bias token {} is not in the vocabulary", b.token), "logit_bias"));
  if (!r.grammar.empty()) {
    auto g = parse_gbnf(r.grammar);
    if (!g) return send_error(res, invalid_request("grammar: " + g.error().message, "grammar"));
    r.options.sampling.grammar = grammar_constraint(std::make_shared<const Grammar>(std::move(*g)), tokenizer_);
  }
  if (r.options.sampling.dry.active() || r.options.loop_guard.mode == LoopGuardMode::kPenalize)
    r.options.sampling.dry_breakers = dry_breakers_;

  if (in_flight_.load() >= options_.parallel + options_.max_queue)
    return send_error(res, api_error(503, "too many requests are waiting; try again later", "server_error"));
  auto channel = std::make_shared<OutputChannel>(tokenizer_, r.stop, chat);
  ScheduledRequest job{.prompt = prompt, .options = r.options, .callbacks = {}, .on_done = nullptr};
  channel->attach(job);
  auto id = runner_.submit(std::move(job));
  if (!id) return send_error(res, invalid_request(id.error().message));
  in_flight_++;

  const ReplyShape shape{chat, fmt::format("{}-{}", chat ? "chatcmpl" : "cmpl", next_id_++),
                         r.model.empty() ? options_.model_name : r.model, static_cast<int64_t>(std::time(nullptr))};
  const bool want_logprobs = r.options.logprobs || r.options.top_logprobs > 0;
  const std::string echo = r.echo ? (r.prompt_text.empty() ? tokenizer_.decode(prompt) : r.prompt_text) : "";

  if (!r.stream) {
    std::string text = echo;
    std::vector<StepLogprobs> logprobs;
    GenerateStats stats;
    for (;;) {
      OutputChannel::Update u = channel->wait(std::chrono::seconds(1));
      text += u.text;
      logprobs.insert(logprobs.end(), u.logprobs.begin(), u.logprobs.end());
      if (u.done) {
        stats = *u.done;
        metrics_.request_finished(stats);
        break;
      }
    }
    in_flight_--;
    const json lp = !want_logprobs ? json(nullptr)
                    : chat         ? json{{"content", chat_logprobs(logprobs, tokenizer_)}}
                                   : text_logprobs(logprobs, tokenizer_);
    json reply = shape.envelope(json::array({shape.choice(text, lp, finish_reason(stats), false)}), false);
    reply["usage"] = usage(stats);
    return send_json(res, 200, reply);
  }

  // Streaming: the provider runs on this worker thread until the reply ends or the client
  // goes away; either way the request is cancelled if it is still generating.
  struct StreamState {
    bool started = false, finished = false;
  };
  auto st = std::make_shared<StreamState>();
  const uint64_t request = *id;
  const bool include_usage = r.include_usage;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, channel, st, shape, request, chat, want_logprobs, include_usage, echo](size_t, httplib::DataSink& sink) {
        auto write = [&](const std::string& s) { return sink.write(s.data(), s.size()); };
        if (!st->started) {
          st->started = true;
          const json first = chat ? shape.envelope(json::array({{{"index", 0}, {"delta", {{"role", "assistant"}, {"content", ""}}},
                                                                 {"logprobs", nullptr}, {"finish_reason", nullptr}}}), true)
                                  : shape.envelope(json::array({shape.choice(echo, nullptr, nullptr, true)}), true);
          if (!write(sse(first))) return false;
        }
        OutputChannel::Update u = channel->wait(std::chrono::seconds(options_.ping_seconds));
        if (stopping_ && !u.done) runner_.cancel(request);
        if (!u.text.empty() || !u.logprobs.empty()) {
          const json lp = !want_logprobs ? json(nullptr)
                          : chat         ? json{{"content", chat_logprobs(u.logprobs, tokenizer_)}}
                                         : text_logprobs(u.logprobs, tokenizer_);
          if (!write(sse(shape.envelope(json::array({shape.choice(u.text, lp, nullptr, true)}), true)))) return false;
        } else if (!u.done) {
          if (!write(": ping\n\n")) return false;  // a comment line: clients ignore it
        }
        if (!u.done) return true;
        metrics_.request_finished(*u.done);
        const json last = shape.envelope(json::array({shape.choice("", nullptr, finish_reason(*u.done), true)}), true);
        if (!write(sse(last))) return false;
        if (include_usage) {
          json tail = shape.envelope(json::array(), true);
          tail["usage"] = usage(*u.done);
          if (!write(sse(tail))) return false;
        }
        st->finished = true;
        write("data: [DONE]\n\n");
        sink.done();
        return true;
      },
      [this, st, request](bool) {
        if (!st->finished) runner_.cancel(request);  // the client left mid-stream
        in_flight_--;
      });
}

}  // namespace mx::server
