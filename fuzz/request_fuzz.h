// What the request-body fuzzers (fuzz/*_request_fuzz.cpp) share. Each input is one selector
// byte and then the body: the selector picks the route (input[0] % routes) and, for chat
// requests, the chat template the parsed messages are rendered with (input[0] / routes).
// Besides "never crash, throw, hang or leak", a body a parser accepts must be one the server
// can go on with: the checks below hold for every request that parses, and a chat request is
// driven as GenerationService::start drives it (template render, tool-call grammar, GBNF parse),
// so a body that parses but breaks the next step is found too. No model file is read: the
// templates come from $MOXING_SHARED_DIR/templates (default ../shared), ChatML if one is missing.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/chat_format.h"
#include "sampling/gbnf.h"
#include "server/api_error.h"
#include "server/model_routes.h"
#include "server/openai_request.h"
#include "server/tool_calls.h"

namespace mx::fuzz {

struct RequestInput {
  uint8_t selector = 0;
  std::string_view body;
};

// The input's selector and body, the body read first as every route does (its "model").
inline std::optional<RequestInput> split_input(const uint8_t* data, size_t size) {
  if (size < 1) return std::nullopt;
  const RequestInput in{data[0], std::string_view(reinterpret_cast<const char*>(data + 1), size - 1)};
  (void)server::requested_model(in.body);
  return in;
}

[[noreturn]] inline void fail(const char* what, std::string_view body, const std::string& detail = {}) {
  std::fprintf(stderr, "request fuzz: %s\n%s\nbody: %.*s\n", what, detail.c_str(), static_cast<int>(body.size()),
               body.data());
  std::abort();
}

// A refusal is a 4xx with a message (a 5xx or an empty message means the parser lost its way).
inline void check_error(const server::ApiError& e, std::string_view body) {
  if (e.status < 400 || e.status > 499 || e.message.empty()) fail("a refusal that is not a 4xx with a message", body, e.message);
}

// The request a parser accepted, or nullptr once its refusal has been checked.
template <class Request>
Request* accepted(std::variant<Request, server::ApiError>& parsed, std::string_view body) {
  if (auto* e = std::get_if<server::ApiError>(&parsed)) {
    check_error(*e, body);
    return nullptr;
  }
  return &std::get<Request>(parsed);
}

// What every later step takes for granted of a parsed request. `user_grammar`: the body gave
// its own GBNF (it may be wrong: a 400 later); a grammar the parser made must parse.
inline void check_request(const server::CompletionRequest& r, bool user_grammar, std::string_view body) {
  if (r.chat) {
    if (!r.messages.is_array() || r.messages.empty()) fail("chat request without messages", body);
    for (const auto& m : r.messages)
      if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
          !m["content"].is_string())
        fail("a message without a role and text content", body, m.dump());
  } else if (!r.prompt_tokens.empty() && !r.prompt_text.empty()) {
    fail("a prompt that is both text and token ids", body);
  }
  if (r.n < 1 || r.n > server::kMaxChoices) fail("n out of range", body);
  if (r.options.n_predict < -1) fail("max tokens below -1", body);
  for (const std::string& s : r.stop)
    if (s.empty()) fail("an empty stop string", body);
  const size_t n_tools = r.tools.is_array() ? r.tools.size() : 0;
  if (n_tools != r.tool_definitions.size()) fail("tools and tool definitions differ in number", body);
  if (r.tool_choice == server::ToolChoice::kFunction) {
    bool named = false;
    for (const auto& d : r.tool_definitions) named = named || d.name == r.tool_choice_name;
    if (!named) fail("tool_choice names a function that is not among the tools", body);
  }
  if (!r.grammar.empty()) {
    auto g = parse_gbnf(r.grammar);
    if (!g && !user_grammar) fail("the grammar made from the response format does not parse", body, g.error().message);
  }
}

// ChatML (the server's fallback) and templates of the main tool-call and reasoning formats.
inline const std::vector<ChatFormat>& chat_formats() {
  static const std::vector<ChatFormat> formats = [] {
    constexpr std::string_view kChatMl =
        "{%- for message in messages -%}"
        "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}"
        "{%- endfor -%}"
        "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}";
    const char* dir = std::getenv("MOXING_SHARED_DIR");
    const std::string root = std::string(dir ? dir : "../shared") + "/templates/";
    std::vector<ChatFormat> out;
    out.push_back(*ChatFormat::from_source(kChatMl, nullptr));
    for (const char* name : {"Qwen-Qwen3-0.6B", "meta-llama-Llama-3.1-8B-Instruct", "openai-gpt-oss-120b",
                             "mistralai-Mistral-Nemo-Instruct-2407", "deepseek-ai-DeepSeek-V3.1", "Qwen3-Coder"}) {
      std::string source;
      if (std::FILE* f = std::fopen((root + name + ".jinja").c_str(), "rb")) {
        char buf[4096];
        for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) source.append(buf, n);
        std::fclose(f);
      }
      auto format = source.empty() ? ChatFormat::from_source(kChatMl, nullptr) : ChatFormat::from_source(source, nullptr);
      if (source.empty()) std::fprintf(stderr, "request fuzz: no template %s%s.jinja (ChatML instead)\n", root.c_str(), name);
      if (!format) fail("a shipped template does not parse", name, format.error().message);
      out.push_back(std::move(*format));
    }
    return out;
  }();
  return formats;
}

// A chat request as GenerationService::start takes it on: its messages and tools rendered
// by the template, then the grammar of the template's tool-call syntax, which must parse.
inline void drive_chat(server::CompletionRequest r, size_t template_slot, std::string_view body) {
  const std::vector<ChatFormat>& formats = chat_formats();
  const ChatFormat& format = formats[template_slot % formats.size()];
  const server::ToolCalling calling = server::tool_calling_of(r);
  nlohmann::ordered_json extra = r.template_kwargs.is_object() ? r.template_kwargs : nlohmann::ordered_json::object();
  if (!calling.tools.is_null()) extra["tools"] = calling.tools;
  auto prompt = format.render_conversation(r.messages, true, extra);
  if (!prompt) return;  // the template refused the conversation: a 400
  size_t end = 0;
  for (const TextRange& range : prompt->literal) {
    if (range.begin < end || range.end < range.begin || range.end > prompt->text.size())
      fail("message contents marked outside the prompt or out of order", body);
    end = range.end;
  }
  const server::ReplyParsing parsing = server::reply_parsing(calling, format, prompt->text);
  if (!parsing.grammar.empty()) {
    auto g = parse_gbnf(parsing.grammar);
    if (!g) fail("the tool-call grammar does not parse", body, g.error().message + "\n" + parsing.grammar);
  }
}

}  // namespace mx::fuzz
