#include "server/ollama_generate.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <chrono>

#include "server/http_reply.h"
#include "server/ollama_request.h"

namespace mx::server {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

const char* done_reason(FinishKind f) { return f == FinishKind::kLength ? "length" : "stop"; }

int64_t nanoseconds(double seconds) { return static_cast<int64_t>(seconds * 1e9); }

// What every reply object of one request starts with.
struct ReplyShape {
  bool chat;
  std::string model;

  json object(const OllamaMessageBuilder::Piece& p, bool done) const {
    json o = {{"model", model}, {"created_at", rfc3339(std::chrono::system_clock::now())}};
    if (chat) {
      json message = {{"role", "assistant"}, {"content", p.content}};
      if (!p.thinking.empty()) message["thinking"] = p.thinking;
      if (!p.tool_calls.empty()) message["tool_calls"] = p.tool_calls;
      o["message"] = std::move(message);
    } else {
      o["response"] = p.content;
      if (!p.thinking.empty()) o["thinking"] = p.thinking;
    }
    o["done"] = done;
    return o;
  }
  // The last object: the reason and Ollama's counts and durations (nanoseconds).
  json last(const OllamaMessageBuilder::Piece& p, const ChoiceFinish& f, Clock::time_point started) const {
    json o = object(p, true);
    o["done_reason"] = done_reason(f.reason);
    o["total_duration"] = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - started).count();
    o["load_duration"] = 0;  // the model is loaded before the server takes requests
    o["prompt_eval_count"] = f.stats.n_prompt;  // the whole prompt: tokens restored from the prefix cache count too
    o["prompt_eval_duration"] = nanoseconds(f.stats.prompt_seconds);
    o["eval_count"] = f.stats.n_generated;
    o["eval_duration"] = nanoseconds(f.stats.gen_seconds);
    return o;
  }
};

void append(OllamaMessageBuilder::Piece& to, OllamaMessageBuilder::Piece from) {
  to.content += from.content;
  to.thinking += from.thinking;
  for (json& c : from.tool_calls) to.tool_calls.push_back(std::move(c));
}

std::string ndjson(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"; }

}  // namespace

void OllamaMessageBuilder::close_call(Piece& p) {
  if (!open_) return;
  const bool blank = std::all_of(open_->second.begin(), open_->second.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
  json args = blank ? json::object() : json::parse(open_->second, nullptr, false);
  if (args.is_discarded()) args = open_->second;  // not JSON: the text as the model wrote it
  else if (args.is_null()) args = json::object();
  p.tool_calls.push_back({{"function", {{"name", open_->first}, {"arguments", std::move(args)}}}});
  open_.reset();
}

OllamaMessageBuilder::Piece OllamaMessageBuilder::add(const std::vector<chat::OutputEvent>& events) {
  Piece p;
  for (const chat::OutputEvent& e : events) {
    switch (e.kind) {
      case chat::OutputEvent::Kind::kText: p.content += gap_.take(e.text, called_); break;
      case chat::OutputEvent::Kind::kReasoning: p.thinking += e.text; break;
      case chat::OutputEvent::Kind::kToolCallStart:
        close_call(p);
        open_.emplace(e.name, "");
        called_ = true;
        break;
      case chat::OutputEvent::Kind::kToolCallArguments:
        if (open_) open_->second += e.text;
        break;
    }
  }
  return p;
}

OllamaMessageBuilder::Piece OllamaMessageBuilder::finish() {
  Piece p;
  close_call(p);
  return p;
}

void ollama_generate(GenerationService& service, const OllamaModel& m, const std::string& body_text, bool chat, int api_key,
                     httplib::Response& res) {
  const Clock::time_point started = Clock::now();
  const json body = json::parse(body_text, nullptr, false);
  if (body.is_discarded()) return send_ollama_error(res, 400, "the request body is not valid JSON");
  auto parsed = parse_ollama_request(body, chat, *m.defaults);
  if (auto* e = std::get_if<ApiError>(&parsed)) return send_ollama_error(res, e->status, e->message);
  OllamaRequest r = std::move(std::get<OllamaRequest>(parsed));
  const ReplyShape shape{chat, r.model.empty() ? listed_name(m) : r.model};
  if (r.load_only) {  // Ollama's "load the model" call: it is loaded already
    json o = shape.object({}, true);
    o["done_reason"] = r.unload ? "unload" : "load";
    return send_json(res, 200, o);
  }

  GenerationRequest g;
  g.chat = r.completion.chat;
  g.messages = std::move(r.completion.messages);
  g.template_kwargs = std::move(r.completion.template_kwargs);
  g.tool_calling = tool_calling_of(r.completion);
  g.tool_calling.choice = ToolChoice::kAuto;  // Ollama has no tool_choice
  g.tool_calling.choice_name.clear();
  g.tool_calling.parallel = true;
  g.tool_calling.reasoning_inline = false;
  g.prompt_text = std::move(r.completion.prompt_text);
  g.options = std::move(r.completion.options);
  g.stop = std::move(r.completion.stop);
  g.grammar = std::move(r.completion.grammar);
  g.api_key = api_key;
  auto send_failure = [&res](const GenerationError& e) {
    if (e.status == kRetryLaterStatus) res.set_header("Retry-After", "1");
    send_ollama_error(res, e.status, e.message);
  };
  auto started_gen = service.start(std::move(g));
  if (auto* e = std::get_if<GenerationError>(&started_gen)) return send_failure(*e);
  const std::shared_ptr<Generation> gen = std::move(std::get<std::shared_ptr<Generation>>(started_gen));

  // A plain (raw) reply's events are kText only: the builder passes them through.
  if (!r.stream) {
    OllamaMessageBuilder builder;
    OllamaMessageBuilder::Piece whole;
    const std::optional<ChoiceFinish> finish =
        gen->read_to_end(0, [&](const ChoiceUpdate& u) { append(whole, builder.add(u.events)); });
    if (finish->error) return send_failure(*finish->error);
    append(whole, builder.finish());
    return send_json(res, 200, shape.last(whole, *finish, started));
  }

  struct StreamState {
    OllamaMessageBuilder builder;
    bool done = false;
  };
  auto st = std::make_shared<StreamState>();
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "application/x-ndjson",
      [gen, st, shape, started](size_t, httplib::DataSink& sink) {
        auto write = [&](const json& j) {
          const std::string line = ndjson(j);
          return sink.write(line.data(), line.size());
        };
        ChoiceUpdate u = gen->next(0, std::chrono::seconds(1));
        OllamaMessageBuilder::Piece p = st->builder.add(u.events);
        if (u.finish) append(p, st->builder.finish());
        if (!p.content.empty() || !p.thinking.empty() || !p.tool_calls.empty())
          if (!write(shape.object(p, false))) return false;
        if (!u.finish) return true;
        // As Ollama ends a failed stream: a last line {"error": "..."}.
        if (!write(u.finish->error ? json{{"error", u.finish->error->message}} : shape.last({}, *u.finish, started))) return false;
        sink.done();
        return true;
      },
      [gen](bool) { gen->cancel(); });  // `gen` holds the request's place until the reply ends
}

}  // namespace mx::server
