// Recognising a template's tool-call and reasoning syntax from the markers its source renders.
#include "chat/output_parser.h"

namespace mx::chat {
namespace {
bool has(std::string_view s, std::string_view marker) { return s.find(marker) != std::string_view::npos; }
}  // namespace

ToolCallFormat detect_tool_call_format(std::string_view src) {
  if (has(src, "<|channel|>")) return ToolCallFormat::kGptOss;
  if (has(src, "[TOOL_CALLS]")) return ToolCallFormat::kMistral;
  // XML-argument dialects that reuse <tool_call> (Qwen3-Coder's <function=...>, GLM's
  // <arg_key>, MiniMax's <invoke>) and Functionary's <function=...> are not implemented.
  const bool xml_arguments = has(src, "<function=") || has(src, "<arg_key>") || has(src, "<invoke");
  if (has(src, "<tool_call>")) return xml_arguments ? ToolCallFormat::kNone : ToolCallFormat::kHermes;
  if (!xml_arguments && (has(src, "<|python_tag|>") || has(src, "<|start_header_id|>ipython"))) {
    return ToolCallFormat::kLlama3;
  }
  return ToolCallFormat::kNone;
}

ReasoningFormat detect_reasoning_format(std::string_view src) {
  return has(src, "<think>") ? ReasoningFormat::kThinkTags : ReasoningFormat::kNone;
}

}  // namespace mx::chat
