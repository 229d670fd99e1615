#include "server/openai_adapter.h"

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <random>

#include "server/http_reply.h"
#include "server/tool_calls.h"

namespace mx::server {

namespace {

using nlohmann::json;

const char* finish_reason(FinishKind f) {
  switch (f) {
    case FinishKind::kStop: return "stop";
    case FinishKind::kLength: return "length";
    case FinishKind::kToolCalls: return "tool_calls";
    case FinishKind::kRepetition: return "repetition";
    case FinishKind::kError: return "error";  // never sent: a failed choice is an error reply or event
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

json usage_json(const std::vector<GenerateStats>& done) {
  const Usage u = usage_of(done);
  json usage = {{"prompt_tokens", u.prompt_tokens}, {"completion_tokens", u.completion_tokens},
                {"total_tokens", u.prompt_tokens + u.completion_tokens},
                {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}}};
  // Speculative decoding, in the fields OpenAI's predicted outputs report it in.
  if (u.drafted_tokens > 0)
    usage["completion_tokens_details"] = {{"accepted_prediction_tokens", u.accepted_tokens},
                                          {"rejected_prediction_tokens", u.drafted_tokens - u.accepted_tokens}};
  return usage;
}

// A plain reply's new text (its updates carry only kText events).
std::string plain_text(const ChoiceUpdate& u) {
  std::string text;
  for (const chat::OutputEvent& e : u.events) text += e.text;
  return text;
}

}  // namespace

GenerationRequest to_generation_request(CompletionRequest r, int api_key) {
  GenerationRequest g;
  g.chat = r.chat;
  g.messages = std::move(r.messages);
  g.template_kwargs = std::move(r.template_kwargs);
  g.tool_calling = tool_calling_of(r);
  g.prompt_text = std::move(r.prompt_text);
  g.prompt_tokens = std::move(r.prompt_tokens);
  g.options = std::move(r.options);
  g.stop = std::move(r.stop);
  g.ignore_eos = r.ignore_eos;
  g.n = r.n;
  g.echo = r.echo;
  g.grammar = std::move(r.grammar);
  g.api_key = api_key;
  return g;
}

ApiError to_api_error(const GenerationError& e) {
  ApiError a;
  a.status = e.status;
  a.message = e.message;
  a.type = e.status == 429 ? "requests" : e.status >= 500 ? "server_error" : "invalid_request_error";
  a.param = e.param;
  a.code = e.code;
  return a;
}

void send_generation_error(httplib::Response& res, const GenerationError& e) {
  if (e.status == kRetryLaterStatus) res.set_header("Retry-After", "1");
  send_error(res, to_api_error(e));
}

void openai_completion(GenerationService& service, const OpenAiSettings& settings, const std::string& body_text, bool chat,
                       int api_key, httplib::Response& res) {
  const json body = json::parse(body_text, nullptr, false);
  if (body.is_discarded()) return send_error(res, invalid_request("the request body is not valid JSON"));
  auto parsed = parse_completion_request(body, chat, *settings.defaults);
  if (auto* e = std::get_if<ApiError>(&parsed)) return send_error(res, *e);
  CompletionRequest r = std::move(std::get<CompletionRequest>(parsed));
  const std::string model = r.model.empty() ? settings.model_name : r.model;
  const bool stream = r.stream, include_usage = r.include_usage;
  const bool want_logprobs = r.options.logprobs || r.options.top_logprobs > 0;
  const bool prompt_logprobs = r.options.prompt_logprobs;

  auto started = service.start(to_generation_request(std::move(r), api_key));
  if (auto* e = std::get_if<GenerationError>(&started)) return send_generation_error(res, *e);
  const std::shared_ptr<Generation> g = std::move(std::get<std::shared_ptr<Generation>>(started));
  const int n = g->choices();
  const Tokenizer* tok = &service.tokenizer();

  const ReplyShape shape{chat, fmt::format("{}-{}", chat ? "chatcmpl" : "cmpl", (*settings.next_id)++), model,
                         static_cast<int64_t>(std::time(nullptr))};
  const std::string echo = g->echo();
  auto logprobs_json = [tok, chat, want_logprobs, g](const std::vector<StepLogprobs>& steps, size_t& offset, size_t& rendered) {
    return !want_logprobs ? json(nullptr)
           : chat         ? json{{"content", chat_logprobs(steps, *tok)}}
                          : text_logprobs(steps, *tok, g->prompt_pieces(), offset, rendered);
  };

  const auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());  // tool call ids
  if (!stream) {
    json choices = json::array();
    std::vector<GenerateStats> done;
    for (int i = 0; i < n; ++i) {
      std::string text = echo;
      std::vector<StepLogprobs> logprobs;
      ChatMessageBuilder message(*rng);
      const std::optional<ChoiceFinish> finish = g->read_to_end(i, [&](const ChoiceUpdate& u) {
        if (g->parsed()) message.add(u.events);
        else text += plain_text(u);
        logprobs.insert(logprobs.end(), u.logprobs.begin(), u.logprobs.end());
      });
      if (finish->error) return send_generation_error(res, *finish->error);  // the other choices are cancelled with `g`
      done.push_back(finish->stats);
      size_t offset = prompt_logprobs ? 0 : characters(echo), rendered = 0;  // a scored prompt comes first
      json c = shape.choice(i, g->parsed() ? "" : text, logprobs_json(logprobs, offset, rendered), finish_reason(finish->reason), false);
      if (g->parsed()) c["message"] = message.message();
      choices.push_back(std::move(c));
    }
    json reply = shape.envelope(std::move(choices), false);
    reply["usage"] = usage_json(done);
    return send_json(res, 200, reply);
  }

  // Streaming: the provider runs on this worker thread until the reply ends or the client
  // goes away; either way the choices still generating are cancelled.
  struct StreamState {
    bool started = false;
    std::vector<std::optional<GenerateStats>> done;
    std::vector<size_t> offsets;   // of each choice's next token in its text
    std::vector<size_t> rendered;  // logprobs steps each choice has sent
    std::vector<ChatDeltaBuilder> deltas;  // per choice, when the reply is parsed
    std::chrono::steady_clock::time_point last_write = std::chrono::steady_clock::now();
  };
  auto st = std::make_shared<StreamState>();
  st->done.resize(n);
  st->offsets.assign(n, prompt_logprobs ? 0 : characters(echo));
  st->rendered.assign(n, 0);
  if (g->parsed())
    for (int i = 0; i < n; ++i) st->deltas.emplace_back(*rng);
  const int ping_seconds = settings.ping_seconds;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [g, st, shape, chat, include_usage, echo, logprobs_json, ping_seconds, rng](size_t, httplib::DataSink& sink) {
        auto write = [&](const std::string& s) {
          st->last_write = std::chrono::steady_clock::now();
          return sink.write(s.data(), s.size());
        };
        // A parsed reply: its text, reasoning and calls as deltas (the logprobs ride on the first).
        auto write_parsed = [&](int i, const ChoiceUpdate& u) {
          std::vector<json> deltas = st->deltas[i].deltas(u.events);
          if (deltas.empty() && !u.logprobs.empty()) deltas.push_back({{"content", ""}});
          json logprobs = u.logprobs.empty() ? json(nullptr) : logprobs_json(u.logprobs, st->offsets[i], st->rendered[i]);
          for (json& d : deltas) {
            json c = shape.choice(i, "", std::exchange(logprobs, json(nullptr)), nullptr, true);
            c["delta"] = std::move(d);
            if (!write(sse(shape.envelope(json::array({std::move(c)}), true)))) return false;
          }
          return true;
        };
        const int n = g->choices();
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
        const auto wait = n == 1 ? std::chrono::milliseconds(ping_seconds * 1000) : std::chrono::milliseconds(20);
        for (int i = 0; i < n; ++i) {
          if (st->done[i]) continue;
          ChoiceUpdate u = g->next(i, wait);
          if (g->parsed()) {
            if (!write_parsed(i, u)) return false;
          } else if (const std::string text = plain_text(u); !text.empty() || !u.logprobs.empty()) {
            if (!write(sse(shape.envelope(json::array({shape.choice(i, text, logprobs_json(u.logprobs, st->offsets[i], st->rendered[i]), nullptr, true)}), true))))
              return false;
          }
          if (!u.finish) continue;
          if (u.finish->error) {  // as vLLM ends a failed stream: the error as an event, then [DONE]
            if (!write(sse(to_api_error(*u.finish->error).to_json())) || !write("data: [DONE]\n\n")) return false;
            sink.done();
            return true;
          }
          st->done[i] = u.finish->stats;
          if (!write(sse(shape.envelope(json::array({shape.choice(i, "", nullptr, finish_reason(u.finish->reason), true)}), true))))
            return false;
        }
        if (std::any_of(st->done.begin(), st->done.end(), [](const auto& d) { return !d; })) {
          if (std::chrono::steady_clock::now() - st->last_write >= std::chrono::seconds(ping_seconds))
            return write(": ping\n\n");  // a comment line: clients ignore it; proxies see traffic
          return true;
        }
        if (include_usage) {
          json tail = shape.envelope(json::array(), true);
          std::vector<GenerateStats> done;
          for (const auto& d : st->done) done.push_back(*d);
          tail["usage"] = usage_json(done);
          if (!write(sse(tail))) return false;
        }
        write("data: [DONE]\n\n");
        sink.done();
        return true;
      },
      [g](bool) { g->cancel(); });  // `g` holds the request's place until the reply ends
}

}  // namespace mx::server
