#include "server/anthropic_adapter.h"

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <random>

#include "server/anthropic_request.h"
#include "server/http_reply.h"

namespace mx::server {

namespace {

using nlohmann::json;

const char* error_type(int status) {
  switch (status) {
    case 400: return "invalid_request_error";
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 503: return "overloaded_error";
    default: return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

// "prefix" and 24 random letters and digits.
std::string random_id(std::mt19937_64& rng, const char* prefix) {
  return prefix + tool_call_id(rng).substr(5);  // tool_call_id: "call_" and 24 characters
}

const char* stop_reason(const ChoiceFinish& f) {
  switch (f.reason) {
    case FinishKind::kLength: return "max_tokens";
    case FinishKind::kToolCalls: return "tool_use";
    default: return f.stop_string ? "stop_sequence" : "end_turn";
  }
}

json stop_sequence(const ChoiceFinish& f) {
  if (f.reason != FinishKind::kStop || !f.stop_string) return nullptr;
  return *f.stop_string;
}

std::string sse_event(const std::string& name, const json& data) {
  return "event: " + name + "\ndata: " + data.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

struct Parsed {
  AnthropicRequest request;
  GenerationRequest generation;
};

// The request, or false with the error sent.
bool parse(const AnthropicSettings& settings, const std::string& body_text, bool count_only, int api_key, Parsed& out,
           httplib::Response& res) {
  const json body = json::parse(body_text, nullptr, false);
  if (body.is_discarded()) {
    send_anthropic_error(res, 400, "the request body is not valid JSON");
    return false;
  }
  auto parsed = parse_anthropic_request(body, count_only, *settings.defaults);
  if (auto* e = std::get_if<ApiError>(&parsed)) {
    send_anthropic_error(res, e->status, e->message);
    return false;
  }
  out.request = std::move(std::get<AnthropicRequest>(parsed));
  CompletionRequest& r = out.request.completion;
  GenerationRequest& g = out.generation;
  g.chat = true;
  g.messages = std::move(r.messages);
  g.template_kwargs = std::move(r.template_kwargs);
  g.tool_calling = tool_calling_of(r);
  g.tool_calling.reasoning_inline = false;
  g.options = std::move(r.options);
  g.stop = r.stop;
  g.api_key = api_key;
  return true;
}

}  // namespace

void AnthropicContentBuilder::open(Kind kind, json block, std::vector<Event>& out) {
  close(out);
  open_ = kind;
  const int index = static_cast<int>(blocks_.size());
  out.push_back({"content_block_start", {{"type", "content_block_start"}, {"index", index}, {"content_block", block}}});
  if (kind == Kind::kToolUse) block["input"] = json::object();
  blocks_.push_back(std::move(block));
}

void AnthropicContentBuilder::close(std::vector<Event>& out) {
  if (open_ == Kind::kNone) return;
  if (open_ == Kind::kToolUse) {
    const bool blank = std::all_of(arguments_.begin(), arguments_.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
    json input = blank ? json::object() : json::parse(arguments_, nullptr, false);
    blocks_.back()["input"] = input.is_object() ? std::move(input) : json::object();
    arguments_.clear();
  }
  out.push_back({"content_block_stop", {{"type", "content_block_stop"}, {"index", static_cast<int>(blocks_.size()) - 1}}});
  open_ = Kind::kNone;
}

std::vector<AnthropicContentBuilder::Event> AnthropicContentBuilder::add(const std::vector<chat::OutputEvent>& events) {
  std::vector<Event> out;
  auto delta = [&](json d) {
    out.push_back({"content_block_delta",
                   {{"type", "content_block_delta"}, {"index", static_cast<int>(blocks_.size()) - 1}, {"delta", std::move(d)}}});
  };
  for (const chat::OutputEvent& e : events) {
    switch (e.kind) {
      case chat::OutputEvent::Kind::kText: {
        const std::string text = gap_.take(e.text, called_);
        if (text.empty()) break;
        if (open_ != Kind::kText) open(Kind::kText, {{"type", "text"}, {"text", ""}}, out);
        blocks_.back()["text"] = blocks_.back()["text"].get<std::string>() + text;
        delta({{"type", "text_delta"}, {"text", text}});
        break;
      }
      case chat::OutputEvent::Kind::kReasoning:
        if (e.text.empty()) break;
        if (open_ != Kind::kThinking) open(Kind::kThinking, {{"type", "thinking"}, {"thinking", ""}, {"signature", ""}}, out);
        blocks_.back()["thinking"] = blocks_.back()["thinking"].get<std::string>() + e.text;
        delta({{"type", "thinking_delta"}, {"thinking", e.text}});
        break;
      case chat::OutputEvent::Kind::kToolCallStart:
        open(Kind::kToolUse, {{"type", "tool_use"}, {"id", random_id(rng_, "toolu_")}, {"name", e.name}, {"input", json::object()}}, out);
        called_ = true;
        break;
      case chat::OutputEvent::Kind::kToolCallArguments:
        if (open_ != Kind::kToolUse || e.text.empty()) break;
        arguments_ += e.text;
        delta({{"type", "input_json_delta"}, {"partial_json", e.text}});
        break;
    }
  }
  return out;
}

std::vector<AnthropicContentBuilder::Event> AnthropicContentBuilder::finish() {
  std::vector<Event> out;
  close(out);
  return out;
}

void send_anthropic_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, status, {{"type", "error"}, {"error", {{"type", error_type(status)}, {"message", message}}}});
}

void anthropic_messages(GenerationService& service, const AnthropicSettings& settings, const std::string& body,
                        int api_key, httplib::Response& res) {
  Parsed p;
  if (!parse(settings, body, false, api_key, p, res)) return;
  auto send_failure = [&res](const GenerationError& e) {
    if (e.status == kRetryLaterStatus) res.set_header("Retry-After", "1");
    send_anthropic_error(res, e.status, e.message);
  };
  auto started = service.start(std::move(p.generation));
  if (auto* e = std::get_if<GenerationError>(&started)) return send_failure(*e);
  const std::shared_ptr<Generation> gen = std::move(std::get<std::shared_ptr<Generation>>(started));

  const auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
  const json message = {{"id", random_id(*rng, "msg_")},
                        {"type", "message"},
                        {"role", "assistant"},
                        {"model", p.request.model.empty() ? settings.model_name : p.request.model}};

  if (!p.request.stream) {
    AnthropicContentBuilder builder(*rng);
    const std::optional<ChoiceFinish> finish = gen->read_to_end(0, [&](const ChoiceUpdate& u) { builder.add(u.events); });
    if (finish->error) return send_failure(*finish->error);
    builder.finish();
    json reply = message;
    reply["content"] = builder.content();
    reply["stop_reason"] = stop_reason(*finish);
    reply["stop_sequence"] = stop_sequence(*finish);
    reply["usage"] = {{"input_tokens", finish->stats.n_prompt}, {"output_tokens", finish->stats.n_generated}};
    return send_json(res, 200, reply);
  }

  struct StreamState {
    explicit StreamState(std::mt19937_64& rng) : builder(rng) {}
    AnthropicContentBuilder builder;
    bool started = false;
  };
  auto st = std::make_shared<StreamState>(*rng);
  const int64_t n_prompt = static_cast<int64_t>(gen->prompt().size());
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [gen, st, rng, message, n_prompt](size_t, httplib::DataSink& sink) {
        auto write = [&](const std::string& name, const json& data) {
          const std::string e = sse_event(name, data);
          return sink.write(e.data(), e.size());
        };
        if (!st->started) {
          st->started = true;
          json m = message;
          m["content"] = json::array();
          m["stop_reason"] = nullptr;
          m["stop_sequence"] = nullptr;
          m["usage"] = {{"input_tokens", n_prompt}, {"output_tokens", 0}};
          if (!write("message_start", {{"type", "message_start"}, {"message", m}})) return false;
          if (!write("ping", {{"type", "ping"}})) return false;
          return true;
        }
        ChoiceUpdate u = gen->next(0, std::chrono::seconds(1));
        std::vector<AnthropicContentBuilder::Event> events = st->builder.add(u.events);
        if (u.finish && u.finish->error) {  // as Anthropic ends a failed stream: an error event, no message_stop
          for (const auto& [name, data] : events)
            if (!write(name, data)) return false;
          const GenerationError& e = *u.finish->error;
          if (!write("error", {{"type", "error"}, {"error", {{"type", error_type(e.status)}, {"message", e.message}}}}))
            return false;
          sink.done();
          return true;
        }
        if (u.finish)
          for (auto& e : st->builder.finish()) events.push_back(std::move(e));
        for (const auto& [name, data] : events)
          if (!write(name, data)) return false;
        if (!u.finish) return true;
        const ChoiceFinish& f = *u.finish;
        const json delta = {{"stop_reason", stop_reason(f)},
                            {"stop_sequence", stop_sequence(f)}};
        if (!write("message_delta", {{"type", "message_delta"}, {"delta", delta},
                                     {"usage", {{"input_tokens", f.stats.n_prompt}, {"output_tokens", f.stats.n_generated}}}}))
          return false;
        if (!write("message_stop", {{"type", "message_stop"}})) return false;
        sink.done();
        return true;
      },
      [gen](bool) { gen->cancel(); });  // `gen` holds the request's place until the reply ends
}

void anthropic_count_tokens(GenerationService& service, const AnthropicSettings& settings, const std::string& body,
                            int api_key, httplib::Response& res) {
  Parsed p;
  if (!parse(settings, body, true, api_key, p, res)) return;
  p.generation.options.n_predict = 1;
  auto started = service.start(std::move(p.generation));
  if (auto* e = std::get_if<GenerationError>(&started)) return send_anthropic_error(res, e->status, e->message);
  const std::shared_ptr<Generation> gen = std::move(std::get<std::shared_ptr<Generation>>(started));
  const int64_t n = static_cast<int64_t>(gen->prompt().size());
  gen->cancel();
  send_json(res, 200, {{"input_tokens", n}});
}

}  // namespace mx::server
