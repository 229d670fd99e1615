// How a model wants a conversation written: its Jinja chat template (GGUF
// tokenizer.chat_template, or one the user supplies) plus the special-token texts templates
// refer to (bos_token, eos_token). Renders a list of messages into the prompt text and
// tokenizes it so the template's own special tokens become single ids. Shared by
// `moxing run --chat`, `moxing template` and the server.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/output_parser.h"
#include "chat/template.h"
#include "core/expected.h"
#include "core/token.h"
#include "tokenizer/tokenizer.h"

namespace mx {

namespace gguf {
class File;
}

class ChatFormat {
 public:
  // The template inside the model file; without one, ChatML (what llama.cpp falls back to),
  // and is_fallback() says so. `bos_token`/`eos_token` come from the vocabulary.
  static Expected<ChatFormat> from_model(const gguf::File& file, const Tokenizer& tokenizer);
  // A template the user gives instead (source text).
  static Expected<ChatFormat> from_source(std::string_view source, const Tokenizer* tokenizer);

  // Template variables: every key of `context` (messages, tools, add_generation_prompt, ...),
  // plus bos_token/eos_token when the context does not set them.
  Expected<std::string> render(nlohmann::ordered_json context) const;
  // `extra`: more template variables (tools, enable_thinking, ...), an object or null.
  Expected<std::string> render_messages(const nlohmann::ordered_json& messages,
                                        bool add_generation_prompt,
                                        const nlohmann::ordered_json& extra = nullptr) const;

  // A conversation rendered for the model to continue. `literal` marks where the messages'
  // contents sit in the text, so that text a user typed ("<|im_end|>") stays text.
  struct Prompt {
    std::string text;
    std::vector<TextRange> literal;
  };
  Expected<Prompt> render_conversation(const nlohmann::ordered_json& messages,
                                       bool add_generation_prompt,
                                       const nlohmann::ordered_json& extra = nullptr) const;

  // The rendered prompt as ids: the template's special tokens parsed (outside the literal
  // ranges); BOS added as the vocabulary asks unless the template already wrote it.
  std::vector<Token> tokenize(const Tokenizer& tokenizer, const Prompt& prompt) const;

  bool is_fallback() const { return fallback_; }
  const std::string& source() const { return source_; }
  // How the template writes tool calls and reasoning (judged once from its source), so a
  // reply can be split back into text, reasoning and calls.
  chat::ToolCallFormat tool_call_format() const { return tool_format_; }
  chat::ReasoningFormat reasoning_format() const { return reasoning_format_; }

 private:
  ChatFormat(chat::ChatTemplate tmpl, std::string source, const Tokenizer* tokenizer, bool fallback);

  chat::ChatTemplate template_;
  std::string source_;
  std::string bos_token_, eos_token_;
  bool fallback_ = false;
  chat::ToolCallFormat tool_format_ = chat::ToolCallFormat::kNone;
  chat::ReasoningFormat reasoning_format_ = chat::ReasoningFormat::kNone;
};

// Key of the chat template in GGUF metadata.
inline constexpr std::string_view kChatTemplateKey = "tokenizer.chat_template";

}  // namespace mx
