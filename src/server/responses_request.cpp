#include "server/responses_request.h"

#include <fmt/format.h>

#include "server/request_fields.h"

namespace mx::server {

namespace {

using nlohmann::json;


std::string string_field(const json& obj, const char* name, const std::string& at) {
  const json* v = field(obj, name);
  if (!v || !v->is_string()) bad(at, fmt::format("'{}.{}' must be a string", at, name));
  return v->get<std::string>();
}

// A message's content: a string, or input_text / output_text parts (joined).
std::string content_text(const json& c, const std::string& at) {
  if (c.is_string()) return c.get<std::string>();
  if (!c.is_array()) bad(at, fmt::format("'{}' must be a string or an array of content parts", at));
  std::string out;
  for (size_t i = 0; i < c.size(); ++i) {
    const std::string here = fmt::format("{}[{}]", at, i);
    const json& part = c[i];
    if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
      bad(here, fmt::format("'{}' must be a content part object with a 'type'", here));
    const std::string type = part["type"];
    if (type == "input_text" || type == "output_text" || type == "text") out += string_field(part, "text", here);
    else if (type == "input_image" || type == "input_file" || type == "input_audio")
      bad(here, fmt::format("'{}': {} content is not supported (this model reads text only)", here, type));
    else if (type == "refusal") {
      const json* refusal = field(part, "refusal");
      if (refusal && !refusal->is_string()) bad(here, fmt::format("'{}.refusal' must be a string", here));
      if (refusal) out += refusal->get<std::string>();
    }
    else bad(here, fmt::format("'{}': unknown or unsupported content part type '{}'", here, type));
  }
  return out;
}

// The input's messages after `out` (the earlier conversation, if any).
void messages_of(const json& body, json& out) {
  const json* in = field(body, "input");
  if (!in) bad("input", "'input' is required");
  if (in->is_string()) {
    out.push_back({{"role", "user"}, {"content", *in}});
    return;
  }
  if (!in->is_array() || in->empty()) bad("input", "'input' must be a string or a non-empty array of input items");
  for (size_t i = 0; i < in->size(); ++i) {
    const json& item = (*in)[i];
    const std::string at = fmt::format("input[{}]", i);
    if (!item.is_object()) bad(at, fmt::format("'{}' must be an object", at));
    std::string type = "message";
    if (const json* t = field(item, "type")) {
      if (!t->is_string()) bad(at + ".type", fmt::format("'{}.type' must be a string", at));
      type = t->get<std::string>();
    }
    if (type == "message") {
      const json* role = field(item, "role");
      if (!role || !(*role == "user" || *role == "system" || *role == "developer" || *role == "assistant"))
        bad(at + ".role", fmt::format("'{}.role' must be \"user\", \"system\", \"developer\" or \"assistant\"", at));
      const json* content = field(item, "content");
      if (!content) bad(at + ".content", fmt::format("'{}.content' is required", at));
      const std::string r = *role == "developer" ? "system" : role->get<std::string>();
      out.push_back({{"role", r}, {"content", content_text(*content, at + ".content")}});
    } else if (type == "function_call") {
      const std::string call_id = string_field(item, "call_id", at);
      const std::string name = string_field(item, "name", at);
      const json* args = field(item, "arguments");
      if (args && !args->is_string()) bad(at, fmt::format("'{}.arguments' must be a string of JSON", at));
      const json call = {{"id", call_id}, {"type", "function"},
                         {"function", {{"name", name}, {"arguments", args ? *args : json("{}")}}}};
      // Calls join the assistant turn right before them (its text, or earlier calls).
      if (!out.empty() && out.back()["role"] == "assistant") {
        json& prev = out.back();
        if (!prev.contains("tool_calls")) prev["tool_calls"] = json::array();
        prev["tool_calls"].push_back(call);
      } else {
        out.push_back({{"role", "assistant"}, {"content", ""}, {"tool_calls", json::array({call})}});
      }
    } else if (type == "function_call_output") {
      const std::string call_id = string_field(item, "call_id", at);
      const json* output = field(item, "output");
      if (!output) bad(at + ".output", fmt::format("'{}.output' is required", at));
      out.push_back({{"role", "tool"}, {"tool_call_id", call_id}, {"content", content_text(*output, at + ".output")}});
    } else if (type == "reasoning") {
      // earlier reasoning: not shown to the template again
    } else if (type == "item_reference") {
      bad(at, fmt::format("'{}': item references are not supported (this server stores no responses)", at));
    } else {
      bad(at + ".type", fmt::format("'{}': unknown or unsupported input item type '{}'", at, type));
    }
  }
}

json tools_of(const json& t) {
  if (!t.is_array()) bad("tools", "'tools' must be an array");
  json out = json::array();
  for (size_t i = 0; i < t.size(); ++i) {
    const json& tool = t[i];
    const std::string at = fmt::format("tools[{}]", i);
    if (!tool.is_object()) bad(at, fmt::format("'{}' must be an object", at));
    const json* type = field(tool, "type");
    if (!type || *type != "function")
      bad(at + ".type", fmt::format("'{}': tool type '{}' is not supported (only function tools)", at,
                                    !type ? "(none)" : type->is_string() ? type->get<std::string>() : type->dump()));
    json fn = {{"name", string_field(tool, "name", at)}};
    if (const json* p = field(tool, "parameters")) {
      if (!p->is_object()) bad(at + ".parameters", fmt::format("'{}.parameters' must be a JSON Schema object", at));
      fn["parameters"] = *p;
    }
    if (const json* d = field(tool, "description")) fn["description"] = *d;
    if (const json* s = field(tool, "strict")) fn["strict"] = *s;
    out.push_back({{"type", "function"}, {"function", std::move(fn)}});
  }
  return out;
}

void read_tool_choice(const json& body, json& o) {
  const json* c = field(body, "tool_choice");
  if (!c) return;
  const char* expected = "'tool_choice' must be \"auto\", \"none\", \"required\" or {\"type\": \"function\", \"name\": ...}";
  if (c->is_string()) {
    if (!(*c == "auto" || *c == "none" || *c == "required")) bad("tool_choice", expected);
    o["tool_choice"] = *c;
    return;
  }
  if (!c->is_object() || c->value("type", json()) != "function") bad("tool_choice", expected);
  const json* name = field(*c, "name");
  if (!name || !name->is_string()) bad("tool_choice", expected);
  o["tool_choice"] = {{"type", "function"}, {"function", {{"name", *name}}}};
}

void read_text_format(const json& body, json& o) {
  const json* t = field(body, "text");
  if (!t) return;
  if (!t->is_object()) bad("text", "'text' must be an object");
  const json* f = field(*t, "format");
  if (!f) return;
  if (!f->is_object() || !f->contains("type") || !(*f)["type"].is_string())
    bad("text.format", "'text.format' must be an object with a 'type'");
  const std::string type = (*f)["type"];
  if (type == "text" || type == "json_object") {
    o["response_format"] = {{"type", type}};
  } else if (type == "json_schema") {
    const json* schema = field(*f, "schema");
    if (!schema || !schema->is_object()) bad("text.format.schema", "'text.format' of type json_schema needs a 'schema' object");
    o["response_format"] = {{"type", "json_schema"}, {"json_schema", {{"name", f->value("name", json("reply"))}, {"schema", *schema}}}};
  } else {
    bad("text.format.type", "'text.format.type' must be text, json_object or json_schema");
  }
}

}  // namespace

std::variant<ResponsesRequest, ApiError> parse_responses_request(const json& body, const GenerateOptions& defaults,
                                                                 const json& previous) {
  if (!body.is_object()) return invalid_request("the request body must be a JSON object");
  if (nested_deeper_than(body, kMaxBodyDepth))
    return invalid_request(fmt::format("the request body is nested more than {} levels deep", kMaxBodyDepth));
  ResponsesRequest r;
  r.echo = json::object();
  json o = json::object();  // the same request, as the OpenAI parser reads it
  try {
    if (const json* m = field(body, "model")) {
      if (!m->is_string()) bad("model", "'model' must be a string");
      r.model = m->get<std::string>();
    }
    if (field(body, "conversation"))
      bad("conversation", "'conversation' is not supported (use 'previous_response_id', or send the whole conversation in 'input')");
    if (const json* s = field(body, "store")) {
      if (!s->is_boolean()) bad("store", "'store' must be true or false");
      r.store = s->get<bool>();
    }
    r.history = previous.is_array() ? previous : json::array();
    messages_of(body, r.history);
    o["messages"] = json::array();
    if (const json* s = field(body, "instructions")) {
      if (!s->is_string()) bad("instructions", "'instructions' must be a string");
      o["messages"].push_back({{"role", "system"}, {"content", *s}});
    }
    for (const json& m : r.history) o["messages"].push_back(m);
    if (const json* mt = field(body, "max_output_tokens")) {
      if (!mt->is_number_integer() || mt->get<int64_t>() < 1)
        bad("max_output_tokens", "'max_output_tokens' must be a positive integer");
      o["max_tokens"] = *mt;
    }
    for (const char* name : {"temperature", "top_p", "parallel_tool_calls"})
      if (const json* v = field(body, name)) o[name] = *v;
    if (const json* s = field(body, "stream")) {
      if (!s->is_boolean()) bad("stream", "'stream' must be true or false");
      r.stream = s->get<bool>();
    }
    if (const json* t = field(body, "tools")) o["tools"] = tools_of(*t);
    read_tool_choice(body, o);
    read_text_format(body, o);
    if (const json* re = field(body, "reasoning")) {
      if (!re->is_object()) bad("reasoning", "'reasoning' must be an object");
      if (const json* e = field(*re, "effort")) {
        if (!e->is_string()) bad("reasoning.effort", "'reasoning.effort' must be a string");
        o["chat_template_kwargs"] = {{"reasoning_effort", *e}};
      }
    }
    // What the reply repeats.
    r.echo["instructions"] = body.value("instructions", json());
    r.echo["tools"] = body.value("tools", json::array());
    r.echo["tool_choice"] = body.value("tool_choice", json("auto"));
    r.echo["parallel_tool_calls"] = body.value("parallel_tool_calls", json(true));
    r.echo["max_output_tokens"] = body.value("max_output_tokens", json());
    r.echo["text"] = body.contains("text") && body["text"].is_object() ? body["text"] : json{{"format", {{"type", "text"}}}};
    json reasoning = {{"effort", nullptr}, {"summary", nullptr}};
    if (const json* re = field(body, "reasoning")) reasoning["effort"] = re->value("effort", json());
    r.echo["reasoning"] = reasoning;
  } catch (const BadField& e) {
    return invalid_request(e.message, e.param);
  }
  auto parsed = parse_completion_request(o, true, defaults);
  if (auto* e = std::get_if<ApiError>(&parsed)) {
    ApiError err = *e;
    if (err.param == "max_tokens") err.param = "max_output_tokens";
    else if (err.param.starts_with("response_format")) err.param = "text.format";
    else if (err.param.starts_with("messages")) err.param = "input";
    return err;
  }
  r.completion = std::move(std::get<CompletionRequest>(parsed));
  r.echo["temperature"] = r.completion.options.sampling.temperature;
  r.echo["top_p"] = r.completion.options.sampling.top_p;
  return r;
}

}  // namespace mx::server
