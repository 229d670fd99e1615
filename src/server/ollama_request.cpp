#include "server/ollama_request.h"

#include <fmt/format.h>

#include "server/request_fields.h"

namespace mx::server {

namespace {

using nlohmann::json;

// Ollama's errors name no field: only the message.
[[noreturn]] void bad(std::string message) { server::bad("", std::move(message)); }

std::string string_field(const json& body, const char* name) {
  const json* v = field(body, name);
  if (!v) return "";
  if (!v->is_string()) bad(fmt::format("'{}' must be a string", name));
  return v->get<std::string>();
}

void refuse_images(const json& where, const std::string& at) {
  const json* images = field(where, "images");
  if (images && !(images->is_array() && images->empty()))
    bad(fmt::format("'{}images': this model has no vision encoder; images are not supported", at));
}

// Ollama's messages in the shape the OpenAI parser checks: `thinking` is the template's
// reasoning_content, `tool_name` its name; tool_calls' arguments are objects either way.
json messages_of(const json& m) {
  if (!m.is_array()) bad("'messages' must be an array");
  json out = json::array();
  for (size_t i = 0; i < m.size(); ++i) {
    const json& msg = m[i];
    const std::string at = fmt::format("messages[{}].", i);
    if (!msg.is_object()) bad(fmt::format("'messages[{}]' must be an object", i));
    refuse_images(msg, at);
    if (const json* c = field(msg, "content"); c && !c->is_string()) bad(fmt::format("'{}content' must be a string", at));
    json one = {{"role", msg.contains("role") ? msg["role"] : json(nullptr)}, {"content", msg.value("content", json(""))}};
    if (const json* t = field(msg, "thinking")) one["reasoning_content"] = *t;
    if (const json* n = field(msg, "tool_name")) one["name"] = *n;
    if (const json* calls = field(msg, "tool_calls")) one["tool_calls"] = *calls;
    out.push_back(std::move(one));
  }
  return out;
}

// Ollama's tools are OpenAI's, except that clients may leave out "type".
json tools_of(const json& t) {
  if (!t.is_array()) bad("'tools' must be an array");
  json out = json::array();
  for (const json& tool : t) {
    json one = tool;
    if (one.is_object() && !one.contains("type")) one["type"] = "function";
    out.push_back(std::move(one));
  }
  return out;
}

void read_options(const json& body, json& o, int64_t& num_predict) {
  const json* opts = field(body, "options");
  if (!opts) return;
  if (!opts->is_object()) bad("'options' must be an object");
  // Same names and meanings as the OpenAI parser's sampler fields; any other option is ignored.
  for (const char* name : {"temperature", "top_k", "top_p", "min_p", "typical_p", "repeat_penalty", "repeat_last_n",
                           "presence_penalty", "frequency_penalty", "seed", "stop"})
    if (const json* v = field(*opts, name)) o[name] = *v;
  if (const json* n = field(*opts, "num_predict")) {
    if (!n->is_number_integer()) bad("'num_predict' must be an integer");
    num_predict = n->get<int64_t>();
  }
  if (const json* n = field(*opts, "num_ctx"); n && (!n->is_number_integer() || n->get<int64_t>() <= 0))
    bad("'num_ctx' must be a positive integer");
}

void read_format(const json& body, json& o) {
  const json* f = field(body, "format");
  if (!f || (f->is_string() && f->get<std::string>().empty())) return;
  if (f->is_string() && *f == "json") o["response_format"] = {{"type", "json_object"}};
  else if (f->is_object()) o["response_format"] = {{"type", "json_schema"}, {"json_schema", {{"schema", *f}}}};
  else bad("'format' must be \"json\" or a JSON Schema object");
}

void read_think(const json& body, json& o) {
  const json* t = field(body, "think");
  if (!t) return;
  if (t->is_boolean()) {
    o["chat_template_kwargs"] = {{"enable_thinking", t->get<bool>()}};
  } else if (t->is_string() && (*t == "high" || *t == "medium" || *t == "low")) {
    o["chat_template_kwargs"] = {{"enable_thinking", true}, {"reasoning_effort", *t}};
  } else {
    bad("'think' must be true, false, \"high\", \"medium\" or \"low\"");
  }
}

bool zero_keep_alive(const json& body) {
  const json* k = field(body, "keep_alive");
  return k && ((k->is_number() && k->get<double>() == 0) || (k->is_string() && (*k == "0" || *k == "0s" || *k == "0m")));
}

}  // namespace

std::variant<OllamaRequest, ApiError> parse_ollama_request(const json& body, bool chat, const GenerateOptions& defaults) {
  if (!body.is_object()) return invalid_request("the request body must be a JSON object");
  if (nested_deeper_than(body, kMaxBodyDepth))
    return invalid_request(fmt::format("the request body is nested more than {} levels deep", kMaxBodyDepth));
  OllamaRequest r;
  json o = json::object();  // the same request, as the OpenAI parser reads it
  int64_t num_predict = 0;
  bool has_num_predict = false;
  bool as_chat = chat;  // generate is a chat turn unless raw
  try {
    r.model = string_field(body, "model");
    if (const json* s = field(body, "stream")) {
      if (!s->is_boolean()) bad("'stream' must be true or false");
      r.stream = s->get<bool>();
    }
    if (chat) {
      const json* m = field(body, "messages");
      if (!m || (m->is_array() && m->empty())) r.load_only = true;
      else o["messages"] = messages_of(*m);
      if (const json* t = field(body, "tools")) o["tools"] = tools_of(*t);
    } else {
      refuse_images(body, "");
      if (!string_field(body, "suffix").empty())
        bad("'suffix': fill-in-the-middle is not supported by this server");
      const std::string prompt = string_field(body, "prompt");
      const std::string system = string_field(body, "system");
      bool raw = false;
      if (const json* v = field(body, "raw")) {
        if (!v->is_boolean()) bad("'raw' must be true or false");
        raw = v->get<bool>();
      }
      as_chat = !raw;
      if (prompt.empty()) {
        r.load_only = true;
      } else if (raw) {  // the prompt as it is, no template
        o["prompt"] = prompt;
      } else {  // the prompt as the user's turn of the model's template, as Ollama does
        json messages = json::array();
        if (!system.empty()) messages.push_back({{"role", "system"}, {"content", system}});
        messages.push_back({{"role", "user"}, {"content", prompt}});
        o["messages"] = std::move(messages);
      }
    }
    if (r.load_only) {
      r.unload = zero_keep_alive(body);
      return r;
    }
    read_options(body, o, num_predict);
    has_num_predict = body.contains("options") && body["options"].contains("num_predict") && !body["options"]["num_predict"].is_null();
    read_format(body, o);
    if (as_chat) read_think(body, o);
  } catch (const BadField& e) {
    return invalid_request(e.message);
  }
  auto parsed = parse_completion_request(o, as_chat, defaults);
  if (auto* e = std::get_if<ApiError>(&parsed)) return *e;
  r.completion = std::move(std::get<CompletionRequest>(parsed));
  if (has_num_predict) r.completion.options.n_predict = num_predict < 0 ? -1 : num_predict;
  return r;
}

}  // namespace mx::server
