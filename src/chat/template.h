// A model's chat template (the Jinja source in GGUF `tokenizer.chat_template`), rendered
// exactly as Hugging Face transformers' apply_chat_template renders it: sandboxed Jinja2
// with trim_blocks and lstrip_blocks, loop controls, the {% generation %} tag, tojson with
// ensure_ascii=False, raise_exception and strftime_now.
//
//   auto tmpl = mx::chat::ChatTemplate::parse(source);
//   auto prompt = tmpl->render(context);  // {"messages": [...], "add_generation_prompt": true,
//                                         //  "bos_token": "<s>", "tools": [...], ...}
//
// Every key of the context becomes a template variable. Pass an nlohmann::ordered_json to
// keep the caller's key order (tojson prints keys in that order, as transformers does);
// nlohmann::json sorts keys.
//
// Errors are values: a syntax error names line:column; a runtime error names the failing
// expression's line:column; a template's raise_exception("...") yields exactly its message.
// A parsed template is immutable: render it from any number of threads.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/expected.h"

namespace mx::chat {

struct Stmt;

struct RenderOptions {
  // Largest prompt, and largest string any expression may build.
  size_t max_output_bytes = 16u << 20;
  // Statements and expressions evaluated (big strings count extra); stops runaway loops.
  uint64_t max_steps = 10'000'000;
  // Nested macro calls; stops runaway recursion.
  int max_call_depth = 100;
  // What strftime_now() formats; unset means the current local time.
  std::optional<std::tm> now;
};

class ChatTemplate {
 public:
  static Expected<ChatTemplate> parse(std::string_view source);

  Expected<std::string> render(const nlohmann::json& context, const RenderOptions& options = {}) const;
  Expected<std::string> render(const nlohmann::ordered_json& context, const RenderOptions& options = {}) const;

 private:
  using Body = std::vector<std::unique_ptr<Stmt>>;
  explicit ChatTemplate(std::shared_ptr<const Body> body) : body_(std::move(body)) {}
  template <class Json>
  Expected<std::string> render_json(const Json& context, const RenderOptions& options) const;

  std::shared_ptr<const Body> body_;
};

}  // namespace mx::chat
