#include "engine/chat_format.h"

#include <fmt/format.h>

#include "gguf/gguf_file.h"
#include "tokenizer/tokenizer.h"

namespace mx {
namespace {

// ChatML, as Qwen and many fine-tunes write it.
constexpr std::string_view kChatMl =
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}";

std::string token_text(const Tokenizer* tokenizer, Token id) {
  if (!tokenizer || !tokenizer->vocab().contains(id)) return {};
  return tokenizer->vocab().text(id);
}

}  // namespace

ChatFormat::ChatFormat(chat::ChatTemplate tmpl, std::string source, const Tokenizer* tokenizer,
                       bool fallback)
    : template_(std::move(tmpl)),
      source_(std::move(source)),
      bos_token_(tokenizer ? token_text(tokenizer, tokenizer->vocab().bos()) : ""),
      eos_token_(tokenizer ? token_text(tokenizer, tokenizer->vocab().eos()) : ""),
      fallback_(fallback),
      tool_format_(chat::detect_tool_call_format(source_)),
      reasoning_format_(chat::detect_reasoning_format(source_)) {}

Expected<ChatFormat> ChatFormat::from_source(std::string_view source, const Tokenizer* tokenizer) {
  auto tmpl = chat::ChatTemplate::parse(source);
  if (!tmpl) return make_error("chat template: {}", tmpl.error().message);
  return ChatFormat(std::move(*tmpl), std::string(source), tokenizer, false);
}

Expected<ChatFormat> ChatFormat::from_model(const gguf::File& file, const Tokenizer& tokenizer) {
  if (const auto source = file.get_string(kChatTemplateKey)) {
    auto tmpl = chat::ChatTemplate::parse(*source);
    if (!tmpl) return make_error("{}: {}: {}", file.name(), kChatTemplateKey, tmpl.error().message);
    return ChatFormat(std::move(*tmpl), *source, &tokenizer, false);
  }
  auto tmpl = chat::ChatTemplate::parse(kChatMl);
  MX_CHECK(tmpl.ok());
  return ChatFormat(std::move(*tmpl), std::string(kChatMl), &tokenizer, true);
}

Expected<std::string> ChatFormat::render(nlohmann::ordered_json context) const {
  if (!context.is_object()) return make_error("the template context must be a JSON object");
  if (!context.contains("bos_token")) context["bos_token"] = bos_token_;
  if (!context.contains("eos_token")) context["eos_token"] = eos_token_;
  return template_.render(context);
}

Expected<std::string> ChatFormat::render_messages(const nlohmann::ordered_json& messages,
                                                  bool add_generation_prompt,
                                                  const nlohmann::ordered_json& extra) const {
  nlohmann::ordered_json context = extra.is_object() ? extra : nlohmann::ordered_json::object();
  context["messages"] = messages;
  context["add_generation_prompt"] = add_generation_prompt;
  return render(std::move(context));
}

// Where each message's content lands in the prompt: render once with every content
// replaced by a unique marker, locate the markers, and put the contents back. If that
// rebuilds the real render byte for byte (the template copies contents verbatim, which
// almost all do), the contents' ranges are known exactly; otherwise nothing is marked and
// the whole prompt is parsed for special tokens, as llama.cpp does.
Expected<ChatFormat::Prompt> ChatFormat::render_conversation(const nlohmann::ordered_json& messages,
                                                             bool add_generation_prompt,
                                                             const nlohmann::ordered_json& extra) const {
  Prompt prompt;
  MX_TRY_ASSIGN(prompt.text, render_messages(messages, add_generation_prompt, extra));
  if (!messages.is_array()) return prompt;

  auto marker = [](size_t i) { return fmt::format("\xEE\x80\x80{}\xEE\x80\x81", i); };  // U+E000..U+E001
  nlohmann::ordered_json marked = messages;
  std::vector<std::pair<std::string, std::string>> contents;  // marker -> content
  for (auto& m : marked) {
    if (!m.is_object() || !m.contains("content") || !m["content"].is_string()) continue;
    std::string content = m["content"].get<std::string>();
    if (content.empty()) continue;
    contents.emplace_back(marker(contents.size()), std::move(content));
    m["content"] = contents.back().first;
  }
  if (contents.empty()) return prompt;
  auto with_markers = render_messages(marked, add_generation_prompt, extra);
  if (!with_markers) return prompt;

  std::string rebuilt;
  std::vector<TextRange> ranges;
  size_t pos = 0;
  for (const auto& [mark, content] : contents) {
    const size_t at = with_markers->find(mark, pos);
    if (at == std::string::npos) return prompt;  // the template dropped or changed it
    rebuilt.append(*with_markers, pos, at - pos);
    ranges.push_back({rebuilt.size(), rebuilt.size() + content.size()});
    rebuilt += content;
    pos = at + mark.size();
  }
  rebuilt.append(*with_markers, pos);
  if (rebuilt == prompt.text) prompt.literal = std::move(ranges);
  return prompt;
}

std::vector<Token> ChatFormat::tokenize(const Tokenizer& tokenizer, const Prompt& prompt) const {
  const bool template_wrote_bos = !bos_token_.empty() && prompt.text.starts_with(bos_token_);
  return tokenizer.encode(prompt.text, /*add_special=*/!template_wrote_bos, prompt.literal);
}

}  // namespace mx
