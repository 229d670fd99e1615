#include "server/anthropic_request.h"

#include <fmt/format.h>

#include "server/request_fields.h"

namespace mx::server {

namespace {

using nlohmann::json;


std::string block_type(const json& block, const std::string& at) {
  if (!block.is_object() || !block.contains("type") || !block["type"].is_string())
    bad(at, fmt::format("'{}' must be a content block object with a 'type'", at));
  return block["type"].get<std::string>();
}

std::string text_of_block(const json& block, const std::string& at) {
  if (!block.contains("text") || !block["text"].is_string()) bad(at, fmt::format("'{}.text' must be a string", at));
  return block["text"].get<std::string>();
}

[[noreturn]] void unsupported_block(const std::string& type, const std::string& at) {
  if (type == "image" || type == "document")
    bad(at, fmt::format("'{}': {} content is not supported (this model has no vision encoder)", at, type));
  bad(at, fmt::format("'{}': unknown or unsupported content block type '{}'", at, type));
}

// A string, or text blocks joined with `sep`.
std::string text_blocks(const json& v, const std::string& at, const char* sep) {
  if (v.is_string()) return v.get<std::string>();
  if (!v.is_array()) bad(at, fmt::format("'{}' must be a string or an array of text blocks", at));
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string here = fmt::format("{}[{}]", at, i);
    const std::string type = block_type(v[i], here);
    if (type != "text") unsupported_block(type, here);
    if (i) out += sep;
    out += text_of_block(v[i], here);
  }
  return out;
}

json messages_of(const json& body) {
  json out = json::array();
  if (const json* s = field(body, "system")) out.push_back({{"role", "system"}, {"content", text_blocks(*s, "system", "\n")}});
  const json* m = field(body, "messages");
  if (!m) bad("messages", "'messages' is required");
  if (!m->is_array() || m->empty()) bad("messages", "'messages' must be a non-empty array");
  for (size_t i = 0; i < m->size(); ++i) {
    const json& msg = (*m)[i];
    const std::string at = fmt::format("messages[{}]", i);
    if (!msg.is_object()) bad(at, fmt::format("'{}' must be an object", at));
    const json* role = field(msg, "role");
    if (!role || !(*role == "user" || *role == "assistant"))
      bad(at + ".role", fmt::format("'{}.role' must be \"user\" or \"assistant\"", at));
    const bool user = *role == "user";
    const json* content = field(msg, "content");
    if (!content) bad(at + ".content", fmt::format("'{}.content' is required", at));
    if (content->is_string()) {
      out.push_back({{"role", *role}, {"content", *content}});
      continue;
    }
    if (!content->is_array()) bad(at + ".content", fmt::format("'{}.content' must be a string or an array of content blocks", at));
    std::string text, thinking;
    json calls = json::array();
    for (size_t j = 0; j < content->size(); ++j) {
      const json& b = (*content)[j];
      const std::string here = fmt::format("{}.content[{}]", at, j);
      const std::string type = block_type(b, here);
      if (type == "text") {
        text += text_of_block(b, here);
      } else if (type == "tool_result" && user) {
        const json* id = field(b, "tool_use_id");
        if (!id || !id->is_string()) bad(here, fmt::format("'{}.tool_use_id' must be a string", here));
        std::string result = field(b, "content") ? text_blocks(b["content"], here + ".content", "\n") : "";
        if (const json* e = field(b, "is_error")) {
          if (!e->is_boolean()) bad(here, fmt::format("'{}.is_error' must be true or false", here));
          if (e->get<bool>()) result = "Error: " + result;
        }
        out.push_back({{"role", "tool"}, {"tool_call_id", *id}, {"content", std::move(result)}});
      } else if (type == "tool_use" && !user) {
        const json* id = field(b, "id");
        const json* name = field(b, "name");
        const json* input = field(b, "input");
        if (!id || !id->is_string() || !name || !name->is_string())
          bad(here, fmt::format("'{}' needs 'id' and 'name' strings", here));
        if (input && !input->is_object()) bad(here, fmt::format("'{}.input' must be an object", here));
        calls.push_back({{"id", *id}, {"type", "function"},
                         {"function", {{"name", *name}, {"arguments", input ? *input : json::object()}}}});
      } else if (type == "thinking" && !user) {
        if (const json* t = field(b, "thinking"); t && t->is_string()) thinking += t->get<std::string>();
      } else if (type == "redacted_thinking" && !user) {
        // opaque to this server: dropped
      } else if (type == "tool_result" || type == "tool_use" || type == "thinking" || type == "redacted_thinking") {
        bad(here, fmt::format("'{}': a '{}' block cannot be in a {} message", here, type, role->get<std::string>()));
      } else {
        unsupported_block(type, here);
      }
    }
    if (user) {
      if (!text.empty() || content->empty()) out.push_back({{"role", "user"}, {"content", text}});
    } else {
      json one = {{"role", "assistant"}, {"content", text}};
      if (!thinking.empty()) one["reasoning_content"] = thinking;
      if (!calls.empty()) one["tool_calls"] = std::move(calls);
      out.push_back(std::move(one));
    }
  }
  return out;
}

json tools_of(const json& t) {
  if (!t.is_array()) bad("tools", "'tools' must be an array");
  json out = json::array();
  for (size_t i = 0; i < t.size(); ++i) {
    const json& tool = t[i];
    const std::string at = fmt::format("tools[{}]", i);
    if (!tool.is_object()) bad(at, fmt::format("'{}' must be an object", at));
    if (const json* type = field(tool, "type"); type && *type != "custom")
      bad(at, fmt::format("'{}': tool type '{}' is not supported (only client tools with an input_schema)", at,
                          type->is_string() ? type->get<std::string>() : type->dump()));
    const json* name = field(tool, "name");
    if (!name || !name->is_string()) bad(at, fmt::format("'{}.name' must be a string", at));
    const json* schema = field(tool, "input_schema");
    if (!schema || !schema->is_object()) bad(at, fmt::format("'{}.input_schema' must be a JSON Schema object", at));
    json fn = {{"name", *name}, {"parameters", *schema}};
    if (const json* d = field(tool, "description")) fn["description"] = *d;
    out.push_back({{"type", "function"}, {"function", std::move(fn)}});
  }
  return out;
}

void read_tool_choice(const json& body, json& o) {
  const json* c = field(body, "tool_choice");
  if (!c) return;
  const char* expected = "'tool_choice' must be {\"type\": \"auto\" | \"any\" | \"tool\" | \"none\"}";
  if (!c->is_object() || !c->contains("type") || !(*c)["type"].is_string()) bad("tool_choice", expected);
  const std::string type = (*c)["type"];
  if (type == "auto") o["tool_choice"] = "auto";
  else if (type == "any") o["tool_choice"] = "required";
  else if (type == "none") o["tool_choice"] = "none";
  else if (type == "tool") {
    const json* name = field(*c, "name");
    if (!name || !name->is_string()) bad("tool_choice", "'tool_choice' of type \"tool\" needs a 'name'");
    o["tool_choice"] = {{"type", "function"}, {"function", {{"name", *name}}}};
  } else {
    bad("tool_choice", expected);
  }
  if (const json* p = field(*c, "disable_parallel_tool_use")) {
    if (!p->is_boolean()) bad("tool_choice", "'tool_choice.disable_parallel_tool_use' must be true or false");
    o["parallel_tool_calls"] = !p->get<bool>();
  }
}

void read_thinking(const json& body, json& o) {
  const json* t = field(body, "thinking");
  if (!t) return;
  if (!t->is_object() || !t->contains("type") || !((*t)["type"] == "enabled" || (*t)["type"] == "disabled"))
    bad("thinking", "'thinking' must be {\"type\": \"enabled\" | \"disabled\"}");
  o["chat_template_kwargs"] = {{"enable_thinking", (*t)["type"] == "enabled"}};
}

}  // namespace

std::variant<AnthropicRequest, ApiError> parse_anthropic_request(const json& body, bool count_only,
                                                                 const GenerateOptions& defaults) {
  if (!body.is_object()) return invalid_request("the request body must be a JSON object");
  if (nested_deeper_than(body, kMaxBodyDepth))
    return invalid_request(fmt::format("the request body is nested more than {} levels deep", kMaxBodyDepth));
  AnthropicRequest r;
  json o = json::object();  // the same request, as the OpenAI parser reads it
  try {
    if (const json* m = field(body, "model")) {
      if (!m->is_string()) bad("model", "'model' must be a string");
      r.model = m->get<std::string>();
    }
    o["messages"] = messages_of(body);
    if (count_only) {
      o["max_tokens"] = 1;
    } else {
      const json* mt = field(body, "max_tokens");
      if (!mt) bad("max_tokens", "'max_tokens' is required");
      if (!mt->is_number_integer() || mt->get<int64_t>() < 1) bad("max_tokens", "'max_tokens' must be a positive integer");
      o["max_tokens"] = *mt;
    }
    for (const char* name : {"temperature", "top_k", "top_p"})
      if (const json* v = field(body, name)) o[name] = *v;
    if (const json* s = field(body, "stop_sequences")) {
      if (!s->is_array()) bad("stop_sequences", "'stop_sequences' must be an array of strings");
      for (const json& x : *s) {
        if (!x.is_string()) bad("stop_sequences", "'stop_sequences' must be an array of strings");
        if (!x.get<std::string>().empty()) r.stop_sequences.push_back(x.get<std::string>());
      }
      o["stop"] = r.stop_sequences;
    }
    if (const json* s = field(body, "stream")) {
      if (!s->is_boolean()) bad("stream", "'stream' must be true or false");
      r.stream = s->get<bool>() && !count_only;
    }
    if (const json* t = field(body, "tools")) o["tools"] = tools_of(*t);
    read_tool_choice(body, o);
    read_thinking(body, o);
  } catch (const BadField& e) {
    return invalid_request(e.message, e.param);
  }
  auto parsed = parse_completion_request(o, true, defaults);
  if (auto* e = std::get_if<ApiError>(&parsed)) return *e;
  r.completion = std::move(std::get<CompletionRequest>(parsed));
  return r;
}

}  // namespace mx::server
