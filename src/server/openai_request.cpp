#include "server/openai_request.h"

#include <charconv>
#include <cmath>

#include "sampling/json_schema.h"
#include "server/request_fields.h"

namespace mx::server {

namespace {

using nlohmann::json;


double number(const json& body, const char* name, double lo, double hi) {
  const json& v = *field(body, name);
  if (!v.is_number()) bad(name, fmt::format("'{}' must be a number", name));
  const double x = v.get<double>();
  if (!(x >= lo && x <= hi)) bad(name, fmt::format("'{}' must be between {} and {}", name, lo, hi));
  return x;
}

int64_t integer(const json& body, const char* name, int64_t lo, int64_t hi) {
  const json& v = *field(body, name);
  if (!v.is_number_integer()) bad(name, fmt::format("'{}' must be an integer", name));
  const int64_t x = v.is_number_unsigned() && v.get<uint64_t>() > INT64_MAX ? INT64_MAX : v.get<int64_t>();
  if (x < lo || x > hi) bad(name, fmt::format("'{}' must be between {} and {}", name, lo, hi));
  return x;
}

bool boolean(const json& body, const char* name) {
  const json& v = *field(body, name);
  if (!v.is_boolean()) bad(name, fmt::format("'{}' must be true or false", name));
  return v.get<bool>();
}

template <class T, class Read>
void read(const json& body, const char* name, T& out, Read reader) {
  if (field(body, name)) out = static_cast<T>(reader(body, name));
}

// A message's content: a string, or an array of parts of which the text ones are joined.
std::string content_text(const json& content, const std::string& param) {
  if (content.is_string()) return content.get<std::string>();
  if (content.is_null()) return "";
  if (!content.is_array()) bad(param, "content must be a string or an array of content parts");
  std::string text;
  for (const json& part : content) {
    if (!part.is_object() || part.value("type", json()) != "text" || !part.contains("text") || !part["text"].is_string())
      bad(param, "only text content parts ({\"type\": \"text\", \"text\": ...}) are supported");
    text += part["text"].get<std::string>();
  }
  return text;
}

// An assistant message's calls for the template. Their arguments come as JSON text; templates
// iterate over them (arguments|items), so they become objects, as llama.cpp does (text that is
// not JSON stays text).
nlohmann::ordered_json tool_calls_of(const json& calls, const std::string& param) {
  if (!calls.is_array()) bad(param, "'tool_calls' must be an array");
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (size_t i = 0; i < calls.size(); ++i) {
    const json& c = calls[i];
    const std::string at = fmt::format("{}[{}]", param, i);
    const json* fn = c.is_object() ? field(c, "function") : nullptr;
    if (!fn || !fn->is_object() || !fn->contains("name") || !(*fn)["name"].is_string())
      bad(at, "each tool call needs a 'function' with a 'name'");
    nlohmann::ordered_json f = {{"name", (*fn)["name"]}};
    const json* args = field(*fn, "arguments");
    if (!args) f["arguments"] = nlohmann::ordered_json::object();
    else if (args->is_string()) {
      auto parsed = nlohmann::ordered_json::parse(args->get<std::string>(), nullptr, false);
      f["arguments"] = parsed.is_discarded() ? nlohmann::ordered_json(*args) : std::move(parsed);
    } else {
      f["arguments"] = *args;
    }
    nlohmann::ordered_json one = {{"type", "function"}, {"function", std::move(f)}};
    if (c.contains("id") && c["id"].is_string()) one["id"] = c["id"];
    out.push_back(std::move(one));
  }
  return out;
}

nlohmann::ordered_json messages_of(const json& body) {
  const json* m = field(body, "messages");
  if (!m) bad("messages", "'messages' is required");
  if (!m->is_array() || m->empty()) bad("messages", "'messages' must be a non-empty array");
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  bool calls_made = false;                 // an earlier assistant message made tool calls
  std::vector<std::string> call_ids;       // the ids they carried
  for (size_t i = 0; i < m->size(); ++i) {
    const json& msg = (*m)[i];
    const std::string at = fmt::format("messages[{}]", i);
    if (!msg.is_object()) bad(at, "each message must be an object");
    if (!msg.contains("role") || !msg["role"].is_string()) bad(at + ".role", "each message needs a 'role' string");
    nlohmann::ordered_json one = {{"role", msg["role"]},
                                  {"content", content_text(msg.contains("content") ? msg["content"] : json(nullptr),
                                                           at + ".content")}};
    if (msg.contains("name") && msg["name"].is_string()) one["name"] = msg["name"];
    if (msg.contains("tool_call_id") && msg["tool_call_id"].is_string()) one["tool_call_id"] = msg["tool_call_id"];
    if (msg.contains("reasoning_content") && msg["reasoning_content"].is_string())
      one["reasoning_content"] = msg["reasoning_content"];
    if (const json* calls = field(msg, "tool_calls")) {
      one["tool_calls"] = tool_calls_of(*calls, at + ".tool_calls");
      calls_made = calls_made || !one["tool_calls"].empty();
      for (const auto& c : one["tool_calls"])
        if (c.contains("id")) call_ids.push_back(c["id"].get<std::string>());
    }
    // A tool result answers a call: one made earlier, and the one its id names when calls had ids.
    if (one["role"] == "tool") {
      if (!calls_made) bad(at, "a 'tool' message must answer a tool call of an earlier assistant message");
      if (one.contains("tool_call_id") && !call_ids.empty() &&
          std::find(call_ids.begin(), call_ids.end(), one["tool_call_id"].get<std::string>()) == call_ids.end())
        bad(at + ".tool_call_id", fmt::format("no earlier tool call has the id '{}'", one["tool_call_id"].get<std::string>()));
    }
    out.push_back(std::move(one));
  }
  return out;
}

void read_prompt(const json& body, CompletionRequest& r) {
  const json* p = field(body, "prompt");
  if (!p) bad("prompt", "'prompt' is required");
  if (p->is_string()) {
    r.prompt_text = p->get<std::string>();
  } else if (p->is_array() && p->size() == 1 && (*p)[0].is_string()) {
    r.prompt_text = (*p)[0].get<std::string>();
  } else if (p->is_array() && !p->empty() && std::all_of(p->begin(), p->end(), [](const json& t) { return t.is_number_integer(); })) {
    for (const json& t : *p) r.prompt_tokens.push_back(t.get<Token>());
  } else {
    bad("prompt", "'prompt' must be a string, or an array of token ids (one prompt per request)");
  }
}

void read_stop(const json& body, CompletionRequest& r) {
  const json* s = field(body, "stop");
  if (!s) return;
  if (s->is_string()) {
    r.stop.push_back(s->get<std::string>());
  } else if (s->is_array()) {
    for (const json& x : *s) {
      if (!x.is_string()) bad("stop", "'stop' must be a string or an array of strings");
      r.stop.push_back(x.get<std::string>());
    }
  } else {
    bad("stop", "'stop' must be a string or an array of strings");
  }
  std::erase(r.stop, std::string());
}

void read_logit_bias(const json& body, SamplingParams& p) {
  const json* b = field(body, "logit_bias");
  if (!b) return;
  if (!b->is_object()) bad("logit_bias", "'logit_bias' must map token ids to numbers");
  for (const auto& [key, value] : b->items()) {
    Token id = -1;
    const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
    if (ec != std::errc() || end != key.data() + key.size() || id < 0)
      bad("logit_bias", fmt::format("'logit_bias' key '{}' is not a token id", key));
    if (!value.is_number()) bad("logit_bias", fmt::format("'logit_bias' value for {} must be a number", key));
    p.logit_bias.push_back({id, std::clamp(value.get<float>(), -100.0f, 100.0f)});
  }
}

void read_response_format(const json& body, CompletionRequest& r) {
  const json* f = field(body, "response_format");
  if (!f) return;
  if (!f->is_object() || !f->contains("type") || !(*f)["type"].is_string())
    bad("response_format", "'response_format' must be an object with a 'type'");
  const std::string type = (*f)["type"].get<std::string>();
  if (type == "text") return;
  if (type == "json_object") {
    r.grammar = json_object_gbnf();
    return;
  }
  if (type != "json_schema") bad("response_format.type", "'type' must be text, json_object or json_schema");
  const json* js = field(*f, "json_schema");
  if (!js || !js->is_object() || !js->contains("schema"))
    bad("response_format.json_schema", "'json_schema' must be an object with a 'schema'");
  auto gbnf = json_schema_to_gbnf((*js)["schema"].dump());
  if (!gbnf) bad("response_format.json_schema.schema", gbnf.error().message);
  r.grammar = std::move(*gbnf);
}

void read_tools(const json& body, CompletionRequest& r) {
  if (const json* t = field(body, "tools")) {
    if (!t->is_array()) bad("tools", "'tools' must be an array");
    r.tools = nlohmann::ordered_json::array();
    for (size_t i = 0; i < t->size(); ++i) {
      const json& tool = (*t)[i];
      const std::string at = fmt::format("tools[{}]", i);
      if (!tool.is_object() || tool.value("type", json()) != "function")
        bad(at + ".type", "each tool must be {\"type\": \"function\", \"function\": {...}}");
      const json* fn = field(tool, "function");
      if (!fn || !fn->is_object() || !fn->contains("name") || !(*fn)["name"].is_string() ||
          (*fn)["name"].get<std::string>().empty())
        bad(at + ".function", "each tool needs a 'function' with a non-empty 'name'");
      const std::string name = (*fn)["name"].get<std::string>();
      for (const ToolDefinition& d : r.tool_definitions)
        if (d.name == name) bad(at + ".function.name", fmt::format("two tools are named '{}'", name));
      const json* params = field(*fn, "parameters");
      if (params && !params->is_object())
        bad(at + ".function.parameters", fmt::format("tool '{}': 'parameters' must be a JSON Schema object", name));
      auto gbnf = json_schema_to_gbnf(params ? params->dump() : R"({"type": "object"})");
      if (!gbnf) bad(at + ".function.parameters", fmt::format("tool '{}': {}", name, gbnf.error().message));
      r.tool_definitions.push_back({name, std::move(*gbnf), params ? *params : json{{"type", "object"}}});
      r.tools.push_back({{"type", "function"}, {"function", nlohmann::ordered_json(*fn)}});
    }
    if (r.tools.empty()) r.tools = nullptr;
  }
  if (const json* c = field(body, "tool_choice")) {
    if (c->is_string()) {
      const std::string v = c->get<std::string>();
      if (v == "auto") r.tool_choice = ToolChoice::kAuto;
      else if (v == "none") r.tool_choice = ToolChoice::kNone;
      else if (v == "required") r.tool_choice = ToolChoice::kRequired;
      else bad("tool_choice", "'tool_choice' must be auto, none, required or {\"type\": \"function\", \"function\": {\"name\": ...}}");
    } else if (c->is_object() && c->value("type", json()) == "function" && c->contains("function") &&
               (*c)["function"].is_object() && (*c)["function"].contains("name") && (*c)["function"]["name"].is_string()) {
      r.tool_choice = ToolChoice::kFunction;
      r.tool_choice_name = (*c)["function"]["name"].get<std::string>();
      if (std::none_of(r.tool_definitions.begin(), r.tool_definitions.end(),
                       [&](const ToolDefinition& d) { return d.name == r.tool_choice_name; }))
        bad("tool_choice", fmt::format("'tool_choice' names function '{}', which is not in 'tools'", r.tool_choice_name));
    } else {
      bad("tool_choice", "'tool_choice' must be auto, none, required or {\"type\": \"function\", \"function\": {\"name\": ...}}");
    }
    if (r.tool_choice == ToolChoice::kRequired && r.tool_definitions.empty())
      bad("tool_choice", "'tool_choice' is required but no 'tools' are given");
  }
  if (field(body, "parallel_tool_calls")) r.parallel_tool_calls = boolean(body, "parallel_tool_calls");
  if (const json* k = field(body, "chat_template_kwargs")) {
    if (!k->is_object()) bad("chat_template_kwargs", "'chat_template_kwargs' must be an object");
    r.template_kwargs = nlohmann::ordered_json(*k);
  }
  if (const json* f = field(body, "reasoning_format")) {
    const std::string v = f->is_string() ? f->get<std::string>() : "";
    if (v != "none" && v != "auto" && v != "deepseek" && v != "deepseek-legacy")
      bad("reasoning_format", "'reasoning_format' must be none (reasoning stays in content) or auto");
    r.reasoning_inline = v == "none";
  }
}

void read_sampling(const json& body, CompletionRequest& r) {
  SamplingParams& p = r.options.sampling;
  read(body, "temperature", p.temperature, [](const json& b, const char* n) { return number(b, n, 0, 2); });
  read(body, "top_p", p.top_p, [](const json& b, const char* n) { return number(b, n, 0, 1); });
  read(body, "top_k", p.top_k, [](const json& b, const char* n) { return integer(b, n, 0, 1 << 20); });
  read(body, "min_p", p.min_p, [](const json& b, const char* n) { return number(b, n, 0, 1); });
  read(body, "typical_p", p.typical_p, [](const json& b, const char* n) { return number(b, n, 0, 1); });
  read(body, "presence_penalty", p.penalties.presence, [](const json& b, const char* n) { return number(b, n, -2, 2); });
  read(body, "frequency_penalty", p.penalties.frequency, [](const json& b, const char* n) { return number(b, n, -2, 2); });
  read(body, "repeat_penalty", p.penalties.repeat, [](const json& b, const char* n) { return number(b, n, 0, 10); });
  read(body, "repeat_last_n", p.penalties.last_n, [](const json& b, const char* n) { return integer(b, n, -1, 1 << 20); });
  read(body, "dry_multiplier", p.dry.multiplier, [](const json& b, const char* n) { return number(b, n, 0, 100); });
  read(body, "dry_base", p.dry.base, [](const json& b, const char* n) { return number(b, n, 1, 100); });
  read(body, "dry_allowed_length", p.dry.allowed_length, [](const json& b, const char* n) { return integer(b, n, 0, 1 << 20); });
  read(body, "dry_penalty_last_n", p.dry.last_n, [](const json& b, const char* n) { return integer(b, n, -1, 1 << 20); });
  if (field(body, "seed")) p.seed = static_cast<uint64_t>(integer(body, "seed", INT64_MIN, INT64_MAX));
  read_logit_bias(body, p);
  if (const json* g = field(body, "loop_guard")) {
    const auto mode = g->is_string() ? loop_guard_mode_from_name(g->get<std::string>()) : std::nullopt;
    if (!mode) bad("loop_guard", "'loop_guard' must be penalize, stop or off");
    r.options.loop_guard.mode = *mode;
  }
}

}  // namespace

std::variant<CompletionRequest, ApiError> parse_completion_request(const json& body, bool chat,
                                                                   const GenerateOptions& defaults) {
  if (!body.is_object()) return invalid_request("the request body must be a JSON object");
  if (nested_deeper_than(body, kMaxBodyDepth))
    return invalid_request(fmt::format("the request body is nested more than {} levels deep", kMaxBodyDepth));
  CompletionRequest r;
  r.chat = chat;
  r.options = defaults;
  try {
    if (const json* m = field(body, "model")) {
      if (!m->is_string()) bad("model", "'model' must be a string");
      r.model = m->get<std::string>();
    }
    if (chat) r.messages = messages_of(body);
    else read_prompt(body, r);
    if (field(body, "max_tokens")) r.options.n_predict = integer(body, "max_tokens", 0, INT32_MAX);
    if (field(body, "max_completion_tokens"))
      r.options.n_predict = integer(body, "max_completion_tokens", 0, INT32_MAX);
    if (field(body, "n")) r.n = static_cast<int>(integer(body, "n", 1, kMaxChoices));
    read_sampling(body, r);
    read_stop(body, r);
    if (field(body, "stream")) r.stream = boolean(body, "stream");
    if (field(body, "ignore_eos")) r.ignore_eos = boolean(body, "ignore_eos");
    if (const json* so = field(body, "stream_options")) {
      if (!so->is_object()) bad("stream_options", "'stream_options' must be an object");
      if (field(*so, "include_usage")) r.include_usage = boolean(*so, "include_usage");
    }
    if (!chat && field(body, "echo")) r.echo = boolean(body, "echo");
    if (chat) {
      if (field(body, "logprobs")) r.options.logprobs = boolean(body, "logprobs");
      if (field(body, "top_logprobs")) r.options.top_logprobs = static_cast<int>(integer(body, "top_logprobs", 0, 20));
    } else if (const json* lp = field(body, "logprobs")) {  // completions: an integer 0..5
      if (!lp->is_number_integer()) bad("logprobs", "'logprobs' must be an integer");
      r.options.logprobs = true;
      r.options.top_logprobs = static_cast<int>(integer(body, "logprobs", 0, 5));
    }
    // Echo with logprobs scores the prompt too, as OpenAI's legacy endpoint does (with
    // max_tokens 0 that is all it does: lm-eval-harness's loglikelihood).
    r.options.prompt_logprobs = r.echo && r.options.logprobs;
    read_response_format(body, r);
    if (const json* g = field(body, "grammar")) {
      if (!g->is_string()) bad("grammar", "'grammar' must be a GBNF string");
      if (!r.grammar.empty()) bad("grammar", "give 'grammar' or 'response_format', not both");
      r.grammar = g->get<std::string>();
    }
    if (chat) read_tools(body, r);
    if (!r.grammar.empty() && (r.tool_choice == ToolChoice::kRequired || r.tool_choice == ToolChoice::kFunction))
      bad("tool_choice", "a required tool call has a grammar of its own: give it or 'response_format'/'grammar', not both");
  } catch (const BadField& e) {
    return invalid_request(e.message, e.param);
  }
  if (auto st = validate(r.options.sampling); !st) return invalid_request(st.error().message);
  return r;
}

std::variant<EmbeddingRequest, ApiError> parse_embedding_request(const json& body) {
  if (!body.is_object()) return invalid_request("the request body must be a JSON object");
  EmbeddingRequest r;
  try {
    if (const json* m = field(body, "model")) {
      if (!m->is_string()) bad("model", "'model' must be a string");
      r.model = m->get<std::string>();
    }
    const json* in = field(body, "input");
    if (!in) bad("input", "'input' is required");
    auto is_ids = [](const json& v) {
      return v.is_array() && !v.empty() && std::all_of(v.begin(), v.end(), [](const json& t) { return t.is_number_integer(); });
    };
    auto ids = [](const json& v) {
      std::vector<Token> out;
      for (const json& t : v) out.push_back(t.get<int64_t>() < 0 || t.get<int64_t>() > INT32_MAX ? -1 : t.get<Token>());
      return out;
    };
    if (in->is_string()) {
      r.inputs.push_back({in->get<std::string>(), {}});
    } else if (is_ids(*in)) {
      r.inputs.push_back({{}, ids(*in)});
    } else if (in->is_array() && !in->empty()) {
      for (const json& one : *in) {
        if (one.is_string()) r.inputs.push_back({one.get<std::string>(), {}});
        else if (is_ids(one)) r.inputs.push_back({{}, ids(one)});
        else bad("input", "each input must be a string or an array of token ids");
      }
    } else {
      bad("input", "'input' must be a string, an array of strings, or token ids");
    }
    if (r.inputs.size() > kMaxEmbeddingInputs)
      bad("input", fmt::format("at most {} inputs per request", kMaxEmbeddingInputs));
    if (const json* f = field(body, "encoding_format")) {
      if (!f->is_string() || (*f != "float" && *f != "base64")) bad("encoding_format", "'encoding_format' must be float or base64");
      r.base64 = *f == "base64";
    }
    if (field(body, "dimensions")) r.dimensions = integer(body, "dimensions", 1, INT32_MAX);
  } catch (const BadField& e) {
    return invalid_request(e.message, e.param);
  }
  return r;
}

}  // namespace mx::server
