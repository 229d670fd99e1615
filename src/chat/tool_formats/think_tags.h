// <think>...</think> at the start of a reply: the block is reasoning, the rest goes on to the
// tool-call parser. Leading whitespace after </think> is dropped (as llama.cpp does), except
// when reasoning is kept inline, where the text comes back exactly as generated.
#pragma once

#include <string>
#include <string_view>

#include "chat/tool_formats/format_parser.h"

namespace mx::chat::formats {

class ThinkTagSplitter {
 public:
  ThinkTagSplitter(bool starts_in_reasoning, bool inline_reasoning)
      : open_implied_(starts_in_reasoning), inline_(inline_reasoning) {}

  void push(std::string_view text, Emitter& out, FormatParser& content);
  void finish(Emitter& out, FormatParser& content);

 private:
  enum class State { kStart, kReasoning, kAfterClose, kContent };
  void drain(bool final, Emitter& out, FormatParser& content);
  void reasoning(std::string_view s, Emitter& out) { inline_ ? out.text(s) : out.reasoning(s); }

  bool open_implied_;
  bool inline_;
  State state_ = State::kStart;
  std::string buf_;
};

}  // namespace mx::chat::formats
