#include "server/responses_adapter.h"

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <ctime>

#include "server/http_reply.h"
#include "server/openai_adapter.h"
#include "server/responses_request.h"

namespace mx::server {

namespace {

using nlohmann::json;

// "prefix" and 24 random letters and digits.
std::string random_id(std::mt19937_64& rng, const char* prefix) {
  return prefix + tool_call_id(rng).substr(5);  // tool_call_id: "call_" and 24 characters
}

std::string sse_event(const std::string& name, const json& data) {
  return "event: " + name + "\ndata: " + data.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

json usage_json(const GenerateStats& s) {
  return {{"input_tokens", s.n_prompt},
          {"input_tokens_details", {{"cached_tokens", s.n_cached}}},
          {"output_tokens", s.n_generated},
          {"output_tokens_details", {{"reasoning_tokens", 0}}},
          {"total_tokens", s.n_prompt + s.n_generated}};
}

// The response object without output, status and usage: what the request set.
json response_head(const std::string& id, int64_t created, const std::string& model, const json& echo) {
  json r = {{"id", id},
            {"object", "response"},
            {"created_at", created},
            {"status", "in_progress"},
            {"error", nullptr},
            {"incomplete_details", nullptr},
            {"model", model},
            {"output", json::array()},
            {"truncation", "disabled"},
            {"metadata", json::object()},
            {"usage", nullptr}};
  for (const auto& [k, v] : echo.items()) r[k] = v;
  return r;
}

void finish_response(json& r, const ResponsesOutputBuilder& builder, const ChoiceFinish& f) {
  const bool cut = f.reason == FinishKind::kLength;
  r["status"] = cut ? "incomplete" : "completed";
  r["incomplete_details"] = cut ? json{{"reason", "max_output_tokens"}} : json(nullptr);
  r["output"] = builder.output();
  r["output_text"] = builder.output_text();
  r["usage"] = usage_json(f.stats);
}

}  // namespace

json ResponsesOutputBuilder::at(json data) const {
  data["item_id"] = items_.back()["id"];
  data["output_index"] = static_cast<int>(items_.size()) - 1;
  return data;
}

void ResponsesOutputBuilder::open(Kind kind, json item, std::vector<Event>& out) {
  close(out);
  open_ = kind;
  const int index = static_cast<int>(items_.size());
  out.push_back({"response.output_item.added", {{"type", "response.output_item.added"}, {"output_index", index}, {"item", item}}});
  json part;
  if (kind == Kind::kMessage) part = {{"type", "output_text"}, {"text", ""}, {"annotations", json::array()}, {"logprobs", json::array()}};
  if (kind == Kind::kReasoning) part = {{"type", "reasoning_text"}, {"text", ""}};
  if (!part.is_null()) item["content"].push_back(part);
  items_.push_back(std::move(item));
  if (!part.is_null())
    out.push_back({"response.content_part.added", at({{"type", "response.content_part.added"}, {"content_index", 0}, {"part", part}})});
}

void ResponsesOutputBuilder::close(std::vector<Event>& out, const char* status) {
  if (open_ == Kind::kNone) return;
  json& item = items_.back();
  if (open_ == Kind::kCall) {
    std::string& args = item["arguments"].get_ref<std::string&>();
    if (std::all_of(args.begin(), args.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); })) args = "{}";
    out.push_back({"response.function_call_arguments.done",
                   at({{"type", "response.function_call_arguments.done"}, {"name", item["name"]}, {"arguments", args}})});
  } else {
    const json& part = item["content"][0];
    const std::string done = open_ == Kind::kMessage ? "response.output_text.done" : "response.reasoning_text.done";
    json d = at({{"type", done}, {"content_index", 0}, {"text", part["text"]}});
    if (open_ == Kind::kMessage) d["logprobs"] = json::array();
    out.push_back({done, std::move(d)});
    out.push_back({"response.content_part.done", at({{"type", "response.content_part.done"}, {"content_index", 0}, {"part", part}})});
  }
  if (open_ != Kind::kReasoning) item["status"] = status;
  out.push_back({"response.output_item.done",
                 {{"type", "response.output_item.done"}, {"output_index", static_cast<int>(items_.size()) - 1}, {"item", item}}});
  open_ = Kind::kNone;
}

std::vector<ResponsesOutputBuilder::Event> ResponsesOutputBuilder::add(const std::vector<chat::OutputEvent>& events) {
  std::vector<Event> out;
  auto append = [&](const std::string& piece) {
    std::string& text = items_.back()["content"][0]["text"].get_ref<std::string&>();
    text += piece;
  };
  for (const chat::OutputEvent& e : events) {
    switch (e.kind) {
      case chat::OutputEvent::Kind::kText: {
        const std::string text = gap_.take(e.text, called_);
        if (text.empty()) break;
        if (open_ != Kind::kMessage)
          open(Kind::kMessage, {{"id", random_id(rng_, "msg_")}, {"type", "message"}, {"status", "in_progress"},
                                {"role", "assistant"}, {"content", json::array()}}, out);
        append(text);
        out.push_back({"response.output_text.delta", at({{"type", "response.output_text.delta"}, {"content_index", 0},
                                                         {"delta", text}, {"logprobs", json::array()}})});
        break;
      }
      case chat::OutputEvent::Kind::kReasoning:
        if (e.text.empty()) break;
        if (open_ != Kind::kReasoning)
          open(Kind::kReasoning, {{"id", random_id(rng_, "rs_")}, {"type", "reasoning"}, {"summary", json::array()},
                                  {"content", json::array()}}, out);
        append(e.text);
        out.push_back({"response.reasoning_text.delta",
                       at({{"type", "response.reasoning_text.delta"}, {"content_index", 0}, {"delta", e.text}})});
        break;
      case chat::OutputEvent::Kind::kToolCallStart:
        open(Kind::kCall, {{"id", random_id(rng_, "fc_")}, {"type", "function_call"}, {"status", "in_progress"},
                           {"call_id", tool_call_id(rng_)}, {"name", e.name}, {"arguments", ""}}, out);
        called_ = true;
        break;
      case chat::OutputEvent::Kind::kToolCallArguments:
        if (open_ != Kind::kCall || e.text.empty()) break;
        items_.back()["arguments"].get_ref<std::string&>() += e.text;
        out.push_back({"response.function_call_arguments.delta",
                       at({{"type", "response.function_call_arguments.delta"}, {"delta", e.text}})});
        break;
    }
  }
  return out;
}

std::vector<ResponsesOutputBuilder::Event> ResponsesOutputBuilder::finish(bool incomplete) {
  std::vector<Event> out;
  close(out, incomplete ? "incomplete" : "completed");
  return out;
}

std::string ResponsesOutputBuilder::output_text() const {
  std::string out;
  for (const json& item : items_)
    if (item["type"] == "message")
      for (const json& part : item["content"])
        if (part["type"] == "output_text") out += part["text"].get<std::string>();
  return out;
}

json ResponsesOutputBuilder::chat_message() const {
  json m = {{"role", "assistant"}, {"content", output_text()}};
  std::string reasoning;
  json calls = json::array();
  for (const json& item : items_) {
    if (item["type"] == "reasoning") reasoning += item["content"][0]["text"].get<std::string>();
    if (item["type"] == "function_call")
      calls.push_back({{"id", item["call_id"]}, {"type", "function"},
                       {"function", {{"name", item["name"]}, {"arguments", item["arguments"]}}}});
  }
  if (!reasoning.empty()) m["reasoning_content"] = reasoning;
  if (!calls.empty()) m["tool_calls"] = std::move(calls);
  return m;
}

void ResponseStore::put(const std::string& id, json conversation) {
  std::lock_guard lock(mu_);
  if (by_id_.insert_or_assign(id, std::move(conversation)).second) order_.push_back(id);
  while (order_.size() > capacity_) {
    by_id_.erase(order_.front());
    order_.pop_front();
  }
}

std::optional<json> ResponseStore::get(const std::string& id) const {
  std::lock_guard lock(mu_);
  const auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

void responses_create(GenerationService& service, const ResponsesSettings& settings, const std::string& body_text,
                      int api_key, httplib::Response& res) {
  const json body = json::parse(body_text, nullptr, false);
  if (body.is_discarded()) return send_error(res, invalid_request("the request body is not valid JSON"));
  json previous;  // the conversation so far, if the request continues a stored response
  if (body.is_object() && body.contains("previous_response_id") && !body["previous_response_id"].is_null()) {
    const json& id = body["previous_response_id"];
    if (!settings.store)
      return send_error(res, invalid_request("'previous_response_id' is not supported: this server stores no responses",
                                             "previous_response_id"));
    if (!id.is_string()) return send_error(res, invalid_request("'previous_response_id' must be a string", "previous_response_id"));
    auto found = settings.store->get(id.get<std::string>());
    if (!found)
      return send_error(res, invalid_request(fmt::format("Previous response with id '{}' not found.", id.get<std::string>()),
                                             "previous_response_id", "previous_response_not_found"));
    previous = std::move(*found);
  }
  auto parsed = parse_responses_request(body, *settings.defaults, previous);
  if (auto* e = std::get_if<ApiError>(&parsed)) return send_error(res, *e);
  ResponsesRequest r = std::move(std::get<ResponsesRequest>(parsed));
  const bool stream = r.stream;
  const std::string model = r.model.empty() ? settings.model_name : r.model;
  json echo = std::move(r.echo);
  ResponseStore* const store = r.store ? settings.store : nullptr;
  echo["store"] = store != nullptr;
  echo["previous_response_id"] = previous.is_null() ? json(nullptr) : body["previous_response_id"];
  // Keeps the conversation with the reply, when the request asks.
  auto keep = [store, history = std::move(r.history)](const json& response, const ResponsesOutputBuilder& builder) {
    if (!store) return;
    json conversation = history;
    conversation.push_back(builder.chat_message());
    store->put(response["id"].get<std::string>(), std::move(conversation));
  };
  GenerationRequest g = to_generation_request(std::move(r.completion), api_key);
  g.tool_calling.reasoning_inline = false;
  auto started = service.start(std::move(g));
  if (auto* e = std::get_if<GenerationError>(&started)) return send_generation_error(res, *e);
  const std::shared_ptr<Generation> gen = std::move(std::get<std::shared_ptr<Generation>>(started));

  const auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
  const json head = response_head(random_id(*rng, "resp_"), static_cast<int64_t>(std::time(nullptr)), model, echo);

  if (!stream) {
    ResponsesOutputBuilder builder(*rng);
    const std::optional<ChoiceFinish> finish = gen->read_to_end(0, [&](const ChoiceUpdate& u) { builder.add(u.events); });
    if (finish->error) return send_generation_error(res, *finish->error);
    builder.finish(finish->reason == FinishKind::kLength);
    json reply = head;
    finish_response(reply, builder, *finish);
    keep(reply, builder);
    return send_json(res, 200, reply);
  }

  struct StreamState {
    explicit StreamState(std::mt19937_64& rng) : builder(rng) {}
    ResponsesOutputBuilder builder;
    bool started = false;
    int64_t sequence = 0;
  };
  auto st = std::make_shared<StreamState>(*rng);
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [gen, st, rng, head, keep](size_t, httplib::DataSink& sink) {
        auto write = [&](const std::string& name, json data) {
          data["type"] = name;
          data["sequence_number"] = st->sequence++;
          const std::string e = sse_event(name, data);
          return sink.write(e.data(), e.size());
        };
        if (!st->started) {
          st->started = true;
          return write("response.created", {{"response", head}}) && write("response.in_progress", {{"response", head}});
        }
        ChoiceUpdate u = gen->next(0, std::chrono::seconds(1));
        std::vector<ResponsesOutputBuilder::Event> events = st->builder.add(u.events);
        if (u.finish && u.finish->error) {  // the stream ends as a failed response does: response.failed
          for (auto& [name, data] : events)
            if (!write(name, std::move(data))) return false;
          json reply = head;
          reply["status"] = "failed";
          reply["error"] = {{"code", u.finish->error->status == kRetryLaterStatus ? "out_of_memory" : "server_error"},
                            {"message", u.finish->error->message}};
          reply["output"] = st->builder.output();
          reply["usage"] = usage_json(u.finish->stats);
          if (!write("response.failed", {{"response", reply}})) return false;
          sink.done();
          return true;
        }
        if (u.finish)
          for (auto& e : st->builder.finish(u.finish->reason == FinishKind::kLength)) events.push_back(std::move(e));
        for (auto& [name, data] : events)
          if (!write(name, std::move(data))) return false;
        if (!u.finish) return true;
        json reply = head;
        finish_response(reply, st->builder, *u.finish);
        keep(reply, st->builder);
        const char* last = reply["status"] == "incomplete" ? "response.incomplete" : "response.completed";
        if (!write(last, {{"response", reply}})) return false;
        sink.done();
        return true;
      },
      [gen](bool) { gen->cancel(); });  // `gen` holds the request's place until the reply ends
}

}  // namespace mx::server
